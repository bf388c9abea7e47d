package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the bounds on slow and numerous clients (Config.ReadTimeout,
// WriteTimeout, MaxConnections).
const (
	defaultReadTimeout    = 30 * time.Second
	defaultWriteTimeout   = 60 * time.Second
	defaultMaxConnections = 10000
	// reservedFiles are file descriptors kept for everything but client
	// connections: database connections, the SQLite file and its log,
	// roles and key files, the listener.
	reservedFiles = 256
	// overflowLifetime bounds a connection accepted beyond MaxConnections:
	// long enough for a health check, too short to hold a slot.
	overflowLifetime = 5 * time.Second
)

// boundClients fills in the defaults of the bounds on slow and numerous
// clients and checks them.
func boundClients(cfg *Config) error {
	if cfg.ReadTimeout < 0 || cfg.WriteTimeout < 0 {
		return fmt.Errorf("server: --read-timeout and --write-timeout must be positive")
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = defaultReadTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = defaultWriteTimeout
	}
	var err error
	cfg.MaxConnections, err = maxConnectionsFor(cfg.MaxConnections)
	return err
}

// maxConnectionsFor returns the default connection limit, or checks the
// configured one (0: the default) against the process's file descriptor
// limit: connections beyond it would fail every accept and every database
// dial, taking /healthz down with them.
func maxConnectionsFor(configured int) (int, error) {
	fds := fileLimit()
	budget := (fds - reservedFiles) * 8 / 9 // room for the spare eighth
	if configured < 0 {
		return 0, fmt.Errorf("server: --max-connections must be positive")
	}
	if configured == 0 {
		if budget < defaultMaxConnections {
			return max(budget, 1), nil
		}
		return defaultMaxConnections, nil
	}
	if configured > budget {
		return 0, fmt.Errorf("server: --max-connections %d needs more file descriptors than the %d this process may open (allow %d with ulimit -n)", configured, fds, configured*9/8+reservedFiles+1)
	}
	return configured, nil
}

// fileLimit is RLIMIT_NOFILE (the soft limit, which Go raises to the hard
// one at start).
func fileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 1 << 30
	}
	return int(rl.Cur)
}

// limitListener serves at most max connections normally. Beyond that it
// accepts spare more for at most overflowLifetime each, on which only
// health checks are answered (the handler sheds every other request with a
// prompt 503), so that /healthz stays answerable and the process keeps its
// file descriptors; beyond that it closes new connections at once.
type limitListener struct {
	net.Listener
	max, spare int64
	open       atomic.Int64
	gauge      prometheus.GaugeFunc
	shed       prometheus.Counter
}

func newLimitListener(l net.Listener, limit int) *limitListener {
	ll := &limitListener{Listener: l, max: int64(limit), spare: int64(limit/8 + 1)}
	ll.gauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "warden_connections", Help: "Client connections open.",
	}, func() float64 { return float64(ll.open.Load()) })
	ll.shed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "warden_connections_shed_total", Help: "Connections closed, and requests answered 503, because --max-connections was reached.",
	})
	return ll
}

// Collectors returns the listener's metrics.
func (l *limitListener) Collectors() []prometheus.Collector {
	return []prometheus.Collector{l.gauge, l.shed}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		n := l.open.Add(1)
		if n > l.max+l.spare {
			l.open.Add(-1)
			l.shed.Inc()
			c.Close()
			continue
		}
		lc := &limitedConn{Conn: c, l: l}
		if n > l.max {
			lc.until = time.Now().Add(overflowLifetime)
			c.SetDeadline(lc.until)
		}
		return lc, nil
	}
}

// limitedConn gives its slot back when closed; an overflow one (until set)
// keeps its deadline whatever the server asks for.
type limitedConn struct {
	net.Conn
	l     *limitListener
	until time.Time
	once  sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

func (c *limitedConn) clamp(t time.Time) time.Time {
	if !c.until.IsZero() && (t.IsZero() || t.After(c.until)) {
		return c.until
	}
	return t
}

func (c *limitedConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(c.clamp(t)) }
func (c *limitedConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.clamp(t))
}
func (c *limitedConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

type overflowKey struct{}

// connContext marks the requests of overflow connections (http.Server's
// ConnContext).
func connContext(ctx context.Context, c net.Conn) context.Context {
	for {
		switch cc := c.(type) {
		case *tls.Conn:
			c = cc.NetConn()
		case *replayConn:
			c = cc.Conn
		case *ackFilterConn:
			c = cc.Conn
		case *limitedConn:
			if !cc.until.IsZero() {
				return context.WithValue(ctx, overflowKey{}, true)
			}
			return ctx
		default:
			return ctx
		}
	}
}

// shedOverflow answers 503 to a request that came on an overflow
// connection, unless it is a health check, and reports whether it did.
// gRPC clients read the 503 as UNAVAILABLE, which they retry.
func (l *limitListener) shedOverflow(w http.ResponseWriter, r *http.Request) bool {
	if r.Context().Value(overflowKey{}) == nil || r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
		return false
	}
	l.shed.Inc()
	w.Header().Set("Retry-After", "1")
	w.Header().Set("Connection", "close") // HTTP/2 too: the server sends GOAWAY
	http.Error(w, "wardend is at its connection limit (--max-connections)\n", http.StatusServiceUnavailable)
	return true
}

// bodyDeadlines bounds, for a request that is not gRPC, the time to read its
// body and to write its response; gRPC calls may be long and stream, so they
// are left to their own deadlines. The read deadline is set only when there
// is a body: net/http clears it once the body is read, and a deadline left
// on an HTTP/1.1 connection with no body to read would cancel the request.
func bodyDeadlines(w http.ResponseWriter, r *http.Request, read, write time.Duration) {
	rc := http.NewResponseController(w)
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		rc.SetReadDeadline(time.Now().Add(read))
	}
	rc.SetWriteDeadline(time.Now().Add(write))
}
