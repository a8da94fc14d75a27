package maa

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// keySource gives the provider's signing key of a kid: from the offline
// bundle, else (if fetching is allowed) from the provider's /certs,
// fetched at most once per refresh interval and cached in memory.
type keySource struct {
	bundle  map[string]*rsa.PublicKey
	url     string // "" when fetching is off
	client  *http.Client
	refresh time.Duration

	mu      sync.Mutex
	fetched map[string]*rsa.PublicKey
	at      time.Time
}

func (s *keySource) key(ctx context.Context, kid string, now time.Time) (*rsa.PublicKey, error) {
	if k, ok := s.bundle[kid]; ok {
		return k, nil
	}
	if s.url == "" {
		return nil, fmt.Errorf("maa: no signing key %q in the offline key bundle, and fetching is off (fetch_keys: false)", kid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.fetched[kid]; ok && now.Sub(s.at) < s.refresh {
		return k, nil
	}
	if s.fetched != nil && now.Sub(s.at) < time.Minute {
		return nil, fmt.Errorf("maa: no signing key %q at %s (fetched %s ago)", kid, s.url, now.Sub(s.at).Round(time.Second))
	}
	keys, err := s.fetch(ctx)
	if err != nil {
		return nil, err
	}
	s.fetched, s.at = keys, now
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("maa: no signing key %q at %s", kid, s.url)
}

func (s *keySource) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("maa: signing keys: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("maa: fetching signing keys from %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("maa: fetching signing keys from %s: HTTP %s", s.url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySetSize+1))
	if err != nil {
		return nil, fmt.Errorf("maa: fetching signing keys from %s: %w", s.url, err)
	}
	keys, err := ParseKeySet(b)
	if err != nil {
		return nil, fmt.Errorf("maa: signing keys from %s: %w", s.url, err)
	}
	return keys, nil
}

// certsURL is where a provider serves its signing keys.
func certsURL(issuer string) string { return strings.TrimSuffix(issuer, "/") + "/certs" }
