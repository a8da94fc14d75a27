package coordinator

import (
	"context"
	"crypto/ed25519"

	"github.com/confed/confed/internal/tee"
	confedv1 "github.com/confed/confed/proto/confed/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// queueSize bounds the tasks waiting for a slow client; a client that falls
// this far behind is disconnected and reconnects.
const queueSize = 256

// aggSession is the connected aggregator.
type aggSession struct {
	id     uint64
	name   string
	pub    ed25519.PublicKey
	claims tee.Claims
	tasks  chan *confedv1.AggregationTask
	// kick closes the session when its queue overflows.
	kick chan struct{}
}

// partSession is one connected participant watching for tasks.
type partSession struct {
	id    uint64
	name  string
	tasks chan *confedv1.Task
	kick  chan struct{}
}

func trySend[T any](ch chan T, kick chan struct{}, v T) bool {
	select {
	case ch <- v:
		return true
	default:
		select {
		case <-kick:
		default:
			close(kick)
		}
		return false
	}
}

// pump sends tasks from a session's queue to its stream until the client
// goes away, the coordinator shuts down, or the session is kicked (then it
// fails with kicked).
func pump[T any](ctx context.Context, shutdown <-chan struct{}, tasks <-chan T, kick <-chan struct{}, kicked error, send func(T) error) error {
	for {
		select {
		case <-ctx.Done():
			return toStatus(ctx.Err(), codes.Canceled)
		case <-shutdown:
			return status.Error(codes.Unavailable, errStopping.Error())
		case <-kick:
			return kicked
		case t := <-tasks:
			if err := send(t); err != nil {
				return err
			}
		}
	}
}
