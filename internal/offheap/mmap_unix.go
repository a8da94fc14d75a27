//go:build linux || darwin || freebsd

package offheap

import "syscall"

const canMap = true

// hugePageMin is the smallest mapping for which transparent huge pages are
// requested: a few 2 MiB pages at least.
const hugePageMin = 8 << 20

func mapAnon(n int) ([]byte, error) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	if n >= hugePageMin {
		adviseHuge(b)
	}
	populate(b)
	return b, nil
}

func unmap(b []byte) error { return syscall.Munmap(b) }

// protect makes b readable and writable, or inaccessible.
func protect(b []byte, rw bool) error {
	prot := syscall.PROT_NONE
	if rw {
		prot = syscall.PROT_READ | syscall.PROT_WRITE
	}
	return syscall.Mprotect(b, prot)
}
