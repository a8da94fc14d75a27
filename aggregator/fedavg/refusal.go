package fedavg

import "errors"

// Reason is a machine-readable code for why an update was refused.
type Reason string

// Refusal reasons.
const (
	// ReasonWrongShape: the stream is not a safetensors encoding of the
	// round's spec (other names or shapes, non-F32 dtype, non-canonical
	// layout, or a malformed header).
	ReasonWrongShape Reason = "wrong_shape"
	// ReasonNonFinite: a value is NaN or ±Inf.
	ReasonNonFinite Reason = "non_finite"
	// ReasonTooLarge: the declared size exceeds Limits.MaxBytes, or the
	// stream's header length exceeds model.DefaultMaxHeaderBytes (or the
	// spec's canonical header length, if larger).
	ReasonTooLarge Reason = "too_large"
	// ReasonTruncated: the stream ended before the end its header declares.
	ReasonTruncated Reason = "truncated"
	// ReasonNormExceeded: the update's L2 norm exceeds Limits.MaxNorm.
	ReasonNormExceeded Reason = "norm_exceeded"
	// ReasonHashMismatch: the bytes' SHA-256 is not the declared one (or the
	// declared hash is not 32 bytes).
	ReasonHashMismatch Reason = "hash_mismatch"
	// ReasonSizeMismatch: the stream's length differs from the declared size,
	// the declared size is not the spec's canonical size, or bytes follow
	// the end the header declares.
	ReasonSizeMismatch Reason = "size_mismatch"
	// ReasonBadWeight: the update's weight is not positive and finite.
	ReasonBadWeight Reason = "bad_weight"
	// ReasonBadStream: the chunks of the stream are out of order, repeated,
	// empty, or exceed the declared size.
	ReasonBadStream Reason = "bad_stream"
)

// RefusalError reports an update refused for a participant-caused reason.
// Detail names where and what (tensor, element, sizes) but never model values.
type RefusalError struct {
	Reason Reason
	Detail string
}

// Error returns "<reason>: <detail>".
func (e *RefusalError) Error() string { return string(e.Reason) + ": " + e.Detail }

// ReasonOf returns the Reason of the *RefusalError in err's chain, or "" if
// err is not a refusal (nil, or an internal error).
func ReasonOf(err error) Reason {
	var re *RefusalError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}

func refuse(r Reason, detail string) *RefusalError {
	return &RefusalError{Reason: r, Detail: detail}
}
