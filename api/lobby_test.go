package api_test

import (
	"context"
	"testing"

	"batos/api"
)

// lobbyImage answers Object with a Lobby of two slots; nothing else.
type lobbyImage struct{ api.Image }

func (lobbyImage) Object(_ context.Context, oid uint64) (api.ObjectView, error) {
	forge := api.Value{Kind: api.ValueObject, Object: &api.Ref{OID: 11, Name: "Forge"}}
	name := api.String("Lobby")
	return api.ObjectView{Ref: api.Ref{OID: oid, Name: "Lobby"}, Slots: []api.SlotView{
		{Name: "Forge", Kind: "data", Value: &forge}, {Name: "name", Kind: "data", Value: &name},
	}}, nil
}

func TestLobbySlot(t *testing.T) {
	ctx := context.Background()
	if oid, err := api.LobbySlot(ctx, lobbyImage{}, "Forge"); err != nil || oid != 11 {
		t.Fatalf("Forge: %d, %v", oid, err)
	}
	for _, name := range []string{"name", "entropy"} {
		if _, err := api.LobbySlot(ctx, lobbyImage{}, name); api.KindOf(err) != api.ErrNotFound {
			t.Errorf("%s: %v, want not-found", name, err)
		}
	}
}
