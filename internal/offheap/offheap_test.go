package offheap

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

func TestMakeAndFree(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		mapped bool
	}{
		{"empty", 0, false},
		{"small, from the heap", 1000, false},
		{"just below MinMapped", MinMapped/4 - 1, false},
		{"exactly MinMapped", MinMapped / 4, canMap},
		{"large, huge pages asked", 5 << 20, canMap},
		{"odd length", MinMapped/4 + 12345, canMap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := Mapped()
			v, err := Make[float32](tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(v) != tt.n || cap(v) != tt.n {
				t.Fatalf("len %d cap %d, want %d", len(v), cap(v), tt.n)
			}
			for i, x := range v {
				if x != 0 {
					t.Fatalf("element %d is %v, want 0", i, x)
				}
			}
			for i := range v {
				v[i] = float32(i)
			}
			for i := range v {
				if v[i] != float32(i) {
					t.Fatalf("element %d reads %v after writing %d", i, v[i], i)
				}
			}
			grew := Mapped() - before
			want := int64(0)
			if tt.mapped {
				want = int64(tt.n) * 4
			}
			if grew != want {
				t.Fatalf("Mapped grew by %d, want %d", grew, want)
			}
			if err := Free(v); err != nil {
				t.Fatal(err)
			}
			if got := Mapped(); got != before {
				t.Fatalf("Mapped is %d after Free, want %d", got, before)
			}
		})
	}
}

func TestMakeTypes(t *testing.T) {
	u32, err := Make[uint32](MinMapped)
	if err != nil {
		t.Fatal(err)
	}
	u64, err := Make[uint64](MinMapped)
	if err != nil {
		t.Fatal(err)
	}
	f64, err := Make[float64](MinMapped)
	if err != nil {
		t.Fatal(err)
	}
	u32[len(u32)-1], u64[len(u64)-1], f64[len(f64)-1] = 1<<31, 1<<63, -1.5
	if u32[len(u32)-1] != 1<<31 || u64[len(u64)-1] != 1<<63 || f64[len(f64)-1] != -1.5 {
		t.Fatal("last elements do not read back")
	}
	for _, err := range []error{Free(u32), Free(u64), Free(f64)} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestMakeRefusesBadSizes(t *testing.T) {
	for _, n := range []int{-1, maxBytes} {
		if _, err := Make[uint64](n); err == nil {
			t.Errorf("Make(%d) succeeded, want an error", n)
		}
	}
}

func TestFreeOfAReslice(t *testing.T) {
	if !canMap {
		t.Skip("no mappings on this system")
	}
	v, err := Make[uint32](MinMapped)
	if err != nil {
		t.Fatal(err)
	}
	if err := Free(v[10:]); !errors.Is(err, ErrNotMapped) {
		t.Fatalf("Free of a reslice: %v, want ErrNotMapped", err)
	}
	// A reslice from the start is the mapping itself.
	if err := Free(v[:5]); err != nil {
		t.Fatal(err)
	}
}

func TestFreeLeavesHeapSlices(t *testing.T) {
	heap := make([]float32, MinMapped)
	if err := Free(heap); err != nil {
		t.Fatal(err)
	}
	heap[0] = 1 // still usable: it was never mapped
	if err := Free[float32](nil); err != nil {
		t.Fatal(err)
	}
}

func TestMappedOutsideTheHeap(t *testing.T) {
	if !canMap {
		t.Skip("no mappings on this system")
	}
	const n = 32 << 20 // 256 MiB of uint64
	heapBefore := heapInUse()
	v, err := Make[uint64](n)
	if err != nil {
		t.Fatal(err)
	}
	defer Free(v)
	for i := range v {
		v[i] = uint64(i)
	}
	if grew := heapInUse() - heapBefore; grew > n { // an eighth of the vector
		t.Fatalf("the Go heap grew by %d bytes for a mapped vector of %d", grew, 8*n)
	}
	if p := uintptr(unsafe.Pointer(&v[0])); p%4096 != 0 {
		t.Fatalf("mapping at %#x is not page-aligned", p)
	}
}

func heapInUse() int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

func TestFreedMappingsAreReused(t *testing.T) {
	if !canMap {
		t.Skip("no mappings on this system")
	}
	if err := Trim(); err != nil {
		t.Fatal(err)
	}
	const n = MinMapped / 4
	a, err := Make[float32](n)
	if err != nil {
		t.Fatal(err)
	}
	a[0], a[n-1] = 7, 8
	addr := &a[0]
	if err := Free(a); err != nil {
		t.Fatal(err)
	}
	if got := Cached(); got != 4*n {
		t.Fatalf("Cached = %d after Free, want %d", got, 4*n)
	}
	b, err := Make[uint32](n) // the same size in bytes: reused, zeroed
	if err != nil {
		t.Fatal(err)
	}
	if unsafe.Pointer(&b[0]) != unsafe.Pointer(addr) {
		t.Fatal("the freed mapping of the same size was not reused")
	}
	if b[0] != 0 || b[n-1] != 0 {
		t.Fatalf("a reused mapping holds %d, %d: want it zeroed", b[0], b[n-1])
	}
	if Cached() != 0 {
		t.Fatalf("Cached = %d after reuse, want 0", Cached())
	}
	if err := Free(b); err != nil {
		t.Fatal(err)
	}
	// Another size: a new mapping, and the kept one is unmapped (the sizes
	// in use have changed).
	other, err := Make[float32](n + 1024)
	if err != nil {
		t.Fatal(err)
	}
	if &other[0] == addr {
		t.Fatal("a mapping of another size was reused")
	}
	if Cached() != 0 {
		t.Fatalf("Cached = %d after a Make of another size, want 0", Cached())
	}
	if err := Free(other); err != nil {
		t.Fatal(err)
	}
	if err := Trim(); err != nil || Cached() != 0 {
		t.Fatalf("Trim: %v, %d bytes still kept", err, Cached())
	}
}

func TestAtMostMaxCachedKept(t *testing.T) {
	if !canMap {
		t.Skip("no mappings on this system")
	}
	defer Trim()
	var vs [][]uint64
	for range MaxCached + 3 {
		v, err := Make[uint64](MinMapped / 8)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	for _, v := range vs {
		if err := Free(v); err != nil {
			t.Fatal(err)
		}
	}
	if got := Cached(); got != MaxCached*MinMapped {
		t.Fatalf("Cached = %d, want %d (MaxCached mappings)", got, MaxCached*MinMapped)
	}
}

// TestUseAfterFreeFaults runs itself in a child process that writes into a
// freed vector, kept for reuse: the child must die of a memory fault rather
// than write into memory a later vector gets.
func TestUseAfterFreeFaults(t *testing.T) {
	if !canMap {
		t.Skip("no mappings on this system")
	}
	if os.Getenv("OFFHEAP_USE_AFTER_FREE") == "1" {
		v, _ := Make[float32](MinMapped)
		_ = Free(v)
		v[0] = 1 // must fault
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestUseAfterFreeFaults$")
	cmd.Env = append(os.Environ(), "OFFHEAP_USE_AFTER_FREE=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("writing into a freed vector did not fault")
	}
	if !strings.Contains(string(out), "fault") && !strings.Contains(string(out), "SIGSEGV") {
		t.Fatalf("the child failed, but not with a memory fault: %v\n%s", err, out)
	}
}
