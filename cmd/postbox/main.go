// Command postbox is the reference resource service: a small Amazon
// SESv2-compatible mail API (configuration sets, email identities,
// SendEmail into files) that asks Warden's access service about every
// request. See package warden/postbox and the README.
//
//	postbox --listen 127.0.0.1:8025 --data-dir ./postbox-data --warden http://127.0.0.1:8080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"warden/postbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], nil); err != nil {
		fmt.Fprintln(os.Stderr, "postbox:", strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
}

// env returns the POSTBOX_* environment value of a flag, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// run serves until ctx ends; ready, if set, is told the address once
// listening (tests pass --listen 127.0.0.1:0).
func run(ctx context.Context, args []string, ready func(addr string)) error {
	var cfg postbox.Config
	var listen, cacheTTL, cacheSize string
	fs := flag.NewFlagSet("postbox", flag.ContinueOnError)
	fs.StringVar(&listen, "listen", env("POSTBOX_LISTEN", "127.0.0.1:8025"), "address to serve the SESv2 API on (env POSTBOX_LISTEN)")
	fs.StringVar(&cfg.DataDir, "data-dir", env("POSTBOX_DATA_DIR", "./postbox-data"), "directory for configuration sets, identities and sent messages (env POSTBOX_DATA_DIR)")
	fs.StringVar(&cfg.Warden, "warden", env("POSTBOX_WARDEN", "http://127.0.0.1:8080"), "Warden's base URL: every request is checked by its access service (env POSTBOX_WARDEN)")
	fs.StringVar(&cfg.SigningRegion, "signing-region", env("POSTBOX_SIGNING_REGION", "ru-central1"), "region SigV4 requests must be signed for, service ses (env POSTBOX_SIGNING_REGION)")
	fs.StringVar(&cacheTTL, "access-cache-ttl", env("POSTBOX_ACCESS_CACHE_TTL", "0s"), "reuse Warden's positive decisions for bearer credentials this long (≤ 1m); a revoked token is refused within it; 0 asks every time (env POSTBOX_ACCESS_CACHE_TTL)")
	fs.StringVar(&cacheSize, "access-cache-size", env("POSTBOX_ACCESS_CACHE_SIZE", "10000"), "most decisions cached; the least recently used go first (env POSTBOX_ACCESS_CACHE_SIZE)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	var err error
	if cfg.CacheTTL, err = time.ParseDuration(cacheTTL); err != nil {
		return fmt.Errorf("--access-cache-ttl: %w", err)
	}
	if cfg.CacheSize, err = strconv.Atoi(cacheSize); err != nil || cfg.CacheSize < 1 {
		return fmt.Errorf("--access-cache-size: want a whole number of at least 1, got %q", cacheSize)
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := postbox.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	cfg.Logger.Info("postbox listening", "addr", ln.Addr().String(), "warden", cfg.Warden, "data_dir", cfg.DataDir)
	if ready != nil {
		ready(ln.Addr().String())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
