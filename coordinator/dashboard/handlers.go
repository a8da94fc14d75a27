package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// page serves an embedded HTML page to an authenticated caller and sends
// anyone else to the login page.
func (s *Server) page(name string) http.Handler {
	body, err := assets.ReadFile(name)
	if err != nil {
		panic("dashboard: missing embedded page " + name) // a build error, caught by the tests
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.authenticate(r); err != nil {
			if errors.Is(err, errNoCredential) || errors.Is(err, errBadToken) {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.log.Warn("dashboard request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
			http.Error(w, "forbidden: "+err.Error(), http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(body)
	})
}

// api serves a JSON endpoint to authenticated callers.
func (s *Server) api(f func(r *http.Request) (any, int, error)) http.Handler {
	return s.guardAPI(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, code, err := f(r)
		if err != nil {
			if code >= 500 {
				s.log.Error("dashboard API", "path", r.URL.Path, "err", err)
			}
			writeError(w, code, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, v)
	}))
}

// guardAPI answers 401 (no or wrong credential) or 403 (a certificate
// without the operator role) before h runs.
func (s *Server) guardAPI(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.authenticate(r); err != nil {
			s.refuseAPI(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) refuseAPI(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusForbidden
	if errors.Is(err, errNoCredential) || errors.Is(err, errBadToken) {
		code = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="confed dashboard"`)
	}
	s.log.Warn("dashboard request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
	writeError(w, code, err.Error())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func (s *Server) overview(*http.Request) (any, int, error) {
	o, err := s.src.Overview()
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	return o, 0, nil
}

func (s *Server) rounds(*http.Request) (any, int, error) {
	o, err := s.src.Overview()
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	return map[string]any{"federation": o.Federation, "planned_rounds": o.PlannedRounds, "finished": o.Finished,
		"rounds": o.Rounds}, 0, nil
}

func (s *Server) round(r *http.Request) (any, int, error) {
	n, err := strconv.ParseUint(r.PathValue("n"), 10, 64)
	if err != nil {
		return nil, http.StatusBadRequest, errors.New("round must be a number")
	}
	d, err := s.src.Round(n)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, http.StatusNotFound, err
	case err != nil:
		return nil, http.StatusInternalServerError, err
	}
	return d, 0, nil
}

func (s *Server) verifyLedger(*http.Request) (any, int, error) {
	s.verifying.Lock()
	defer s.verifying.Unlock()
	return s.src.VerifyLedger(), 0, nil
}

// events streams "change" server-sent events whenever the federation
// changes, so that the pages refresh while a round runs.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	changed, cancel := s.src.Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	keepalive := time.NewTicker(20 * time.Second)
	defer keepalive.Stop()
	seq := 0
	for {
		seq++
		if _, err := w.Write([]byte("event: change\nid: " + strconv.Itoa(seq) + "\ndata: {}\n\n")); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		if !s.waitChange(r, changed, keepalive.C, w, rc) {
			return
		}
		// Coalesce bursts: a round changes several times a second.
		select {
		case <-time.After(s.eventGap):
		case <-r.Context().Done():
			return
		}
	}
}

// waitChange blocks until the next change, sending keep-alive comments;
// false means the stream is over.
func (s *Server) waitChange(r *http.Request, changed <-chan struct{}, tick <-chan time.Time, w http.ResponseWriter, rc *http.ResponseController) bool {
	for {
		select {
		case <-changed:
			return true
		case <-tick:
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil || rc.Flush() != nil {
				return false
			}
		case <-r.Context().Done():
			return false
		case <-s.src.Done():
			return false
		}
	}
}

// backup streams a consistent copy of the coordinator's database. It
// announces the length, so that a copy cut short by an error after the
// first byte is a failed download, not a short file.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	name := fmt.Sprintf("confed-%s-%s.db", s.federation, time.Now().UTC().Format("20060102T150405Z"))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	size := func(n int64) { w.Header().Set("Content-Length", strconv.FormatInt(n, 10)) }
	n, err := s.src.Backup(w, size)
	if err != nil {
		s.log.Error("dashboard backup failed", "bytes", n, "err", err)
		if n == 0 {
			w.Header().Del("Content-Length")
			writeError(w, http.StatusInternalServerError, err.Error())
		}
		return
	}
	s.log.Info("dashboard backup", "bytes", n, "remote", r.RemoteAddr)
}

var loginTmpl = template.Must(template.ParseFS(assets, "assets/login.html"))

type loginData struct {
	Next, Error string
	Token       bool
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, http.StatusOK, safeNext(r.URL.Query().Get("next")), "")
}

func (s *Server) renderLogin(w http.ResponseWriter, code int, next, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = loginTmpl.Execute(w, loginData{Next: next, Error: msg, Token: s.token.Set()})
}

// login checks the token posted by the login form and sets the session
// cookie. The form must come from the dashboard's own origin.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		s.log.Warn("dashboard login refused: cross-origin or no Origin header", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"))
		http.Error(w, "forbidden: the login form must be posted from this dashboard (Origin header)", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad login form", http.StatusBadRequest)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	secret := strings.TrimSpace(r.PostForm.Get("token"))
	if !s.token.Matches(secret) {
		s.log.Warn("dashboard login refused: wrong token", "remote", r.RemoteAddr)
		s.renderLogin(w, http.StatusUnauthorized, next, "That is not the operator token.")
		return
	}
	s.log.Info("dashboard login", "remote", r.RemoteAddr)
	http.SetCookie(w, sessionCookie(secret))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "forbidden: cross-origin logout", http.StatusForbidden)
		return
	}
	http.SetCookie(w, clearedCookie())
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-login destination on this site: an absolute path,
// not "//host" or "/\host".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}
