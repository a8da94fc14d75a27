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
	b, err := mapAnon(bytes)
	if err != nil {
		return nil, fmt.Errorf("offheap: mapping %d bytes: %w", bytes, err)
	}
	mu.Lock()
	mappings[uintptr(unsafe.Pointer(&b[0]))] = b
	mapped += int64(len(b))
	mu.Unlock()
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n), nil
}

// maxBytes bounds one vector (1 TiB), far beyond any model, so that the
// size computation cannot overflow.
const maxBytes = 1 << 40

// ErrNotMapped is returned by Free for a vector that is not a live mapping
// of Make but starts inside one (a reslice), which Free cannot unmap.
var ErrNotMapped = errors.New("offheap: free: not the start of a live mapping")

// Free gives back a vector returned by Make. For a mapped vector the
// memory is unmapped at once: s, and every slice of it, must not be used
// afterwards, and it must be freed exactly once (its address may be mapped
// again by a later Make). A vector that Make took from the Go heap (or nil)
// is left to the garbage collector. A slice that starts inside a live
// mapping, rather than at its start, returns ErrNotMapped.
func Free[T Elem](s []T) error {
	if cap(s) == 0 {
		return nil
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	mu.Lock()
	b, ok := mappings[base]
	if ok {
		delete(mappings, base)
		mapped -= int64(len(b))
	}
	mu.Unlock()
	if !ok {
		if inMapping(base) {
			return ErrNotMapped
		}
		return nil // from the Go heap
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
