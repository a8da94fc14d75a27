// Package offheap allocates large vectors of plain numbers outside the Go
// heap, in anonymous memory mappings, and frees them explicitly.
//
// The aggregator's staging buffers are as large as a model, are reused for
// a whole round and hold no pointers. On the Go heap they would set the
// garbage collector's target: with GOGC at 100, the garbage of streamed
// chunks could grow to the size of everything live, several models, before
// a collection; and memory freed at the end of a round would go back to
// the operating system only when the scavenger got to it. Mapped outside
// the heap they cost the collector nothing, the heap target stays that of
// the small objects, and Free returns their memory to the operating system
// at once. Large mappings ask for transparent huge pages (MADV_HUGEPAGE),
// which saves TLB misses in the kernels that sweep them.
//
// The cost is manual lifetime: a slice must not be used after Free. Use
// after Free is not silent: the memory is unmapped and the process faults.
// Vectors smaller than MinMapped, and every vector on systems without
// mmap, come from the Go heap; Free leaves those to the collector.
package offheap
