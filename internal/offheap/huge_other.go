//go:build darwin || freebsd

package offheap

func adviseHuge([]byte) {}

func populate([]byte) {}
