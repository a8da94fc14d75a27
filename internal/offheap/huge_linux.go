package offheap

import "syscall"

// adviseHuge asks for transparent huge pages; where the kernel does not
// offer them the mapping simply keeps small pages.
func adviseHuge(b []byte) { _ = syscall.Madvise(b, syscall.MADV_HUGEPAGE) }
