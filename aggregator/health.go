package aggregator

import (
	"context"

	"google.golang.org/grpc"

	"github.com/confed/confed/internal/health"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// readiness reports the aggregator ready while its WatchRounds stream to the
// coordinator is open: from the moment the stream is established until a
// receive on it fails. (The aggregator checked its own TEE evidence before
// it dialled.) Other calls pass through untouched.
func readiness(chk *health.Checker) grpc.StreamClientInterceptor {
	watch := "/" + confedv1.AggregatorControl_ServiceDesc.ServiceName + "/WatchRounds"
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if method != watch {
			return cs, err
		}
		if err != nil {
			chk.SetReady(false, "no stream to the coordinator (see the aggregator's log)")
			return nil, err
		}
		chk.SetReady(true, "")
		return &watchedStream{ClientStream: cs, chk: chk}, nil
	}
}

type watchedStream struct {
	grpc.ClientStream
	chk *health.Checker
}

func (w *watchedStream) RecvMsg(m any) error {
	err := w.ClientStream.RecvMsg(m)
	if err != nil {
		w.chk.SetReady(false, "stream to the coordinator ended (see the aggregator's log)")
	}
	return err
}
