package server_test

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"strings"
	"testing"

	"warden/server"
	"warden/service"
)

var update = flag.Bool("update", false, "rewrite docs/PERMISSIONS.md from the routes and the permission table")

// TestEveryRouteRunsUnderARule: every route of the port but the probes
// and metrics runs through the interceptor under a method name; every
// hand-written route's method is public or has a rule in the permission
// table. (Methods of the registered Yandex services that Warden does not
// implement have no rule: the interceptor refuses them.)
func TestEveryRouteRunsUnderARule(t *testing.T) {
	m := open(t)
	rules := map[string]bool{}
	for _, r := range service.Rules {
		rules[r.Method] = true
	}
	for _, r := range m.Routes() {
		if r.Method == "" {
			if !strings.HasSuffix(r.Route, "/healthz") && !strings.HasSuffix(r.Route, "/readyz") && !strings.HasSuffix(r.Route, "/metrics") {
				t.Errorf("%s runs outside the interceptor chain", r.Route)
			}
			continue
		}
		derived := strings.HasPrefix(r.Route, "gRPC ") || strings.HasPrefix(r.Method, "/yandex.") || strings.HasPrefix(r.Method, "/warden.access.")
		if !derived && !rules[r.Method] && !server.IsPublic(r.Method) {
			t.Errorf("%s runs as %s, which has no rule and is not public", r.Route, r.Method)
		}
	}
}

// TestPermissionsDoc keeps docs/PERMISSIONS.md equal to the routes and the
// table the code enforces: go test ./server -run TestPermissionsDoc -update
// rewrites it.
func TestPermissionsDoc(t *testing.T) {
	m := open(t)
	var b strings.Builder
	b.WriteString("# Permissions\n\nGenerated from `service.Rules` and the routes of `wardend` by `go test ./server -run TestPermissionsDoc -update`; the same table is enforced on every call.\n\n")
	b.WriteString("Every route runs through one interceptor chain — the authentication pipeline (package `authn`), this permission table, a request id, one log line and metrics — under the method name given below. A method without a rule is refused. Methods callable without a credential: `IamTokenService/Create`, `IamTokenService/Revoke`, `ApiEndpointService/*`, `AccessService/*`, forward auth's `ForwardAuth/Check` and Envoy's `Authorization/Check` (they authenticate what they are given), `SessionService/Login` (a password login) and Keystone's `VersionService/*`, `TokenService/Issue` (a password or token in the body) and `NotFound` (a /v3 path that does not exist). `/healthz`, `/readyz` and `/metrics` serve probes and scrapes and carry no tenant data.\n\n")
	b.WriteString("## Methods\n\n| method | permission | on the resource in | handler check |\n|---|---|---|---|\n")
	for _, r := range service.Rules {
		perm, field := "—", "—"
		if r.Permission != "" {
			perm, field = "`"+r.Permission+"`", "`"+r.Field+"`"
		}
		b.WriteString("| `" + r.Method + "` | " + perm + " | " + field + " | " + r.Check + " |\n")
	}
	b.WriteString("\n## Routes\n\n| route | runs as |\n|---|---|\n")
	rules := map[string]bool{}
	for _, r := range service.Rules {
		rules[r.Method] = true
	}
	for _, r := range m.Routes() {
		as := "— (no credential)"
		if r.Method != "" {
			as = "`" + r.Method + "`"
			switch {
			case server.IsPublic(r.Method):
				as += " (public)"
			case !rules[r.Method]:
				as += " (not implemented: refused, no rule)"
			}
		}
		b.WriteString("| `" + r.Route + "` | " + as + " |\n")
	}
	const path = "../docs/PERMISSIONS.md"
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(got) != b.String() {
		t.Errorf("docs/PERMISSIONS.md is stale: run go test ./server -run TestPermissionsDoc -update")
	}
}

func open(t *testing.T) *server.Main {
	t.Helper()
	m, err := server.Open(context.Background(), server.Config{
		Listen: "127.0.0.1:0", DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}
