package llamatest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"batos/llama/llamatest"
)

// TestBusy: the server counts the time it spends on each request, which a
// client's round trip includes.
func TestBusy(t *testing.T) {
	srv := llamatest.New(t)
	if srv.Busy() != 0 {
		t.Fatalf("Busy = %v before any request", srv.Busy())
	}
	var trips time.Duration
	for range 3 {
		start := time.Now()
		resp, err := http.Post(srv.URL+"/tokenize", "application/json", strings.NewReader(`{"content":"one two three"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		trips += time.Since(start)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if b := srv.Busy(); b <= 0 || b > trips {
		t.Fatalf("Busy = %v after requests whose round trips took %v", b, trips)
	}
}
