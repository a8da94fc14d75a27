package metricscfg

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/confed/confed/internal/metrics"
)

func TestServeOff(t *testing.T) {
	stop, err := Serve(Config{}, metrics.NewRegistry(), nil, func(net.Addr) { t.Error("onListen called with metrics off") })
	if err != nil || stop == nil {
		t.Fatalf("Serve = %v, %v; want a stop function and no error", stop != nil, err)
	}
	stop()
}

func TestServeOn(t *testing.T) {
	reg := metrics.NewRegistry()
	reg.Counter("confed_test_total", "A test counter.").With().Inc()
	var addr net.Addr
	stop, err := Serve(Config{Listen: "127.0.0.1:0"}, reg, nil, func(a net.Addr) { addr = a })
	if err != nil {
		t.Fatal(err)
	}
	if addr == nil {
		t.Fatal("onListen not called")
	}
	resp, err := http.Get("http://" + addr.String() + metrics.Path)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.Contains(string(body), "confed_test_total 1") {
		t.Errorf("scrape = %q, %v; want confed_test_total 1", body, err)
	}
	stop()
	if _, err := http.Get("http://" + addr.String() + metrics.Path); err == nil {
		t.Error("scrape after stop succeeded")
	}
}

func TestServeListenError(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	stop, err := Serve(Config{Listen: lis.Addr().String()}, metrics.NewRegistry(), nil, nil)
	if err == nil || stop == nil {
		t.Fatalf("Serve on a taken port = %v; want an error and a stop function", err)
	}
	stop()
}
