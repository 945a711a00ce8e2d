package interp

import (
	"fmt"
	"runtime"
	"testing"
)

// TestMemoryBounded compiles many distinct method versions and checks that
// the heap after GC stops growing once interpreters are being replaced
// (yaegi keeps every Eval's memory, issue #1678). Measured on the 2-core
// machine with MaxVersions 500: HeapInuse 45.7 MiB after 2,000 versions,
// 43.2 MiB after 10,000 (see the log).
func TestMemoryBounded(t *testing.T) {
	total, early := 10000, 2000
	if testing.Short() {
		total, early = 3000, 1000
	}
	cfg := testConfig()
	cfg.MaxVersions = 500
	c, err := NewCompiler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	var atEarly uint64
	for i := 1; i <= total; i++ {
		src := fmt.Sprintf("func k(self Object, x int) int {\n\ts := 0\n\tfor i := 0; i < x; i++ { s += i * %d }\n\treturn s + %d\n}", i, i)
		if _, err := c.Compile("k", src); err != nil {
			t.Fatal(err)
		}
		if i == early {
			atEarly = heap()
		}
	}
	atEnd := heap()
	t.Logf("HeapInuse after %d versions: %.1f MiB; after %d: %.1f MiB; generation %d", early, float64(atEarly)/(1<<20), total, float64(atEnd)/(1<<20), c.Generation())
	if atEnd > atEarly*3/2+4<<20 {
		t.Errorf("heap grew from %d to %d bytes", atEarly, atEnd)
	}
}
