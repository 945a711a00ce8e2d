package pllm

import "testing"

// TestSharedEndpoint: the prompt is fitted before routing only when the
// persona routing picks cannot change the server it is fitted to.
func TestSharedEndpoint(t *testing.T) {
	for _, c := range []struct {
		name      string
		endpoints []string
		want      string
	}{
		{"none", nil, ""},
		{"one", []string{"http://a"}, "http://a"},
		{"shared", []string{"http://a", "http://a", "http://a"}, "http://a"},
		{"two", []string{"http://a", "http://b", "http://a"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := config{personas: map[string]persona{}}
			for i, ep := range c.endpoints {
				cfg.personas[string(rune('A'+i))] = persona{endpoint: ep}
			}
			got, ok := cfg.sharedEndpoint()
			if got != c.want || ok != (c.want != "") {
				t.Fatalf("sharedEndpoint = %q, %v; want %q", got, ok, c.want)
			}
		})
	}
}
