package cli

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/confed/confed/internal/modelio"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// chunks is a model stream: a header of size bytes, then chunks of n.
type chunks struct{ msgs []*confedv1.ModelChunk }

func newChunks(size, n int) *chunks {
	c := &chunks{msgs: []*confedv1.ModelChunk{{Msg: &confedv1.ModelChunk_Header{Header: &confedv1.ModelHeader{Size: uint64(size)}}}}}
	for off := 0; off < size; off += n {
		c.msgs = append(c.msgs, &confedv1.ModelChunk{Msg: &confedv1.ModelChunk_Chunk{Chunk: &confedv1.Chunk{Data: make([]byte, min(n, size-off))}}})
	}
	return c
}

func (c *chunks) Recv() (*confedv1.ModelChunk, error) {
	if len(c.msgs) == 0 {
		return nil, io.EOF
	}
	m := c.msgs[0]
	c.msgs = c.msgs[1:]
	return m, nil
}

func drain(t *testing.T, r modelio.Receiver) {
	t.Helper()
	for {
		if _, err := r.Recv(); err == io.EOF {
			return
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// TestProgressDraws feeds 10 chunks of 1000 bytes, 50ms apart on a fake
// clock, to a bar on a (pretend) terminal: it redraws every 100ms and at
// the end, and the last line shows the whole transfer and its rate.
func TestProgressDraws(t *testing.T) {
	var out bytes.Buffer
	clock := time.Unix(0, 0)
	p := &progress{w: &out, on: true, label: "downloading model", now: func() time.Time { return clock }}
	src := newChunks(10000, 1000)
	r := p.receiver(src)
	for {
		clock = clock.Add(50 * time.Millisecond)
		if _, err := r.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	p.finish()
	frames := strings.Split(out.String(), "\r\x1b[K")
	if len(frames) < 4 || frames[0] != "" {
		t.Fatalf("frames %q", frames)
	}
	last := frames[len(frames)-1]
	want := "downloading model [========================] 100%  9.8 KiB / 9.8 KiB  17.8 KiB/s\n"
	if last != want {
		t.Errorf("last frame %q, want %q", last, want)
	}
	// Drawn at 50ms and then every 100ms: 1, 3, 5, 7, 9 chunks, and the
	// last one.
	var pct []string
	for _, f := range frames[1:] {
		pct = append(pct, strings.TrimSpace(f[strings.Index(f, "]")+1:strings.Index(f, "%")]))
	}
	if got := strings.Join(pct, " "); got != "10 30 50 70 90 100" {
		t.Errorf("frames at %s%%, want 10 30 50 70 90 100", got)
	}
}

// TestProgressOffWhenNotATerminal: a pipe or a file gets nothing.
func TestProgressOffWhenNotATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, w := range []io.Writer{&bytes.Buffer{}, f} {
		p := newProgress(w, "x")
		src := newChunks(100, 10)
		if r := p.receiver(src); r != modelio.Receiver(src) {
			t.Errorf("%T: stream wrapped although not a terminal", w)
		}
		drain(t, src)
		p.finish()
	}
	if st, _ := f.Stat(); st.Size() != 0 {
		t.Errorf("%d bytes of progress written to a file", st.Size())
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 20 << 20: "20.0 MiB", 3 << 40: "3.0 TiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	for _, c := range []struct {
		args []string
		pos  string
		fmt  string
	}{
		{[]string{"3", "--format", "json"}, "3", "json"},
		{[]string{"--format", "json", "3"}, "3", "json"},
		{[]string{"a", "b", "--format=json", "c"}, "a b c", "json"},
		{[]string{"--", "--format"}, "--format", "text"},
	} {
		fs := newFlags("t", io.Discard)
		format := addFormat(fs)
		pos, err := parseInterspersed(fs, c.args)
		if err != nil || strings.Join(pos, " ") != c.pos || *format != c.fmt {
			t.Errorf("%q: positionals %q format %q err %v; want %q and %q", c.args, pos, *format, err, c.pos, c.fmt)
		}
	}
}
