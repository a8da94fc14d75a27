// Package sealwire moves the sealed chunks of an update stream
// (confed.v1.SubmitUpdateRequest carrying a SealedChunk) through gRPC
// without copying their ciphertext more than the transport must.
//
// gRPC's proto codec copies a 1 MiB chunk twice on each side: the sender
// marshals the ciphertext into a pooled buffer, and the receiver first
// gathers the message's 16 KiB HTTP/2 frames into one buffer, then copies
// the ciphertext out of it into a fresh 1 MiB allocation. Codec, a
// drop-in replacement for the proto codec (same name, same wire bytes),
// treats two message types specially and hands every other message to
// gRPC's proto codec:
//
//   - *Outgoing: the ciphertext goes to the transport as it is, and its
//     buffer goes back to a Pool once the transport has written it (gRPC's
//     reference counting of mem.Buffer), so a sender seals every chunk into
//     one of a few reused buffers;
//   - *Incoming: the frames are gathered once into the Incoming's own
//     reused buffer, and the ciphertext is a slice of it, which the
//     receiver can then open in place (seal.Opener.OpenTo).
//
// Both types embed a *confedv1.SubmitUpdateRequest, so they are proto
// messages: on a connection or server without Codec, gRPC's proto codec
// marshals and unmarshals them the usual way (with its copies). Only the
// canonical encoding of a sealed chunk, which Outgoing and gRPC's proto
// codec both produce, is decoded without a copy; anything else (another
// message, fields repeated or out of order, unknown fields) is decoded by
// proto.Unmarshal, so the result is always what proto.Unmarshal gives.
package sealwire

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// Field numbers of the canonical sealed-chunk encoding.
const (
	fieldSealedChunk = 3 // SubmitUpdateRequest.sealed_chunk
	fieldSeq         = 1 // SealedChunk.seq
	fieldCiphertext  = 2 // SealedChunk.ciphertext
	fieldLast        = 3 // SealedChunk.last
)

// Codec is the gRPC codec: pass it with grpc.ForceCodecV2 (client) or
// grpc.ForceServerCodecV2 (server). Its name is "proto": peers see
// application/grpc+proto and the same bytes as with gRPC's proto codec.
type Codec struct{}

var _ encoding.CodecV2 = Codec{}

// Name implements encoding.CodecV2.
func (Codec) Name() string { return grpcproto.Name }

// fallback is gRPC's proto codec.
func fallback() encoding.CodecV2 { return encoding.GetCodecV2(grpcproto.Name) }

// Marshal implements encoding.CodecV2.
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	if o, ok := v.(*Outgoing); ok && o.intact() {
		return o.marshal(), nil
	}
	return fallback().Marshal(v)
}

// Unmarshal implements encoding.CodecV2.
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	if in, ok := v.(*Incoming); ok {
		return in.unmarshal(data)
	}
	return fallback().Unmarshal(data, v)
}

// Outgoing is one sealed chunk to send with a SubmitUpdate stream's
// SendMsg. Do not touch it, or the buffer given to NewOutgoing, after
// SendMsg: the transport may still be writing it.
type Outgoing struct {
	*confedv1.SubmitUpdateRequest
	buf  *[]byte // *buf is the ciphertext
	pool mem.BufferPool
}

// NewOutgoing wraps the sealed chunk *buf (its whole length is the
// ciphertext). With Codec, *buf goes to the transport without a copy and
// buf is handed to pool.Put once the transport is done with it (or never,
// for a buffer below gRPC's pooling threshold, or with another codec); pool
// may be nil.
func NewOutgoing(seq uint64, buf *[]byte, last bool, pool mem.BufferPool) *Outgoing {
	return &Outgoing{
		SubmitUpdateRequest: &confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_SealedChunk{
			SealedChunk: &confedv1.SealedChunk{Seq: seq, Ciphertext: *buf, Last: last}}},
		buf: buf, pool: pool,
	}
}

// intact reports whether the message is still the sealed chunk that
// NewOutgoing made, its ciphertext *o.buf; otherwise it is marshalled as
// any other message.
func (o *Outgoing) intact() bool {
	if o.buf == nil || o.SubmitUpdateRequest == nil {
		return false
	}
	c := o.GetSealedChunk()
	ct := *o.buf
	if c == nil || len(c.GetCiphertext()) != len(ct) || len(c.ProtoReflect().GetUnknown()) > 0 {
		return false
	}
	return len(ct) == 0 || &c.GetCiphertext()[0] == &ct[0]
}

