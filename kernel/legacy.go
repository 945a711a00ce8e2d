package kernel

import (
	"sync"

	"batos/image"
)

// Images written before methods recorded their author hold method slots
// with an empty Author, and a method the pLLM installed then would run
// without the write policy. Its author is still in the history: the
// principal of the oldest transaction since which the holder has kept the
// same source in that slot.

type legacyKey struct {
	holder   image.OID
	selector string
	source   string
}

// legacyAuthors caches what legacyAuthor found, per holder, selector and
// source: the history of a committed source never changes.
type legacyAuthors struct {
	mu sync.Mutex
	m  map[legacyKey]string
}

// legacyAuthor returns who wrote the method selector with source src on
// holder, read from the history; "" when the history no longer says
// (packed away) or cannot be read.
func (k *Kernel) legacyAuthor(holder image.OID, selector, src string) string {
	key := legacyKey{holder, selector, src}
	k.legacy.mu.Lock()
	author, ok := k.legacy.m[key]
	k.legacy.mu.Unlock()
	if ok {
		return author
	}
	revs, err := k.store.Revisions(holder)
	if err != nil {
		return ""
	}
	var since image.TxID
	for _, r := range revs { // newest first
		if r.Record == nil {
			break
		}
		sl, _, ok := r.Record.Slot(selector)
		m, isMethod := sl.Value.(image.Method)
		if !ok || !isMethod || m.Source != src {
			break
		}
		since = r.Tx
	}
	if since != 0 {
		if info, err := k.store.TxInfo(since); err == nil {
			author = info.Principal
		}
	}
	k.legacy.mu.Lock()
	if k.legacy.m == nil {
		k.legacy.m = map[legacyKey]string{}
	}
	k.legacy.m[key] = author
	k.legacy.mu.Unlock()
	return author
}
