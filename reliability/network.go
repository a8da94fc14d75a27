package reliability

import (
	"fmt"
	"time"
)

// networkFaults runs a federation with fault-injecting proxies between the
// participants and the aggregator and between the aggregator and the
// coordinator, and injects cuts, delays, throttling, stalls and refused
// connections. Each must end with a later round published with every
// participant, each once, within a bounded time.
func networkFaults(c *faultCtx) []Row {
	f, honest, err := honestFed(c, 4, nil, 4, func(s *FedSpec) {
		s.ProxyParticipants, s.ProxyCoordinator = true, true
		s.StreamIdle = time.Second
		s.RoundDeadline = 3 * c.plan.Deadline
	})
	if err != nil {
		return []Row{{Section: "fault", Name: "network faults (proxy)", Err: err.Error()}}
	}
	defer f.Close()
	var last uint64
	recover := func(row *Row, r uint64) bool {
		next, err := f.waitPublishedAfter(r-1, 6*c.plan.Deadline+2*time.Minute)
		if err != nil {
			row.Err = err.Error()
			return false
		}
		if included(next) != 4 {
			row.Err = fmt.Sprintf("round %d published with %d of 4", next.GetRound(), included(next))
			return false
		}
		last = next.GetRound()
		row.Held++
		return true
	}
	inject := func(name, detail string, times int, fault func(r uint64), undo func()) Row {
		row := Row{Section: "fault", Name: name, Detail: detail}
		for i := 0; i < times && row.Err == ""; i++ {
			row.Tried++
			r, err := waitStream(honest, last, 6*c.plan.Deadline+time.Minute)
			if err != nil {
				row.Err = err.Error()
				break
			}
			fault(r)
			ok := recover(&row, r)
			if undo != nil {
				undo()
			}
			if !ok {
				break
			}
		}
		return row
	}
	var cuts int
	rows := []Row{
		inject("connections participant↔aggregator cut mid-stream", "", c.plan.Repeats, func(uint64) {
			c.pause(300 * time.Millisecond)
			cuts += f.PartProxy.Cut()
		}, nil),
		inject("connection aggregator↔coordinator cut mid-round", "aggregator reconnects with backoff; the round fails or publishes, a later one publishes", c.plan.Repeats, func(uint64) {
			c.pause(300 * time.Millisecond)
			cuts += f.CoordProxy.Cut()
		}, nil),
		inject("every read delayed 20 ms on both paths", "", 1, func(uint64) {
			f.PartProxy.SetDelay(20 * time.Millisecond)
			f.CoordProxy.SetDelay(20 * time.Millisecond)
		}, func() { f.PartProxy.SetDelay(0); f.CoordProxy.SetDelay(0) }),
		inject("participant path throttled to 256 KiB/s per connection", "", 1, func(uint64) {
			f.PartProxy.SetRate(256 << 10)
		}, func() { f.PartProxy.SetRate(0) }),
		inject("participant path stalled (black hole) for 2.5 s", "stalled streams refused by stream_idle_timeout (1s), senders retry", 1, func(uint64) {
			f.PartProxy.SetStall(true)
			time.Sleep(2500 * time.Millisecond)
			f.PartProxy.SetStall(false)
		}, nil),
		inject("aggregator↔coordinator cut and reconnects refused for 1.5 s", "", 1, func(uint64) {
			f.CoordProxy.SetRefuse(true)
			cuts += f.CoordProxy.Cut()
			time.Sleep(1500 * time.Millisecond)
			f.CoordProxy.SetRefuse(false)
		}, nil),
	}
	if c.plan.Name == "full" {
		rows = append(rows, inject("aggregator↔coordinator stalled 50 s (keepalive 30 s + 10 s)", "gRPC keepalive detects the dead stream; the round fails, a later one publishes", 1, func(uint64) {
			f.CoordProxy.SetStall(true)
			time.Sleep(50 * time.Second)
			f.CoordProxy.SetStall(false)
		}, nil))
	}
	rows[0].Detail = fmt.Sprintf("%d connections cut in all; participants resubmit", cuts)
	if err := c.finish(f, honest); err != nil {
		rows[len(rows)-1].Err = err.Error()
	}
	return rows
}