// marshal is the canonical encoding of the chunk: the fields in number
// order, zero values left out, as proto.Marshal writes it; the ciphertext
// is not copied.
func (o *Outgoing) marshal() mem.BufferSlice {
	c := o.GetSealedChunk()
	ct := *o.buf
	inner := 0
	if c.GetSeq() != 0 {
		inner += 1 + protowire.SizeVarint(c.GetSeq())
	}
	if len(ct) > 0 {
		inner += 1 + protowire.SizeBytes(len(ct))
	}
	if c.GetLast() {
		inner += 2
	}
	head := make([]byte, 0, 1+protowire.SizeVarint(uint64(inner))+1+protowire.SizeVarint(c.GetSeq())+1+protowire.SizeVarint(uint64(len(ct))))
	head = protowire.AppendTag(head, fieldSealedChunk, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(inner))
	if c.GetSeq() != 0 {
		head = protowire.AppendTag(head, fieldSeq, protowire.VarintType)
		head = protowire.AppendVarint(head, c.GetSeq())
	}
	if len(ct) > 0 {
		head = protowire.AppendTag(head, fieldCiphertext, protowire.BytesType)
		head = protowire.AppendVarint(head, uint64(len(ct)))
	}
	out := mem.BufferSlice{mem.SliceBuffer(head)}
	if len(ct) > 0 {
		out = append(out, mem.NewBuffer(o.buf, o.pool))
	}
	if c.GetLast() {
		out = append(out, mem.SliceBuffer{fieldLast<<3 | byte(protowire.VarintType), 1})
	}
	return out
}

// Incoming receives the messages of a SubmitUpdate stream with RecvMsg.
// After each RecvMsg it holds the message received; with Codec, a sealed
// chunk's ciphertext is a slice of the Incoming's own buffer, valid until
// its next RecvMsg. Use one Incoming per message in flight.
type Incoming struct {
	*confedv1.SubmitUpdateRequest
	buf []byte
}

// NewIncoming returns an Incoming ready for RecvMsg.
func NewIncoming() *Incoming {
	return &Incoming{SubmitUpdateRequest: &confedv1.SubmitUpdateRequest{}}
}

// Wipe zeroes the Incoming's buffer (which held the last message, and
// after an in-place open its plaintext) and drops the message, before the
// Incoming serves another stream.
func (in *Incoming) Wipe() {
	clear(in.buf[:cap(in.buf)])
	in.SubmitUpdateRequest = &confedv1.SubmitUpdateRequest{}
}

// unmarshal gathers data into in.buf and decodes it.
func (in *Incoming) unmarshal(data mem.BufferSlice) error {
	n := data.Len()
	if cap(in.buf) < n {
		in.buf = make([]byte, n)
	}
	in.buf = in.buf[:n]
	data.CopyTo(in.buf)
	msg, err := Decode(in.buf)
	if err != nil {
		return err
	}
	in.SubmitUpdateRequest = msg
	return nil
}

// Decode decodes a SubmitUpdateRequest as proto.Unmarshal does, except
// that the ciphertext of a canonically encoded sealed chunk is a slice of
// b rather than a copy.
func Decode(b []byte) (*confedv1.SubmitUpdateRequest, error) {
	if seq, ct, last, ok := parseCanonical(b); ok {
		return &confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_SealedChunk{
			SealedChunk: &confedv1.SealedChunk{Seq: seq, Ciphertext: ct, Last: last}}}, nil
	}
	msg := &confedv1.SubmitUpdateRequest{}
	if err := proto.Unmarshal(b, msg); err != nil {
		return nil, fmt.Errorf("sealwire: %w", err)
	}
	return msg, nil
}

// parseCanonical reads exactly: the sealed_chunk field (3) spanning all of
// b, holding seq (1, varint), ciphertext (2, bytes) and last (3, varint
// 1), each optional, at most once, in that order, and nothing else. ok is
// false for anything else (which proto.Unmarshal then decodes).
func parseCanonical(b []byte) (seq uint64, ct []byte, last, ok bool) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || num != fieldSealedChunk || typ != protowire.BytesType {
		return 0, nil, false, false
	}
	inner, m := protowire.ConsumeBytes(b[n:])
	if m < 0 || n+m != len(b) {
		return 0, nil, false, false
	}
	field := protowire.Number(0)
	for len(inner) > 0 {
		num, typ, n := protowire.ConsumeTag(inner)
		if n < 0 || num <= field {
			return 0, nil, false, false
		}
		field, inner = num, inner[n:]
		switch {
		case num == fieldSeq && typ == protowire.VarintType:
			seq, n = protowire.ConsumeVarint(inner)
		case num == fieldCiphertext && typ == protowire.BytesType:
			ct, n = protowire.ConsumeBytes(inner)
			ct = ct[:len(ct):len(ct)] // appending to it must not overwrite the next field
		case num == fieldLast && typ == protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(inner)
			if v != 1 {
				return 0, nil, false, false
			}
			last = true
		default:
			return 0, nil, false, false
		}
		if n < 0 {
			return 0, nil, false, false
		}
		inner = inner[n:]
	}
	return seq, ct, last, true
}
