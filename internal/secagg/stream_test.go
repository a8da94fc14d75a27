package secagg

import (
	"bytes"
	"io"
	"slices"
	"testing"
)

func TestStreamedInputs(t *testing.T) {
	for _, length := range []int{9, chunkWords + 1} {
		sm := newSim(t, newSession(t, 5, 0, 3, length), 6)
		sm.stream = true
		res, err := sm.run(t, drops(StageConsistency, 4))
		if err != nil {
			t.Fatal(err)
		}
		sum, w := sm.plainSum(t, res.Survivors)
		if !slices.Equal(sum, res.Sum) || w != res.TotalWeight {
			t.Errorf("length %d: streamed session gave the wrong sum", length)
		}
	}
}

func TestStreamRefusals(t *testing.T) {
	s := newSession(t, 3, 0, 2, 10)
	sm := newSim(t, s, 8)
	var header, vec []byte
	sm.tamper = func(st Stage, to uint32, msg []byte) []byte {
		if st != StageMaskedInput || to != 0 {
			return msg
		}
		var err error
		header, vec, err = sm.clients[0].MaskedInputStream(msg, sm.updates[0], sm.weights[0], quantRNG(0))
		if err != nil {
			t.Fatal(err)
		}
		srv := sm.server
		flipped := slices.Clone(vec)
		flipped[7] ^= 1
		bad := []struct {
			name string
			r    io.Reader
			want string
		}{
			{"flipped byte", bytes.NewReader(flipped), ReasonHashMismatch},
			{"truncated", bytes.NewReader(vec[:len(vec)-1]), ReasonHashMismatch},
			{"trailing byte", bytes.NewReader(append(slices.Clone(vec), 0)), ReasonHashMismatch},
		}
		for _, b := range bad {
			if err := srv.ReceiveStream(header, b.r, nil); ReasonOf(err) != b.want {
				t.Errorf("%s: %v, want %s", b.name, err, b.want)
			}
		}
		if srv.acc != nil && slices.ContainsFunc(srv.acc, func(v uint32) bool { return v != 0 }) {
			t.Error("a refused stream changed the sum")
		}
		if err := srv.Receive(header); ReasonOf(err) != ReasonMalformed {
			t.Errorf("header without its vector through Receive: %v, want %s", err, ReasonMalformed)
		}
		if err := srv.ReceiveStream(header, bytes.NewReader(vec), nil); err != nil {
			t.Fatalf("honest stream after refusals: %v", err)
		}
		if err := srv.ReceiveStream(header, bytes.NewReader(vec), nil); ReasonOf(err) != ReasonReplay {
			t.Errorf("second stream: %v, want %s", err, ReasonReplay)
		}
		return nil // participant 0's input is in; its own step is skipped
	}
	sm.lenient = true
	res, err := sm.run(t, nil)
	if err != nil {
		t.Fatalf("session: %v (client errors %v)", err, sm.clientErrs)
	}
	sum, _ := sm.plainSum(t, res.Survivors)
	if !slices.Equal(sum, res.Sum) {
		t.Error("wrong sum")
	}
}

// A staged input changes nothing until it is committed, and cannot be
// committed twice or after the stage closed.
func TestStagedInputCommit(t *testing.T) {
	s := newSession(t, 3, 0, 2, 6)
	sm := newSim(t, s, 10)
	sm.tamper = func(st Stage, to uint32, msg []byte) []byte {
		if st != StageMaskedInput || to != 0 {
			return msg
		}
		h, vec, err := sm.clients[0].MaskedInputStream(msg, sm.updates[0], sm.weights[0], quantRNG(0))
		if err != nil {
			t.Fatal(err)
		}
		p, err := sm.server.StageStream(h, bytes.NewReader(vec), nil)
		if err != nil {
			t.Fatal(err)
		}
		if sm.server.acc != nil || sm.server.inputs[0] {
			t.Fatal("staging changed the sum")
		}
		p2, err := sm.server.StageStream(h, bytes.NewReader(vec), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := p2.Commit(); ReasonOf(err) != ReasonReplay {
			t.Errorf("second commit: %v, want %s", err, ReasonReplay)
		}
		return nil
	}
	res, err := sm.run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := sm.plainSum(t, res.Survivors)
	if !slices.Equal(sum, res.Sum) {
		t.Error("wrong sum")
	}
}
