//go:build linux

package kernels_test

import (
	"runtime/debug"
	"syscall"
	"testing"
	"unsafe"

	"github.com/confed/confed/aggregator/kernels"
)

// guardedBytes maps size bytes of read-write memory between two inaccessible
// pages, so that reading or writing one byte before or after it faults.
func guardedBytes(t *testing.T, size int) []byte {
	t.Helper()
	page := syscall.Getpagesize()
	data := max(1, (size+page-1)/page) * page
	mem, err := syscall.Mmap(-1, 0, data+2*page, syscall.PROT_NONE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[page:page+data], syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	return mem[page : page+data]
}

// guarded returns n elements of T that end right before an inaccessible
// page (atEnd) or start right after one.
func guarded[T any](t *testing.T, n int, atEnd bool) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	b := guardedBytes(t, n*size)
	if n == 0 {
		return []T{}
	}
	if atEnd {
		b = b[len(b)-n*size:]
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

// TestNoAccessOutsideSlices runs every kernel on slices that touch an
// inaccessible page at either end: a vector load or store that reaches one
// byte outside a slice faults.
func TestNoAccessOutsideSlices(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		// A fault becomes a panic that fails this test, not a crash.
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		for _, n := range lengths {
			for _, atEnd := range []bool{true, false} {
				acc64, x32, acc32 := guarded[float64](t, n, atEnd), guarded[float32](t, n, atEnd), guarded[float32](t, n, !atEnd)
				u32a, u32x := guarded[uint32](t, n, atEnd), guarded[uint32](t, n, !atEnd)
				u64a, u64x := guarded[uint64](t, n, atEnd), guarded[uint64](t, n, !atEnd)
				for i := range n {
					x32[i] = float32(i)
				}
				kernels.AddScaledF32ToF64(acc64, x32, 2)
				kernels.AddScaledF32(acc32, x32, 2)
				kernels.AddU32(u32a, u32x)
				kernels.AddU64(u64a, u64x)
				if _, bad := kernels.CheckF32(x32); bad != -1 {
					t.Fatalf("n=%d: CheckF32 found a non-finite value at %d", n, bad)
				}
				if n > 0 && (acc64[n-1] != float64(2*(n-1)) || acc32[n-1] != float32(2*(n-1))) {
					t.Fatalf("n=%d: last element %v, %v, want %d", n, acc64[n-1], acc32[n-1], 2*(n-1))
				}
			}
		}
	})
}
