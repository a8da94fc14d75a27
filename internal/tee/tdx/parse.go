package tdx

import (
	"fmt"

	"github.com/google/go-tdx-guest/abi"
	pb "github.com/google/go-tdx-guest/proto/tdx"
)

// MaxQuoteSize bounds the raw quote accepted for parsing. A TDX v4 quote
// with its PCK certificate chain is about 5 KiB; the Linux TDX guest ABI
// caps the quote buffer at 16 KiB.
const MaxQuoteSize = 64 << 10

// parseQuote turns raw bytes into a v4 quote. It never panics: the
// library's parser indexes slices by lengths read from the input without
// checking them all (a signed-data size of 0 makes it slice out of range),
// so a panic is recovered and reported as a malformed quote.
func parseQuote(raw []byte) (q *pb.QuoteV4, err error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("tdx: malformed quote: empty")
	}
	if len(raw) > MaxQuoteSize {
		return nil, fmt.Errorf("tdx: malformed quote: %d bytes, more than the %d allowed", len(raw), MaxQuoteSize)
	}
	defer func() {
		if r := recover(); r != nil {
			q, err = nil, fmt.Errorf("tdx: malformed quote: parser failed: %v", r)
		}
	}()
	anyQuote, err := abi.QuoteToProto(raw)
	if err != nil {
		return nil, fmt.Errorf("tdx: malformed quote: %v", err)
	}
	q, ok := anyQuote.(*pb.QuoteV4)
	if !ok {
		return nil, fmt.Errorf("tdx: malformed quote: unsupported quote type %T", anyQuote)
	}
	if err := abi.CheckQuoteV4(q); err != nil {
		return nil, fmt.Errorf("tdx: malformed quote: %v", err)
	}
	return q, nil
}
