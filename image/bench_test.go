package image

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Each benchmark measures the raw Pebble cost of the same work in the same
// run and reports the image's figure as a ratio to it: `ratio` is our rate
// divided by the raw rate (1.0 = no overhead).

// rawSyncedBatches times n synced batches, each of perBatch keys with values
// of size valueSize, on a fresh Pebble database; it returns ns per batch.
func rawSyncedBatches(b *testing.B, n, perBatch, valueSize int) float64 {
	b.Helper()
	db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, valueSize)
	start := time.Now()
	for i := range n {
		batch := db.NewBatch()
		for j := range perBatch {
			_ = batch.Set(objKey(OID(i*perBatch+j+1)), val, nil)
		}
		if err := batch.Commit(pebble.Sync); err != nil {
			b.Fatal(err)
		}
		_ = batch.Close()
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// oneObjectCommitBytes is roughly what committing one small object writes:
// the o/ and r/ copies, the t/ record and two meta values.
const oneObjectCommitBytes = 2*40 + 40 + 16

func BenchmarkRawSyncedBatch(b *testing.B) {
	db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, oneObjectCommitBytes)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.Set(objKey(OID(i+1)), val, pebble.Sync); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCommitOneObject(b *testing.B) {
	raw := rawSyncedBatches(b, 300, 1, oneObjectCommitBytes)
	s := openTest(b, nil)
	mustCommit(b, s, obj(RootOID, "n", 0))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx := s.Begin("bench")
		if err := tx.Put(obj(RootOID, "n", i)); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ours := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(raw, "raw-ns/op")
	b.ReportMetric(raw/ours, "ratio")
}

// commitConcurrently runs n commits of distinct objects from the given
// number of goroutines and returns commits per second.
func commitConcurrently(b *testing.B, s *Store, workers, n int, base OID) float64 {
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				tx := s.Begin("bench")
				_ = tx.Put(obj(base+OID(i), "n", i))
				if _, err := tx.Commit(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// rawConcurrentBatches returns the rate of n synced one-key batches from
// the given number of goroutines on a fresh Pebble database: the group
// commit that Pebble itself achieves on this machine.
func rawConcurrentBatches(b *testing.B, workers, n int) float64 {
	db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, oneObjectCommitBytes)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := db.Set(objKey(OID(i+1)), val, pebble.Sync); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkConcurrentCommitters reports the speedup of 16 committers over
// one (goal ≥ 5) beside raw Pebble's own speedup and our 16-committer rate
// as a ratio to raw Pebble's, all measured in the same run.
func BenchmarkConcurrentCommitters(b *testing.B) {
	raw1 := rawConcurrentBatches(b, 1, 300)
	raw16 := rawConcurrentBatches(b, 16, 3000)
	s := openTest(b, nil)
	one := commitConcurrently(b, s, 1, 300, 1_000_000)
	b.ResetTimer()
	sixteen := commitConcurrently(b, s, 16, max(b.N, 16), 2)
	b.ReportMetric(one, "commits/s-1")
	b.ReportMetric(sixteen, "commits/s-16")
	b.ReportMetric(sixteen/one, "speedup")
	b.ReportMetric(raw16/raw1, "raw-speedup")
	b.ReportMetric(sixteen/raw16, "ratio-16")
}

func BenchmarkCreate100kObjects(b *testing.B) {
	const objects, perTx = 100_000, 1_000
	raw := rawSyncedBatches(b, objects/perTx, 2*perTx, 48) * (objects / perTx)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := openTest(b, nil)
		b.StartTimer()
		create100k(b, s)
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	ours := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(objects/(ours/1e9), "objects/s")
	b.ReportMetric(raw, "raw-ns/op")
	b.ReportMetric(raw/ours, "ratio")
}

func create100k(b *testing.B, s *Store) {
	tx := s.Begin("bench")
	_ = tx.Put(obj(RootOID, "name", "lobby"))
	for i := range 100_000 {
		if i > 0 && i%1000 == 0 {
			if _, err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			tx = s.Begin("bench")
		}
		oid := tx.NewOID()
		if err := tx.Put(obj(oid, "i", i, "name", fmt.Sprint("obj", i), "parent*", nil)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkOpen100k(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir, &Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	create100k(b, s)
	s.Close()

	// Raw: open the same Pebble directory and read the root key.
	const rawRuns = 20
	start := time.Now()
	for range rawRuns {
		db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
		if err != nil {
			b.Fatal(err)
		}
		_, closer, err := db.Get(objKey(RootOID))
		if err != nil {
			b.Fatal(err)
		}
		closer.Close()
		db.Close()
	}
	raw := float64(time.Since(start).Nanoseconds()) / rawRuns

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		if v := slotValue(b, s, RootOID, "name"); v != "lobby" {
			b.Fatalf("root name %v", v)
		}
		s.Close()
	}
	b.StopTimer()
	ours := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(raw, "raw-ns/op")
	b.ReportMetric(raw/ours, "ratio")
}
