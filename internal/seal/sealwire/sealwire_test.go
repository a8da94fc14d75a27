package sealwire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// TestMarshalIsCanonical: Outgoing's wire bytes are proto.Marshal's, and
// Decode gives the chunk back with the ciphertext aliasing its input.
func TestMarshalIsCanonical(t *testing.T) {
	for _, seq := range []uint64{0, 1, 127, 128, 300, math.MaxUint64} {
		for _, n := range []int{0, 1, 16, 1000, 1 << 20} {
			for _, last := range []bool{false, true} {
				ct := bytes.Repeat([]byte{byte(seq), 0x5a}, n/2+1)[:n]
				o := NewOutgoing(seq, &ct, last, nil)
				bs, err := Codec{}.Marshal(o)
				if err != nil {
					t.Fatal(err)
				}
				got := bs.Materialize()
				want, err := proto.Marshal(o.SubmitUpdateRequest)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("seq %d, %d bytes, last %t: marshal differs from proto.Marshal", seq, n, last)
				}
				msg, err := Decode(got)
				if err != nil {
					t.Fatal(err)
				}
				if !proto.Equal(msg, o.SubmitUpdateRequest) {
					t.Fatalf("seq %d, %d bytes, last %t: decoded %v", seq, n, last, msg)
				}
				if c := msg.GetSealedChunk().GetCiphertext(); n > 0 && &c[0] != &got[len(got)-n-boolLen(last)] {
					t.Fatalf("seq %d, %d bytes: the ciphertext was copied, not aliased", seq, n)
				}
			}
		}
	}
}

// TestMarshalChangedOutgoing: an Outgoing whose message no longer holds
// its buffer is marshalled as the message it holds.
func TestMarshalChangedOutgoing(t *testing.T) {
	ct := []byte("sixteen bytes!!!")
	o := NewOutgoing(2, &ct, false, nil)
	o.GetSealedChunk().Ciphertext = []byte("another ciphertext")
	bs, err := Codec{}.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := proto.Marshal(o.SubmitUpdateRequest)
	if !bytes.Equal(bs.Materialize(), want) {
		t.Fatal("a changed Outgoing was not marshalled as its message")
	}
}

func boolLen(last bool) int {
	if last {
		return 2
	}
	return 0
}

// TestDecodeFallsBack: encodings other than the canonical sealed chunk
// decode as proto.Unmarshal decodes them, and garbage is refused.
func TestDecodeFallsBack(t *testing.T) {
	hdr, _ := proto.Marshal(&confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_Header{Header: &confedv1.UpdateHeader{Round: 3, Size: 9}}})
	plain, _ := proto.Marshal(&confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_Chunk{Chunk: &confedv1.Chunk{Seq: 1, Data: []byte("x")}}})
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"header", hdr, false},
		{"plaintext chunk", plain, false},
		{"fields out of order", []byte{0x1a, 0x07, 0x12, 0x01, 0xaa, 0x08, 0x05, 0x18, 0x01}, false},
		{"seq twice", []byte{0x1a, 0x04, 0x08, 0x01, 0x08, 0x02}, false},
		{"last = 2", []byte{0x1a, 0x02, 0x18, 0x02}, false},
		{"unknown field", []byte{0x1a, 0x02, 0x20, 0x01}, false},
		{"sealed chunk twice (merged)", []byte{0x1a, 0x02, 0x08, 0x01, 0x1a, 0x02, 0x18, 0x01}, false},
		{"empty", nil, false},
		{"truncated", []byte{0x1a, 0x05, 0x08}, true},
		{"ciphertext past the end", []byte{0x1a, 0x03, 0x12, 0x09, 0x00}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.in)
			want := &confedv1.SubmitUpdateRequest{}
			wantErr := proto.Unmarshal(tc.in, want)
			if (err != nil) != tc.wantErr || (wantErr != nil) != tc.wantErr {
				t.Fatalf("Decode error %v, proto.Unmarshal error %v; want error: %t", err, wantErr, tc.wantErr)
			}
			if err == nil && !proto.Equal(got, want) {
				t.Fatalf("Decode = %v, proto.Unmarshal = %v", got, want)
			}
		})
	}
}

