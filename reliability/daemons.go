package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/coordinator"
)

// coordChild configures a coordinator child.
type coordChild struct {
	Config coordinator.Config
	// Tick is the coordinator's deadline tick.
	Tick time.Duration
	// Skew is added to the coordinator's clock (Options.Now).
	Skew time.Duration
}

// aggChild configures an aggregator child.
type aggChild struct {
	Config aggregator.Config
}

func childLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// listenRetry listens on addr, retrying for a while: a restarted daemon
// takes over the port of the one that was killed.
func listenRetry(addr string) (net.Listener, error) {
	var err error
	for range 100 {
		var lis net.Listener
		if lis, err = net.Listen("tcp", addr); err == nil {
			return lis, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("listening on %s for 5s: %w", addr, err)
}

func runCoordinatorChild(ctx context.Context, raw []byte, ready func(string), _ func(any)) error {
	var c coordChild
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("coordinator child config: %w", err)
	}
	lis, err := listenRetry(c.Config.Listen)
	if err != nil {
		return err
	}
	opts := coordinator.Options{InsecureSimulatedTEE: true, Listener: lis, Logger: childLogger(),
		Tick: c.Tick, OnListen: func(a net.Addr) { ready(a.String()) }}
	if c.Skew != 0 {
		skew := c.Skew
		opts.Now = func() time.Time { return time.Now().Add(skew) }
	}
	return coordinator.Run(ctx, c.Config, opts)
}

func runAggregatorChild(ctx context.Context, raw []byte, ready func(string), _ func(any)) error {
	var c aggChild
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("aggregator child config: %w", err)
	}
	lis, err := listenRetry(c.Config.Listen)
	if err != nil {
		return err
	}
	return aggregator.Run(ctx, c.Config, aggregator.Options{InsecureSimulatedTEE: true, Listener: lis,
		Logger: childLogger(), OnListen: func(a net.Addr) { ready(a.String()) }})
}
