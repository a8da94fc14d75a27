package external

import (
	"bufio"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
)

// Bounds of the trainer output copied to the log.
const (
	// MaxOutputBytes is how much of the trainer's stdout and stderr
	// together is logged per run; the rest is read and dropped.
	MaxOutputBytes = 64 << 10
	// maxLineBytes bounds one logged line; longer lines are cut.
	maxLineBytes = 1 << 10
)

// Log keys of the trainer's output.
const (
	keyStream  = "stream"
	keyLine    = "line"
	keyDropped = "dropped_bytes"
)

// outputLog copies a trainer's output streams to the log line by line,
// within a budget shared by the streams of one run.
type outputLog struct {
	log     *slog.Logger
	budget  atomic.Int64
	dropped atomic.Int64
}

func newOutputLog(log *slog.Logger) *outputLog {
	o := &outputLog{log: log}
	o.budget.Store(MaxOutputBytes)
	return o
}

// consume reads r to its end, logging what fits in the budget.
func (o *outputLog) consume(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, maxLineBytes)
	for {
		line, isPrefix, err := br.ReadLine()
		if len(line) > 0 || err == nil {
			o.emit(stream, line, isPrefix)
		}
		for isPrefix && err == nil { // drop the rest of a long line
			var rest []byte
			rest, isPrefix, err = br.ReadLine()
			o.dropped.Add(int64(len(rest)))
		}
		if err != nil {
			return
		}
	}
}

func (o *outputLog) emit(stream string, line []byte, cut bool) {
	if o.budget.Add(-int64(len(line)+1)) < 0 {
		o.dropped.Add(int64(len(line)))
		return
	}
	text := strings.ToValidUTF8(string(line), "\uFFFD")
	if cut {
		text += " …(line cut)"
	}
	o.log.Info("trainer output", keyStream, stream, keyLine, text)
}

// finish logs how much output was dropped, if any.
func (o *outputLog) finish() {
	if n := o.dropped.Load(); n > 0 {
		o.log.Warn("trainer output over the log's limit was dropped", keyDropped, n)
	}
}
