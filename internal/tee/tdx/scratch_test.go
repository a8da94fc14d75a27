package tdx

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/google/go-tdx-guest/abi"
	"github.com/google/go-tdx-guest/testing/testdata"
)

func try(name string, b []byte) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Println(name, "PANIC", r)
		}
	}()
	_, err := abi.QuoteToProto(b)
	fmt.Println(name, "err", err)
}

func TestScratch(t *testing.T) {
	raw := testdata.RawQuote
	for _, n := range []int{0, 10, 0x3FC, 0x3FC + 10, 1000, 2000, 4000, len(raw) - 40} {
		try(fmt.Sprint("trunc", n), append([]byte(nil), raw[:n]...))
	}
	b := append([]byte(nil), raw...)
	binary.LittleEndian.PutUint32(b[0x278:], 0)
	try("sds0", b)
	b = append([]byte(nil), raw...)
	binary.LittleEndian.PutUint32(b[0x278:], 0xFFFFFFF0)
	try("sdsbig", b)
}
