package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// dispatcher shares one listening port between a native grpc-go server
// and net/http. Serving gRPC through net/http (grpc.Server.ServeHTTP) costs
// about four reads per call and twice the CPU of grpc-go's own transport,
// so each connection is looked at once, after TLS when configured: an
// HTTP/2 connection whose first request has the content type
// application/grpc goes to grpc-go; everything else (HTTP/1.1, h2c and
// HTTP/2 REST, health, metrics) goes to net/http. The bytes read to decide
// are replayed to whichever server gets the connection.
type dispatcher struct {
	inner  net.Listener
	tls    *tls.Config // nil: plaintext
	header time.Duration
	idle   time.Duration

	grpc, http *chanListener

	mu      sync.Mutex
	sniffed map[net.Conn]struct{} // connections being looked at
	closed  bool
}

// newDispatcher returns a dispatcher on inner; header bounds the time to
// the HTTP/2 preface (or the first bytes of HTTP/1.1), idle the wait for
// the first request of an HTTP/2 connection.
func newDispatcher(inner net.Listener, tlsConfig *tls.Config, header, idle time.Duration) *dispatcher {
	d := &dispatcher{inner: inner, header: header, idle: idle, sniffed: map[net.Conn]struct{}{}}
	if tlsConfig != nil {
		d.tls = tlsConfig.Clone()
		d.tls.NextProtos = []string{"h2", "http/1.1"}
	}
	d.grpc, d.http = newChanListener(inner.Addr()), newChanListener(inner.Addr())
	return d
}

// serve accepts connections until the inner listener fails or is closed;
// then both listeners report the error.
func (d *dispatcher) serve() {
	var backoff time.Duration
	for {
		c, err := d.inner.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, net.ErrClosed) {
				// Out of file descriptors and the like: what net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			d.grpc.fail(err)
			d.http.fail(err)
			return
		}
		backoff = 0
		go d.classify(c)
	}
}

// Close stops accepting and closes the connections still being looked at;
// connections already handed over belong to their server.
func (d *dispatcher) Close() error {
	err := d.inner.Close()
	d.mu.Lock()
	d.closed = true
	for c := range d.sniffed {
		c.Close()
	}
	d.mu.Unlock()
	return err
}

func (d *dispatcher) track(c net.Conn) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	d.sniffed[c] = struct{}{}
	return true
}

func (d *dispatcher) untrack(c net.Conn) {
	d.mu.Lock()
	delete(d.sniffed, c)
	d.mu.Unlock()
}

// classify decides which server gets c.
func (d *dispatcher) classify(raw net.Conn) {
	if !d.track(raw) {
		raw.Close()
		return
	}
	defer d.untrack(raw)
	raw.SetDeadline(time.Now().Add(d.header))
	var c net.Conn = raw
	if d.tls != nil {
		tc := tls.Server(raw, d.tls)
		if err := tc.Handshake(); err != nil {
			var re tls.RecordHeaderError
			if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader[:]) {
				io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
			}
			raw.Close()
			return
		}
		if tc.ConnectionState().NegotiatedProtocol != "h2" {
			raw.SetDeadline(time.Time{})
			d.http.hand(tc) // HTTP/1.1: net/http sees the TLS state
			return
		}
		c = tc
	}
	to, sc, err := d.sniff(raw, c)
	if err != nil {
		raw.Close()
		return
	}
	raw.SetDeadline(time.Time{})
	if lc, ok := raw.(*limitedConn); ok && !lc.until.IsZero() {
		to = d.http // beyond --max-connections: net/http answers 503 (shedOverflow)
	}
	to.hand(sc)
}

// http2Preface opens every HTTP/2 connection (RFC 9113 §3.4).
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// maxSniff and maxSniffFrames bound what is read before deciding: a client
// that sends this much (pings included) without a request goes to
// net/http, which deals with it.
const (
	maxSniff       = 64 << 10
	maxSniffFrames = 100
)

