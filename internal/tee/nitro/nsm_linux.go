//go:build linux

package nitro

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// nsmIoctl is _IOWR(0x0A, 0, struct nsm_message) on 64-bit Linux: the
// request and response buffers are passed as two iovecs.
const nsmIoctl = 0xC0200A00

// nsmResponseMax is the NSM driver's largest response.
const nsmResponseMax = 0x3000

type iovec struct {
	base uintptr
	len  uint64
}

type nsmMessage struct {
	request, response iovec
}

// nsmCall sends one CBOR request to the NSM device and returns its answer.
func nsmCall(path string, req []byte) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	resp := make([]byte, nsmResponseMax)
	msg := nsmMessage{
		request:  iovec{uintptr(unsafe.Pointer(&req[0])), uint64(len(req))},
		response: iovec{uintptr(unsafe.Pointer(&resp[0])), uint64(len(resp))},
	}
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), nsmIoctl, uintptr(unsafe.Pointer(&msg)))
	if errno != 0 {
		return nil, fmt.Errorf("NSM ioctl: %w", errno)
	}
	if msg.response.len > uint64(len(resp)) {
		return nil, fmt.Errorf("NSM answered %d bytes, more than the %d-byte buffer", msg.response.len, len(resp))
	}
	return resp[:msg.response.len], nil
}
