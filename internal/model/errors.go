package model

import "errors"

// Sentinel errors of the safetensors readers and StreamDecoder; test with
// errors.Is. Messages wrap them with the details (tensor, offsets, sizes).
var (
	// ErrMalformed: the bytes are not a valid safetensors encoding (bad
	// JSON, bad shape, overlapping or out-of-range offsets, duplicate names…).
	ErrMalformed = errors.New("malformed")
	// ErrUnsupportedDtype: a tensor is not F32.
	ErrUnsupportedDtype = errors.New("not supported: confed models are F32")
	// ErrTooLarge: the header or the whole encoding exceeds Limits.
	ErrTooLarge = errors.New("too large")
	// ErrTruncated: the input ended before the size its header declares.
	ErrTruncated = errors.New("truncated")
	// ErrTooLong: bytes follow the end its header declares.
	ErrTooLong = errors.New("stream longer than its header declares")
	// ErrSpecMismatch: a well-formed header does not describe the expected
	// spec in canonical layout (StreamDecoder only).
	ErrSpecMismatch = errors.New("header does not match spec")
)

// DefaultMaxHeaderBytes is the header size limit used when
// Limits.MaxHeaderBytes is zero.
const DefaultMaxHeaderBytes = 1 << 20

// Limits bounds what the safetensors readers accept from untrusted input.
type Limits struct {
	// MaxHeaderBytes bounds the JSON header; ≤ 0 means DefaultMaxHeaderBytes.
	MaxHeaderBytes int64
	// MaxTotalBytes bounds the whole encoding (prefix, header and data);
	// ≤ 0 means no bound beyond what the header declares. Readers allocate
	// as data arrives, never up front from a declared size.
	MaxTotalBytes int64
}

func (l Limits) maxHeader() int64 {
	if l.MaxHeaderBytes <= 0 {
		return DefaultMaxHeaderBytes
	}
	return l.MaxHeaderBytes
}