// FuzzDecode: Decode agrees with proto.Unmarshal on any input.
func FuzzDecode(f *testing.F) {
	ct := []byte("0123456789abcdef")
	for _, last := range []bool{false, true} {
		b, _ := Codec{}.Marshal(NewOutgoing(7, &ct, last, nil))
		f.Add(b.Materialize())
	}
	f.Add([]byte{0x1a, 0x02, 0x08, 0x01, 0x1a, 0x02, 0x18, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		want := &confedv1.SubmitUpdateRequest{}
		wantErr := proto.Unmarshal(b, want)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("Decode error %v, proto.Unmarshal error %v", err, wantErr)
		}
		if err == nil && !proto.Equal(got, want) {
			t.Fatalf("Decode = %v, proto.Unmarshal = %v", got, want)
		}
	})
}

// countingPool is a Pool that counts what comes back.
type countingPool struct {
	*Pool
	back atomic.Int64
}

func (p *countingPool) Put(b *[]byte) {
	p.back.Add(1)
	p.Pool.Put(b)
}

// echoServer receives Incoming chunks and checks that chunk i is
// pattern(i); it answers with the number of chunks.
type echoServer struct {
	confedv1.UnimplementedAggregatorServer
}

func pattern(seq uint64, n int) []byte {
	return bytes.Repeat([]byte{byte(seq), byte(seq >> 8), 0xc3}, n/3+1)[:n]
}

func (echoServer) SubmitUpdate(srv confedv1.Aggregator_SubmitUpdateServer) error {
	var got uint64
	ins := []*Incoming{NewIncoming(), NewIncoming()}
	for {
		in := ins[got%2]
		if err := srv.RecvMsg(in); err != nil {
			if errors.Is(err, io.EOF) {
				return srv.SendAndClose(&confedv1.SubmitUpdateResponse{Accepted: true, Reason: fmt.Sprint(got)})
			}
			return err
		}
		c := in.GetSealedChunk()
		if c.GetSeq() != got || !bytes.Equal(c.GetCiphertext(), pattern(got, len(c.GetCiphertext()))) {
			return fmt.Errorf("chunk %d (seq %d) is not what was sent", got, c.GetSeq())
		}
		got++
	}
}

// TestStreamRecyclesBuffers sends chunks through real gRPC with Codec on
// both ends, rewriting each recycled buffer with the next chunk's content:
// the server sees every chunk intact, and buffers come back to the pool.
func TestStreamRecyclesBuffers(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(Codec{}))
	confedv1.RegisterAggregatorServer(srv, echoServer{})
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(Codec{})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	up, err := confedv1.NewAggregatorClient(conn).SubmitUpdate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pool := &countingPool{Pool: NewPool(3)}
	const chunks, size = 40, 256 << 10
	for seq := uint64(0); seq < chunks; seq++ {
		buf := pool.Get(size)
		copy(*buf, pattern(seq, size))
		if err := up.SendMsg(NewOutgoing(seq, buf, seq == chunks-1, pool)); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := up.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetReason() != fmt.Sprint(chunks) {
		t.Fatalf("server saw %s chunks, want %d", resp.GetReason(), chunks)
	}
	if pool.back.Load() == 0 {
		t.Fatal("no buffer came back to the pool")
	}
	var _ mem.BufferPool = pool
}

// TestWithoutCodec: Outgoing and Incoming work with gRPC's own proto codec
// on both ends (copies, no recycling).
func TestWithoutCodec(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	confedv1.RegisterAggregatorServer(srv, echoServer{})
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	up, err := confedv1.NewAggregatorClient(conn).SubmitUpdate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(0); seq < 3; seq++ {
		buf := pattern(seq, 5000)
		if err := up.SendMsg(NewOutgoing(seq, &buf, seq == 2, nil)); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := up.CloseAndRecv()
	if err != nil || resp.GetReason() != "3" {
		t.Fatalf("%v, %v", resp, err)
	}
}
