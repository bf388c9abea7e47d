package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartupFailuresNameTheirCause: every bad flag or unusable resource
// stops postbox with an error naming it, before it serves.
func TestStartupFailuresNameTheirCause(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--warden", "127.0.0.1:8080"}, "endpoint must be an http(s) URL"},
		{[]string{"--access-cache-ttl", "soon"}, "--access-cache-ttl"},
		{[]string{"--access-cache-ttl", "1h"}, "cache TTL"},
		{[]string{"--access-cache-size", "0"}, "--access-cache-size"},
		{[]string{"--data-dir", file}, "data directory"},
		{[]string{"--listen", busy.Addr().String()}, "--listen"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
	} {
		args := append([]string{"--data-dir", dir, "--listen", "127.0.0.1:0"}, c.args...)
		if err := run(context.Background(), args, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("postbox %v: %v, want an error naming %q", c.args, err, c.want)
		}
	}
}

// TestServeAndShutDown: postbox serves on the address it was given and
// stops cleanly when its context ends.
func TestServeAndShutDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	addr := make(chan string, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--warden", "http://127.0.0.1:1"}, func(a string) { addr <- a })
	}()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a
	case err := <-done:
		t.Fatalf("postbox stopped: %v", err)
	}
	resp, err := http.Get(url + "/v2/email/configuration-sets")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Warden is unreachable: refused, never served.
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("x-amzn-ErrorType") != "ServiceUnavailable" {
		t.Errorf("with Warden unreachable: %d %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
