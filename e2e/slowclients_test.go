package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rm "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"

	"warden/server"
)

// slowClient is how one trickling connection ended.
type slowClient struct {
	status string        // the response's status line; "" when closed without one
	after  time.Duration // from the end of its headers to the response or close
}

// TestAttackSlowClients replays issue 9 hole e: far more connections than
// the limit send their headers and then trickle a body, a byte every 100 ms
// (before the fix 21,000 of them exhausted the file descriptors and took
// /healthz down). Each one served is cut after the read timeout and no more
// are served than the limit; the others are turned away at once. Meanwhile
// /healthz answers on a new connection, REST and gRPC calls on connections
// established before, each within a bound.
func TestAttackSlowClients(t *testing.T) {
	const (
		limit       = 32
		attackers   = 300
		readTimeout = 4 * time.Second
		trickleFor  = 15 * time.Second // longer than any bound below
		bound       = 2 * time.Second  // for a probe's answer
	)
	n := start(t, t.TempDir(), "", func(c *server.Config) {
		c.ReadTimeout, c.WriteTimeout, c.MaxConnections = readTimeout, 10*time.Second, limit
	})
	tok := n.iamToken()
	restClient := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}}
	listClouds := func() (int, time.Duration) {
		req, _ := http.NewRequest("GET", "http://"+n.addr+"/resource-manager/v1/clouds", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		t0 := time.Now()
		resp, err := restClient.Do(req)
		if err != nil {
			t.Errorf("list clouds: %v", err)
			return 0, time.Since(t0)
		}
		io.Copy(io.Discard, resp.Body) // so that the connection is kept
		resp.Body.Close()
		return resp.StatusCode, time.Since(t0)
	}
	clouds := rm.NewCloudServiceClient(sdkConn(t, n.addr))
	grpcList := func() (time.Duration, error) {
		ctx, cancel := context.WithTimeout(bearerCtx(tok), 10*time.Second)
		defer cancel()
		t0 := time.Now()
		_, err := clouds.List(ctx, &rm.ListCloudsRequest{})
		return time.Since(t0), err
	}
	// Both connections exist before the attack.
	if code, _ := listClouds(); code != http.StatusOK {
		t.Fatalf("list clouds before the attack: %d", code)
	}
	if _, err := grpcList(); err != nil {
		t.Fatalf("gRPC list clouds before the attack: %v", err)
	}

	var settled atomic.Int32 // attackers answered or closed
	results := make([]slowClient, attackers)
	var wg sync.WaitGroup
	for i := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = trickle(t, n.addr, trickleFor)
			settled.Add(1)
		}()
	}
	// Every attacker beyond the limit is turned away promptly; the limit's
	// worth stays, trickling.
	deadline := time.Now().Add(10 * time.Second)
	for settled.Load() < attackers-limit && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := settled.Load(); got < attackers-limit {
		t.Fatalf("%d of %d trickling connections are still held after 10 s, want at most %d (the limit)", attackers-got, attackers, limit)
	}

	// While they are held, health and API answer within the bound.
	if code, took := get(t, "http://"+n.addr+"/healthz"); code != http.StatusOK || took > bound {
		t.Errorf("/healthz during the attack: %d in %v, want 200 within %v", code, took, bound)
	}
	if code, took := listClouds(); code != http.StatusOK || took > bound {
		t.Errorf("REST list clouds during the attack: %d in %v, want 200 within %v", code, took, bound)
	}
	if took, err := grpcList(); err != nil || took > bound {
		t.Errorf("gRPC list clouds during the attack: %v in %v, want OK within %v", err, took, bound)
	}
	if settled.Load() == attackers {
		t.Fatal("the trickling connections were all gone before the probes ended: the probes proved nothing")
	}

	wg.Wait()
	var cut, shed int
	for _, r := range results {
		switch {
		case strings.Contains(r.status, " 503 ") || r.status == "" && r.after < readTimeout/2:
			shed++
		case r.after < readTimeout-100*time.Millisecond || r.after > readTimeout+5*time.Second:
			t.Errorf("a trickling connection ended after %v with %q, want it cut at the read timeout %v", r.after, r.status, readTimeout)
		default:
			cut++
		}
	}
	if cut == 0 || cut > limit {
		t.Errorf("%d trickling connections were served until the read timeout, want 1 to %d (the limit)", cut, limit)
	}
	t.Logf("%d cut at the read timeout, %d turned away", cut, shed)

	// The process stood: a new connection is served normally.
	if code, _ := get(t, "http://"+n.addr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after the attack: %d", code)
	}
	if r := n.rest("GET", "/resource-manager/v1/clouds", tok, nil); r.status != http.StatusOK {
		t.Errorf("list clouds on a new connection after the attack: %d %s", r.status, r.raw)
	}
	if took, err := grpcList(); err != nil {
		t.Errorf("gRPC list clouds after the attack (%v): %v", took, err)
	}
}

// trickle sends a request's headers announcing a 100 kB body, then one
// byte every 100 ms for at most d, and reports how the server ended it.
func trickle(t *testing.T, addr string, d time.Duration) slowClient {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Errorf("dial: %v", err)
		return slowClient{}
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d + 5*time.Second))
	_, err = c.Write([]byte("POST /iam/v1/serviceAccounts HTTP/1.1\r\nHost: warden\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"))
	t0 := time.Now()
	if err != nil {
		return slowClient{after: time.Since(t0)}
	}
	answered := make(chan slowClient, 1)
	go func() {
		line, _ := bufio.NewReader(c).ReadString('\n')
		answered <- slowClient{status: strings.TrimSpace(line), after: time.Since(t0)}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	stop := time.After(d)
	for {
		select {
		case r := <-answered:
			return r
		case <-stop:
			return slowClient{status: "still open", after: time.Since(t0)}
		case <-tick.C:
			c.Write([]byte(" ")) // an error shows up as the reader's EOF
		}
	}
}

// get returns the status of GET url on a new connection and how long it took.
func get(t *testing.T, url string) (int, time.Duration) {
	t0 := time.Now()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return 0, time.Since(t0)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(t0)
}
