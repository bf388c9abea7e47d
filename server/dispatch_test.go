package server

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestDispatcherOnePort: gRPC over h2c reaches the native grpc-go server,
// REST over HTTP/1.1 and over h2c (whose client acknowledges the
// dispatcher's SETTINGS) reaches net/http, all on one port.
func TestDispatcherOnePort(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := newDispatcher(lis, nil, 5*time.Second, 5*time.Second)
	go d.serve()
	defer d.Close()

	var viaHTTP atomic.Int64
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, health.NewServer())
	go gs.Serve(d.grpc)
	defer gs.Stop()
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		viaHTTP.Add(1)
		if r.ProtoMajor == 2 && r.Header.Get("Content-Type") == "application/grpc" {
			gs.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Write(append([]byte(r.Proto+" "), body...))
	})}
	hs.Protocols = new(http.Protocols)
	hs.Protocols.SetHTTP1(true)
	hs.Protocols.SetUnencryptedHTTP2(true)
	go hs.Serve(d.http)
	defer hs.Close()
	addr := lis.Addr().String()

	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	for range 3 {
		if _, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatalf("gRPC: %v", err)
		}
	}
	if n := viaHTTP.Load(); n != 0 {
		t.Fatalf("%d gRPC calls went through net/http, want 0 (native listener)", n)
	}

	for _, tc := range []struct {
		name  string
		proto func(*http.Protocols)
		want  string
	}{
		{"HTTP/1.1", func(p *http.Protocols) { p.SetHTTP1(true) }, "HTTP/1.1 hello"},
		{"h2c", func(p *http.Protocols) { p.SetUnencryptedHTTP2(true) }, "HTTP/2.0 hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &http.Transport{Protocols: new(http.Protocols)}
			tc.proto(tr.Protocols)
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			for range 3 { // the same connection: the filtered ACK does not break it
				res, err := c.Post("http://"+addr+"/x", "application/json", bytes.NewReader([]byte("hello")))
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if string(got) != tc.want {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// TestAckFilter: the first SETTINGS ACK after the preface is removed
// however the bytes are split between reads, and nothing else is.
func TestAckFilter(t *testing.T) {
	var in bytes.Buffer
	in.WriteString(http2Preface)
	fr := http2.NewFramer(&in, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	fr.WriteWindowUpdate(0, 1000)
	fr.WriteSettingsAck() // the dispatcher's: dropped
	fr.WriteData(1, false, []byte("payload"))
	fr.WriteSettingsAck() // the server's: kept
	var want bytes.Buffer
	want.WriteString(http2Preface)
	wf := http2.NewFramer(&want, nil)
	wf.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	wf.WriteWindowUpdate(0, 1000)
	wf.WriteData(1, false, []byte("payload"))
	wf.WriteSettingsAck()
	for _, chunk := range []int{1, 2, 5, 9, 10, 4096} {
		a, b := net.Pipe()
		go func() {
			src := in.Bytes()
			for len(src) > 0 {
				n := min(chunk, len(src))
				a.Write(src[:n])
				src = src[n:]
			}
			a.Close()
		}()
		got, err := io.ReadAll(&ackFilterConn{Conn: b})
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("chunks of %d: got %x\nwant %x", chunk, got, want.Bytes())
		}
	}
}

// TestDispatcherBoundsSniffing: a client that sends frames without a
// request (pings, which the dispatcher answers) is handed to net/http after
// a bounded number of them instead of holding the dispatcher.
func TestDispatcherBoundsSniffing(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := newDispatcher(lis, nil, 5*time.Second, 5*time.Second)
	go d.serve()
	defer d.Close()
	c, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		fr := http2.NewFramer(c, nil)
		c.Write([]byte(http2Preface))
		fr.WriteSettings()
		for range maxSniffFrames + 10 {
			if fr.WritePing(false, [8]byte{1}) != nil {
				return
			}
		}
	}()
	go io.Copy(io.Discard, c) // the dispatcher's SETTINGS and ping answers
	accepted := make(chan net.Conn, 1)
	go func() {
		if hc, err := d.http.Accept(); err == nil {
			accepted <- hc
		}
	}()
	select {
	case hc := <-accepted:
		hc.Close()
	case <-time.After(4 * time.Second):
		t.Fatal("a connection of pings only was not handed over within the bound")
	}
}
