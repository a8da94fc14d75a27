package submit

import (
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	confedv1 "github.com/confed/confed/proto/confed/v1"
)

// StagingReady is the response header with which the aggregator tells a
// participant that a staging buffer is waiting for its update. Until then
// the participant sends nothing after the update's header: a participant
// queued behind others holds no data in the aggregator's memory (its
// HTTP/2 flow-control window stays unused), so that the aggregator's
// memory does not grow with the number of participants waiting.
const StagingReady = "confed-staging-ready"

// GrantStaging sends the StagingReady header on the aggregator's side of
// a SubmitUpdate stream.
func GrantStaging(s grpc.ServerStream) error {
	return s.SendHeader(metadata.Pairs(StagingReady, "1"))
}

// awaitStaging waits until the aggregator grants the stream a staging
// buffer (true), or answers without one (false: the stream's status says
// why).
func awaitStaging(s grpc.ClientStream) bool {
	md, err := s.Header()
	return err == nil && len(md.Get(StagingReady)) > 0
}

// SendUpdate makes one submission on a SubmitUpdate stream: it sends the
// header, waits for the aggregator to grant a staging buffer, lets body
// send the sealed chunks (SendSealedStream or SendSealed), and returns the
// aggregator's answer. A refusal before or during the stream comes back as
// the stream's status error from CloseAndRecv.
func SendUpdate(up confedv1.Aggregator_SubmitUpdateClient, h *confedv1.UpdateHeader, body func() error) (*confedv1.SubmitUpdateResponse, error) {
	err := up.Send(&confedv1.SubmitUpdateRequest{Msg: &confedv1.SubmitUpdateRequest_Header{Header: h}})
	if err != nil && !errors.Is(err, io.EOF) { // io.EOF: answered already
		return nil, fmt.Errorf("sending update header: %w", err)
	}
	if err == nil && awaitStaging(up) {
		if err := body(); err != nil {
			return nil, fmt.Errorf("sending update: %w", err)
		}
	}
	resp, err := up.CloseAndRecv()
	if err != nil {
		return nil, fmt.Errorf("aggregator: %w", err)
	}
	return resp, nil
}
