//go:build !linux

package nitro

import "errors"

func nsmCall(string, []byte) ([]byte, error) {
	return nil, errors.New("the NSM device is only reachable on Linux")
}
