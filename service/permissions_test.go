package service

import (
	"testing"
	"warden"
)

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
