// Package offheap allocates large vectors of plain numbers outside the Go
// heap, in anonymous memory mappings, and frees them explicitly.
//
// The aggregator's staging buffers are as large as a model, are reused for
// a whole round and hold no pointers. On the Go heap they would set the
// garbage collector's target: with GOGC at 100, the garbage of streamed
// chunks could grow to the size of everything live, several models, before
// a collection; and memory freed at the end of a round would go back to
// the operating system only when the scavenger got to it. Mapped outside
// the heap they cost the collector nothing, and the heap target stays that
// of the small objects. Free keeps a few freed mappings for the next
// vectors of the same size (a round allocates the same sizes as the last),
// and Trim returns them to the operating system. Large mappings ask for transparent huge pages (MADV_HUGEPAGE),
// which saves TLB misses in the kernels that sweep them where the kernel
// grants them (the project's VM grants none: AnonHugePages stays 0), and
// every mapping is populated in one call (MADV_POPULATE_WRITE), several
// times cheaper than faulting its pages in one by one as it is first
// written.
//
// The cost is manual lifetime: a slice must not be used after Free. Use
// after Free is not silent: the memory is unmapped, or kept inaccessible
// (PROT_NONE) until reused, and the process faults.
// Vectors smaller than MinMapped, and every vector on systems without
// mmap, come from the Go heap; Free leaves those to the collector.
package offheap
