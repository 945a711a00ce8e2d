package autotelic

import (
	"testing"

	"batos/api"
)

// TestLedgerSkipsWhatIsNotAnEntry: the ledger is data a user may edit;
// items that are not a step's entry are not shown as steps.
func TestLedgerSkipsWhatIsNotAnEntry(t *testing.T) {
	step := api.Map(api.Entry{Key: "kind", Value: api.String("behaviour")}, api.Entry{Key: "outcome", Value: api.String("installed")})
	ledger := api.List(api.String("junk"), api.Int(3), api.Map(api.Entry{Key: "time", Value: api.Int(5)}), step)
	st := readState(api.ObjectView{Slots: []api.SlotView{{Name: "ledger", Value: &ledger}}})
	if len(st.ledger) != 1 || st.ledger[0]["kind"].String != "behaviour" {
		t.Fatalf("ledger read as %v, want the one step", st.ledger)
	}
}
