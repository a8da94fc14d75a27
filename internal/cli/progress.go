package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/confed/confed/internal/modelio"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// progress draws a one-line progress bar of a transfer on a terminal:
// bytes done of the total, percentage and rate, redrawn at most every
// redrawEvery. It draws nothing when its writer is not a terminal, so
// that logs and pipes get plain output only.
type progress struct {
	w     io.Writer
	on    bool
	label string
	now   func() time.Time

	start, drawn       time.Time
	total, done, shown int64
}

const (
	redrawEvery = 100 * time.Millisecond
	barWidth    = 24
)

// newProgress returns a progress bar on w, drawn only if w is a terminal.
func newProgress(w io.Writer, label string) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, on: ok && isTerminal(f.Fd()), label: label, now: time.Now}
}

// receiver wraps r so that each chunk received advances the bar; the
// header gives the total.
func (p *progress) receiver(r modelio.Receiver) modelio.Receiver {
	if !p.on {
		return r
	}
	p.start = p.now()
	return progressReceiver{r: r, p: p}
}

type progressReceiver struct {
	r modelio.Receiver
	p *progress
}

// Recv implements modelio.Receiver.
func (pr progressReceiver) Recv() (*confedv1.ModelChunk, error) {
	msg, err := pr.r.Recv()
	if err != nil {
		return msg, err
	}
	if h := msg.GetHeader(); h != nil {
		pr.p.total = int64(h.GetSize())
	}
	if c := msg.GetChunk(); c != nil {
		pr.p.add(len(c.GetData()))
	}
	return msg, nil
}

func (p *progress) add(n int) {
	p.done += int64(n)
	if now := p.now(); now.Sub(p.drawn) >= redrawEvery || p.done == p.total {
		p.drawn = now
		p.draw(now)
	}
}

// finish ends the bar's line, drawing the last bytes if they are not yet
// shown.
func (p *progress) finish() {
	if !p.on || p.drawn.IsZero() {
		return
	}
	if p.shown != p.done {
		p.draw(p.now())
	}
	fmt.Fprintln(p.w)
}

func (p *progress) draw(now time.Time) {
	p.shown = p.done
	fmt.Fprintf(p.w, "\r\x1b[K%s", p.line(now.Sub(p.start)))
}

// line renders the bar after elapsed time.
func (p *progress) line(elapsed time.Duration) string {
	rate := ""
	if elapsed > 0 {
		rate = "  " + humanBytes(int64(float64(p.done)/elapsed.Seconds())) + "/s"
	}
	if p.total <= 0 {
		return fmt.Sprintf("%s  %s%s", p.label, humanBytes(p.done), rate)
	}
	frac := min(float64(p.done)/float64(p.total), 1)
	full := int(frac * barWidth)
	bar := strings.Repeat("=", full) + strings.Repeat(" ", barWidth-full)
	return fmt.Sprintf("%s [%s] %3.0f%%  %s / %s%s", p.label, bar, 100*frac, humanBytes(p.done), humanBytes(p.total), rate)
}

// humanBytes formats n with a binary unit: 512 B, 1.5 KiB, 20.0 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
