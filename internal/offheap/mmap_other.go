//go:build !(linux || darwin || freebsd)

package offheap

import "errors"

const canMap = false

func mapAnon(int) ([]byte, error) { return nil, errors.New("no anonymous mappings on this system") }

func unmap([]byte) error { return nil }

func protect([]byte, bool) error { return errors.New("no anonymous mappings on this system") }
