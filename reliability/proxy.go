package reliability

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a fault-injecting TCP proxy on loopback: it forwards each
// connection to a target and can cut every open connection, delay each
// forwarded read, throttle the byte rate, or refuse new connections.
type Proxy struct {
	lis    net.Listener
	target string

	delay     atomic.Int64 // per forwarded read, in ns
	rate      atomic.Int64 // bytes per second per direction; 0: unlimited
	refuse    atomic.Bool
	stall     atomic.Bool
	closed    atomic.Bool
	cuts      atomic.Int64
	accepted  atomic.Int64
	forwarded atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewProxy listens on a free loopback port and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{lis: lis, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's address.
func (p *Proxy) Addr() string { return p.lis.Addr().String() }

// SetDelay delays every forwarded read by d (0: none).
func (p *Proxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// SetRate throttles each direction of each connection to bytesPerSec (0:
// unlimited).
func (p *Proxy) SetRate(bytesPerSec int64) { p.rate.Store(bytesPerSec) }

// SetRefuse makes the proxy close new connections at once.
func (p *Proxy) SetRefuse(on bool) { p.refuse.Store(on) }

// SetStall stops forwarding (a black hole: connections stay open, no
// byte moves) until it is turned off.
func (p *Proxy) SetStall(on bool) { p.stall.Store(on) }

// Cut closes every open connection and returns how many it closed.
func (p *Proxy) Cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for c := range p.conns {
		c.Close()
		n++
	}
	p.cuts.Add(int64(n))
	return n
}

// Open is the number of open connections (each pair counts once).
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns) / 2
}

// Stats returns the connections accepted, cut, and the bytes forwarded.
func (p *Proxy) Stats() (accepted, cut, bytes int64) {
	return p.accepted.Load(), p.cuts.Load(), p.forwarded.Load()
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.closed.Store(true)
	p.lis.Close()
	p.Cut()
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		if p.refuse.Load() {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

func (p *Proxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

func (p *Proxy) handle(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	p.track(client, server)
	defer p.untrack(client, server)
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); done <- struct{}{} }()
	go func() { p.pipe(client, server); done <- struct{}{} }()
	<-done // either direction ending ends the connection
}

// pipe copies src to dst with the configured delay and rate.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			for p.stall.Load() && !p.closed.Load() {
				time.Sleep(10 * time.Millisecond)
			}
			if d := time.Duration(p.delay.Load()); d > 0 {
				time.Sleep(d)
			}
			if r := p.rate.Load(); r > 0 {
				time.Sleep(time.Duration(int64(n) * int64(time.Second) / r))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			p.forwarded.Add(int64(n))
		}
		if err != nil {
			return // EOF or a cut: either way the connection ends
		}
	}
}
