package dashboard

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

//go:embed assets
var assets embed.FS

// Server is the dashboard's HTTP handler.
type Server struct {
	src        Source
	token      Token
	federation string
	log        *slog.Logger
	mux        *http.ServeMux
	// verifying serialises ledger verifications, which read every model.
	verifying sync.Mutex
	// eventGap is the least time between two server-sent events.
	eventGap time.Duration
}

// New returns the dashboard of federation, showing src to callers that
// hold tok or an operator certificate of federation.
func New(src Source, tok Token, federation string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{src: src, token: tok, federation: federation, log: log, mux: http.NewServeMux(),
		eventGap: 200 * time.Millisecond}
	s.routes()
	return s
}

func (s *Server) routes() {
	static, _ := fs.Sub(assets, "assets/static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.logout)
	s.mux.Handle("GET /{$}", s.page("assets/index.html"))
	s.mux.Handle("GET /rounds/{n}", s.page("assets/round.html"))
	s.mux.Handle("GET /api/overview", s.api(s.overview))
	s.mux.Handle("GET /api/rounds", s.api(s.rounds))
	s.mux.Handle("GET /api/rounds/{n}", s.api(s.round))
	s.mux.Handle("GET /api/ledger/verify", s.api(s.verifyLedger))
	s.mux.Handle("GET /api/events", s.guardAPI(http.HandlerFunc(s.events)))
	s.mux.Handle("GET /api/backup", s.guardAPI(http.HandlerFunc(s.backup)))
	s.mux.HandleFunc("GET /api/", func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.authenticate(r); err != nil {
			s.refuseAPI(w, r, err)
			return
		}
		writeError(w, http.StatusNotFound, "no such endpoint: see docs/operations.md for the API")
	})
}

// ServeHTTP implements http.Handler, adding security headers to every
// response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer browsers send
	// "Origin: null" on the login form, which the Origin check refuses.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// Serve runs the dashboard on lis with TLS until ctx ends.
func Serve(ctx context.Context, lis net.Listener, tlsCfg *tls.Config, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(lis, "", "") }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
		<-errc
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("dashboard: serving: %w", err)
	}
}