// sniff reads from c until it knows where c goes and returns the conn to
// hand over, which replays what was read.
func (d *dispatcher) sniff(raw, c net.Conn) (*chanListener, net.Conn, error) {
	var seen bytes.Buffer
	buf := make([]byte, len(http2Preface))
	for seen.Len() < len(http2Preface) {
		n, err := c.Read(buf[:len(http2Preface)-seen.Len()])
		seen.Write(buf[:n])
		if !strings.HasPrefix(http2Preface, seen.String()) {
			return d.http, &replayConn{Conn: c, pending: seen.Bytes()}, nil // HTTP/1.x
		}
		if err != nil {
			return nil, nil, err
		}
	}
	// HTTP/2. grpc-go clients wait for the server's SETTINGS before their
	// first request, so an empty one is sent now; the client's ACK of it
	// must not reach net/http, which would count it as unexpected.
	fr := http2.NewFramer(c, io.TeeReader(c, &seen))
	if err := fr.WriteSettings(); err != nil {
		return nil, nil, err
	}
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = maxSniff
	raw.SetDeadline(time.Now().Add(d.idle)) // an idle client connection may wait for its first call
	acked := false
	for frames := 0; seen.Len() < maxSniff && frames < maxSniffFrames; frames++ {
		before := seen.Len()
		f, err := fr.ReadFrame()
		if err != nil {
			return nil, nil, err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() && !acked {
				acked = true
				seen.Truncate(before) // ours: the servers never see it
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				// Keepalive of an idle gRPC client: answered here, as the
				// server would.
				if err := fr.WritePing(true, f.Data); err != nil {
					return nil, nil, err
				}
				seen.Truncate(before)
			}
		case *http2.MetaHeadersFrame:
			to := d.http
			if f.PseudoValue("method") == "POST" && isGRPC(f.Fields) {
				to = d.grpc
			}
			rc := &replayConn{Conn: c, pending: seen.Bytes()}
			if !acked {
				if to == d.grpc {
					return to, rc, nil // grpc-go ignores an unexpected ACK
				}
				return to, &ackFilterConn{Conn: rc}, nil
			}
			return to, rc, nil
		}
	}
	return d.http, &replayConn{Conn: c, pending: seen.Bytes()}, nil
}

func isGRPC(fields []hpack.HeaderField) bool {
	for _, f := range fields {
		if f.Name == "content-type" {
			return strings.HasPrefix(f.Value, "application/grpc")
		}
	}
	return false
}

// looksLikeHTTP reports whether a TLS record header is the start of a
// plaintext HTTP request (as net/http tells it).
func looksLikeHTTP(hdr []byte) bool {
	switch string(hdr) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// replayConn reads pending before the connection.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// ackFilterConn removes the first SETTINGS ACK from an HTTP/2 client's
// frames (after the preface) and then passes everything through: until
// then it reads frame headers, at the cost of one copy.
type ackFilterConn struct {
	net.Conn
	preface int     // preface bytes passed
	hdr     [9]byte // frame header being read
	nhdr    int     // bytes of hdr read
	skip    int     // payload bytes of the current frame still to pass
	done    bool    // the ACK was dropped
	out     []byte  // kept bytes not yet returned
}

func (c *ackFilterConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 && !c.done {
		n, err := c.Conn.Read(p)
		c.filter(p[:n])
		if err != nil && len(c.out) == 0 {
			return 0, err
		}
	}
	if len(c.out) > 0 {
		n := copy(p, c.out)
		c.out = c.out[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// filter appends to c.out what of b is kept.
func (c *ackFilterConn) filter(b []byte) {
	for len(b) > 0 {
		switch {
		case c.done:
			c.out = append(c.out, b...)
			return
		case c.preface < len(http2Preface):
			n := min(len(http2Preface)-c.preface, len(b))
			c.out = append(c.out, b[:n]...)
			c.preface += n
			b = b[n:]
		case c.skip > 0:
			n := min(c.skip, len(b))
			c.out = append(c.out, b[:n]...)
			c.skip -= n
			b = b[n:]
		default:
			n := copy(c.hdr[c.nhdr:], b)
			c.nhdr += n
			b = b[n:]
			if c.nhdr < len(c.hdr) {
				continue
			}
			c.nhdr = 0
			length := int(c.hdr[0])<<16 | int(c.hdr[1])<<8 | int(c.hdr[2])
			if http2.FrameType(c.hdr[3]) == http2.FrameSettings && http2.Flags(c.hdr[4]).Has(http2.FlagSettingsAck) {
				c.done = true // dropped
				continue
			}
			c.out = append(c.out, c.hdr[:]...)
			c.skip = length
		}
	}
}

// chanListener is a net.Listener fed by the dispatcher.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
	err   error
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) hand(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *chanListener) fail(err error) {
	l.once.Do(func() { l.err = err; close(l.done) })
}

// Accept implements net.Listener.
func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

// Close implements net.Listener; the dispatcher's inner listener stays.
func (l *chanListener) Close() error {
	l.fail(net.ErrClosed)
	return nil
}

// Addr implements net.Listener.
func (l *chanListener) Addr() net.Addr { return l.addr }
