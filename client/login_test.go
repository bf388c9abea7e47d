package client_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rm "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"warden/client"
	"warden/server"
)

func startWardend(t *testing.T, password string) (*server.Main, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	m, err := server.Open(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.DiscardHandler), AdminPassword: password})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; m.Close() })
	return m, dir
}

func TestAgainstWardend(t *testing.T) {
	m, dir := startWardend(t, "first-password")
	ctx := context.Background()

	tok, err := client.Login(ctx, m.Addr(), "admin", "first-password")
	if err != nil || !strings.HasPrefix(tok, "y0_") {
		t.Fatalf("Login = %q, %v", tok, err)
	}
	for _, tc := range []struct{ login, password string }{{"admin", "wrong"}, {"nobody", "first-password"}, {"", ""}} {
		if _, err := client.Login(ctx, m.Addr(), tc.login, tc.password); status.Code(err) != codes.Unauthenticated && status.Code(err) != codes.InvalidArgument {
			t.Errorf("Login(%q, %q): %v (code %v), want a rejection", tc.login, tc.password, err, status.Code(err))
		}
	}

	// The bootstrap token file works as an OAuth token too, until the
	// password changes.
	b, err := os.ReadFile(filepath.Join(dir, server.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := client.Dial(ctx, client.Config{Endpoint: m.Addr(), OAuthToken: strings.TrimSpace(string(b))})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Token(ctx); err != nil {
		t.Errorf("exchange the bootstrap token: %v", err)
	}

	c, err := client.Dial(ctx, client.Config{Endpoint: "http://" + m.Addr(), OAuthToken: tok})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	clouds, err := c.Clouds.List(ctx, &rm.ListCloudsRequest{})
	if err != nil || len(clouds.Clouds) != 1 {
		t.Fatalf("List clouds = %v, %v", clouds, err)
	}
	_, err = c.Folders.Get(ctx, &rm.GetFolderRequest{FolderId: "b1fnosuchfolder00000"})
	if status.Code(err) != codes.NotFound || strings.Contains(err.Error(), "rpc error") {
		t.Errorf("Get of a missing folder: %q (code %v)", err, status.Code(err))
	}

	admin := m.Bootstrap().AdminID
	if err := c.SetPassword(ctx, admin, "", "second-password"); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("SetPassword of one's own without the current password: %v, want InvalidArgument", err)
	}
	if err := c.SetPassword(ctx, admin, "wrong-password", "second-password"); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("SetPassword of one's own with a wrong current password: %v, want PermissionDenied", err)
	}
	if err := c.SetPassword(ctx, admin, "first-password", "second-password"); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	// The change revoked every OAuth token of the admin, the bootstrap one
	// included: log in again.
	c2.Close()
	c2, err = client.Dial(ctx, client.Config{Endpoint: m.Addr(), OAuthToken: strings.TrimSpace(string(b))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Token(ctx); status.Code(err) != codes.Unauthenticated {
		t.Errorf("exchange the bootstrap token after a password change: %v, want Unauthenticated", err)
	}
	tok, err = client.Login(ctx, m.Addr(), "admin", "second-password")
	if err != nil {
		t.Fatalf("Login with the new password: %v", err)
	}
	c, err = client.Dial(ctx, client.Config{Endpoint: "http://" + m.Addr(), OAuthToken: tok})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetPassword(ctx, "ajunosuchuser0000000", "", "x-password"); status.Code(err) != codes.NotFound {
		t.Errorf("SetPassword of a missing user: %v", err)
	}

	if _, err := client.Login(ctx, "127.0.0.1:1", "admin", "x"); status.Code(err) != codes.Unavailable {
		t.Errorf("Login to nowhere: %v", err)
	}
}
