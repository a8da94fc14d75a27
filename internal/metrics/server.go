package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Path is where a Server serves the metrics.
const Path = "/metrics"

// Server serves a registry's metrics over plain HTTP on a listener of its
// own. It is meant for localhost or a scrape network: it has no TLS and no
// authentication, and the metrics say nothing about updates, models or
// data, only counts, sizes, durations and outcomes.
type Server struct {
	lis  net.Listener
	srv  *http.Server
	done chan struct{}
	err  error
}

// Start listens on addr (host:port) and serves reg at /metrics until Close.
func Start(addr string, reg *Registry, log *slog.Logger) (*Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listening on %s: %w", addr, err)
	}
	return Serve(lis, reg, log), nil
}

// Serve serves reg at /metrics on lis until Close.
func Serve(lis net.Listener, reg *Registry, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{lis: lis, done: make(chan struct{}), srv: &http.Server{
		Handler:           Handler(reg),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
	log.Info("metrics serving", "addr", lis.Addr().String(), "path", Path)
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return s
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.lis.Addr() }

// Close stops the server: scrapes in progress get a second to finish.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	<-s.done
	if err == nil {
		err = s.err
	}
	return err
}

// Handler serves reg's metrics at /metrics (GET and HEAD) and nothing else.
func Handler(reg *Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(Path, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Cache-Control", "no-store")
		if r.Method == http.MethodHead {
			return
		}
		_ = reg.WriteText(w) // a write error means the scraper went away
	})
	return mux
}
