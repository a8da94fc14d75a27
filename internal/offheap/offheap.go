package offheap

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// Elem is what an off-heap vector may hold: numbers, never pointers (the
// garbage collector does not see the mapped memory).
type Elem interface {
	~float32 | ~float64 | ~uint32 | ~uint64 | ~int32 | ~int64 | ~uint8
}

// MinMapped is the smallest vector, in bytes, that Make maps; smaller ones
// come from the Go heap, where a mapping's page rounding and system calls
// would cost more than they save.
const MinMapped = 1 << 20

// mappings are the live mappings, by address of their first byte.
var (
	mu       sync.Mutex
	mappings = map[uintptr][]byte{}
	mapped   int64
)

// Make returns a zeroed vector of n elements. Vectors of at least MinMapped
// bytes are mapped outside the Go heap (where the system allows it) and
// must be given back with Free; the others are ordinary Go slices.
func Make[T Elem](n int) ([]T, error) {
	if n < 0 {
		return nil, fmt.Errorf("offheap: make: n = %d, want at least 0", n)
	}
	size := int(unsafe.Sizeof(*new(T)))
	if n > maxBytes/size {
		return nil, fmt.Errorf("offheap: make: %d elements of %d bytes is too large", n, size)
	}
	bytes := n * size
	if bytes < MinMapped || !canMap {
		return make([]T, n), nil
	}
	b := takeCached(bytes)
	if b != nil {
		if err := protect(b, true); err != nil {
			_ = unmap(b)
			return nil, fmt.Errorf("offheap: reusing %d bytes: %w", bytes, err)
		}
		clear(b) // it held an earlier vector: zeroed at memory speed
	} else {
		// No kept mapping of this size: the sizes in use have changed (a
		// float round after a fixed-point one, or the reverse), and the
		// kept mappings would only add to the memory of the new ones.
		if err := Trim(); err != nil {
			return nil, err
		}
		var err error
		if b, err = mapAnon(bytes); err != nil {
			return nil, fmt.Errorf("offheap: mapping %d bytes: %w", bytes, err)
		}
	}
	mu.Lock()
	mappings[uintptr(unsafe.Pointer(&b[0]))] = b
	mapped += int64(len(b))
	mu.Unlock()
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n), nil
}

// MaxCached is how many freed mappings are kept for reuse by a Make of the
// same size. The aggregator's rounds allocate the same sizes every round
// (the sum, the staging buffers, the model); reusing a mapping costs a
// clear at memory speed, where a new one costs the kernel's page zeroing
// (about 2.4 GB/s on the project's machine, 4x slower). The memory of kept
// mappings stays with the process until Trim, or until a Make finds none
// of its size (which trims them all).
const MaxCached = 8

var cache [][]byte // freed mappings kept for reuse; guarded by mu

// takeCached removes and returns a kept mapping of exactly n bytes, or nil.
func takeCached(n int) []byte {
	mu.Lock()
	defer mu.Unlock()
	for i, b := range cache {
		if len(b) == n {
			cache = append(cache[:i], cache[i+1:]...)
			return b
		}
	}
	return nil
}

// keep adds b to the kept mappings and reports whether it did (false when
// MaxCached are kept already, or b cannot be made inaccessible); mu is
// held. A kept mapping is inaccessible until reused, so that a use after
// Free still faults rather than writing into memory that a later vector
// gets.
func keep(b []byte) bool {
	if len(cache) >= MaxCached || protect(b, false) != nil {
		return false
	}
	cache = append(cache, b)
	return true
}

// Trim unmaps every kept mapping, returning their memory to the system.
func Trim() error {
	mu.Lock()
	kept := cache
	cache = nil
	mu.Unlock()
	var errs []error
	for _, b := range kept {
		if err := unmap(b); err != nil {
			errs = append(errs, fmt.Errorf("offheap: unmapping %d bytes: %w", len(b), err))
		}
	}
	return errors.Join(errs...)
}

// Cached returns the bytes of the mappings kept for reuse.
func Cached() int64 {
	mu.Lock()
	defer mu.Unlock()
	var n int64
	for _, b := range cache {
		n += int64(len(b))
	}
	return n
}

// maxBytes bounds one vector (1 TiB), far beyond any model, so that the
// size computation cannot overflow.
const maxBytes = 1 << 40

// ErrNotMapped is returned by Free for a vector that is not a live mapping
// of Make but starts inside one (a reslice), which Free cannot unmap.
var ErrNotMapped = errors.New("offheap: free: not the start of a live mapping")

// Free gives back a vector returned by Make. A mapped vector is kept for
// reuse by a later Make of the same size (up to MaxCached are kept), or
// else unmapped at once: either way s, and every slice of it, must not be
// used afterwards, and it must be freed exactly once (its memory may be
// handed out again by a later Make). A vector that Make took from the Go
// heap (or nil) is left to the garbage collector. A slice that starts
// inside a live mapping, rather than at its start, returns ErrNotMapped.
func Free[T Elem](s []T) error {
	if cap(s) == 0 {
		return nil
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	mu.Lock()
	b, ok := mappings[base]
	kept := false
	if ok {
		delete(mappings, base)
		mapped -= int64(len(b))
		kept = keep(b)
	}
	mu.Unlock()
	if !ok {
		if inMapping(base) {
			return ErrNotMapped
		}
		return nil // from the Go heap
	}
	if kept {
		return nil
	}
	if err := unmap(b); err != nil {
		return fmt.Errorf("offheap: unmapping %d bytes: %w", len(b), err)
	}
	return nil
}

// inMapping reports whether p lies inside a live mapping.
func inMapping(p uintptr) bool {
	mu.Lock()
	defer mu.Unlock()
	for base, b := range mappings {
		if p >= base && p < base+uintptr(len(b)) {
			return true
		}
	}
	return false
}

// Mapped returns the bytes currently mapped by Make and not yet freed.
func Mapped() int64 {
	mu.Lock()
	defer mu.Unlock()
	return mapped
}
