package entropy

import "testing"

func TestSparkline(t *testing.T) {
	tests := []struct {
		values []float64
		width  int
		want   string
	}{
		{nil, 10, ""},
		{[]float64{0, 0.5, 1}, 10, "▁▅█"},
		{[]float64{-1, 2}, 10, "▁█"},
		{[]float64{0, 0.2, 0.4, 0.6}, 2, "▄▅"},
	}
	for _, tt := range tests {
		if got := Sparkline(tt.values, tt.width); got != tt.want {
			t.Errorf("Sparkline(%v, %d) = %q, want %q", tt.values, tt.width, got, tt.want)
		}
	}
}
