package service

import (
	"flag"
	"os"
	"strings"
	"testing"
	"warden"
)

var update = flag.Bool("update", false, "rewrite docs/PERMISSIONS.md from the permission table")

// TestPermissionsDoc keeps docs/PERMISSIONS.md equal to the table the code
// enforces: go test ./service -run TestPermissionsDoc -update rewrites it.
func TestPermissionsDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Permissions\n\nGenerated from `service.Rules` by `go test ./service -run TestPermissionsDoc -update`; the same table is enforced on every call.\n")
	b.WriteString("A method without a rule is refused. Methods callable without a credential: `IamTokenService/Create`, `IamTokenService/Revoke`, `ApiEndpointService/*`, `AccessService/*` (they authenticate what they are given).\n\n")
	b.WriteString("| method | permission | on the resource in | handler check |\n|---|---|---|---|\n")
	for _, r := range Rules {
		perm, field := "—", "—"
		if r.Permission != "" {
			perm, field = "`"+r.Permission+"`", "`"+r.Field+"`"
		}
		b.WriteString("| `" + r.Method + "` | " + perm + " | " + field + " | " + r.Check + " |\n")
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
		t.Errorf("docs/PERMISSIONS.md is stale: run go test ./service -run TestPermissionsDoc -update")
	}
}

// TestEveryRegisteredRuleNamesAKnownPermission: a rule must name a
// permission some role grants, or nobody could ever call the method.
func TestEveryRuleNamesAGrantedPermission(t *testing.T) {
	s, err := New(Config{Store: nopStore{}, Sealer: mustSealer(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rules {
		if r.Permission == "" {
			continue
		}
		if !s.authz.catalog.Grants("admin", r.Permission) {
			t.Errorf("%s needs %s, which not even admin grants", r.Method, r.Permission)
		}
	}
}

// nopStore satisfies warden.Store for tests that never touch it.
type nopStore struct{ warden.Store }
