package kernels

import (
	"runtime"
	"sync"
)

// Parallel calls fn(lo, hi) on contiguous blocks that together cover [0, n)
// exactly once, one block per goroutine, and returns when every call has
// returned. It uses at most GOMAXPROCS blocks and as many as it can with
// every block at least minBlock elements long. Block boundaries are
// multiples of 16 (64 bytes of float32, a cache line when the slice starts
// on one), so neighbouring blocks do not write the same cache line; the last
// block also takes the remainder of n. The first block runs on the calling
// goroutine.
//
// If n < 2·minBlock (or GOMAXPROCS is 1) fn(0, n) runs alone on the calling
// goroutine, whatever its length; if n ≤ 0 fn is not called. A minBlock
// below 1 counts as 1.
//
// Choosing minBlock: a split costs a few microseconds (starting goroutines,
// waking idle threads, waiting; about 2.5 µs for two blocks on the project's
// 2-core Zen 4 machine), which is what the kernels need for about 100 KB in
// cache. Splitting pays on vectors in main memory, where one core cannot
// use all the memory bandwidth; there a minBlock of 1<<18 elements (1 MiB
// of float32) keeps the overhead under a few percent.
//
// If a call panics, Parallel waits for the others and then panics with the
// first panic's value in the calling goroutine.
func Parallel(n, minBlock int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	k := blocks(n, minBlock, runtime.GOMAXPROCS(0))
	if k <= 1 {
		fn(0, n)
		return
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		panicked bool
		first    any
	)
	call := func(lo, hi int) {
		defer func() {
			if r := recover(); r != nil {
				mu.Lock()
				if !panicked {
					panicked, first = true, r
				}
				mu.Unlock()
			}
		}()
		fn(lo, hi)
	}
	wg.Add(k - 1)
	for i := 1; i < k; i++ {
		lo, hi := bound(n, k, i), bound(n, k, i+1)
		go func() {
			defer wg.Done()
			call(lo, hi)
		}()
	}
	call(0, bound(n, k, 1))
	wg.Wait()
	if panicked {
		panic(first)
	}
}

// blocks returns how many blocks Parallel splits n elements into: at most
// procs, each holding at least ceil(minBlock/16) whole 16-element units.
func blocks(n, minBlock, procs int) int {
	units := n / 16
	perBlock := (max(minBlock, 1) + 15) / 16
	return max(min(procs, units/perBlock), 1)
}

// bound returns the start of block i of k (bound(n, k, k) == n). The n/16
// whole units are spread as evenly as possible, the first units%k blocks
// taking one more; the last block also takes the n%16 remaining elements.
func bound(n, k, i int) int {
	if i >= k {
		return n
	}
	units := n / 16
	per, extra := units/k, units%k
	return 16 * (i*per + min(i, extra))
}
