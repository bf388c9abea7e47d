package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"warden"
	"warden/authn"
	"warden/storage/sqlite"
	"warden/token"
)

type loginFixture struct {
	t     *testing.T
	s     *Service
	clock *testClock
	admin string
}

const testPassword = "correct-horse-battery"

func newLoginFixture(t *testing.T, limits LoginLimits) *loginFixture {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir()+"/w.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	s, err := New(Config{Store: store, Sealer: mustSealer(t), Now: clk.now, Logins: limits, OAuthTokenLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	boot, err := s.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithSubject(context.Background(), SubjectOf(token.SubjectUserAccount, boot.AdminID))
	if err := s.SetPassword(ctx, boot.AdminID, "", testPassword); err != nil {
		t.Fatal(err)
	}
	s.logins.pause = 0 // the clock is the test's: no real-time pause
	return &loginFixture{t: t, s: s, clock: clk, admin: boot.AdminID}
}

// login logs in and returns the error's code ("" on success) and, for a
// throttled answer, its RetryAfter.
func (f *loginFixture) login(login, password, address string) (warden.Code, time.Duration) {
	f.t.Helper()
	_, err := f.s.Login(context.Background(), LoginRequest{Login: login, Password: password, ClientAddress: address})
	var retry time.Duration
	var we *warden.Error
	if errors.As(err, &we) {
		retry = we.RetryAfter
	}
	return warden.ErrorCode(err), retry
}

func TestLoginThrottlesPerAccount(t *testing.T) {
	f := newLoginFixture(t, LoginLimits{PerAccount: 3, PerAddress: 100})
	for i := range 3 {
		if code, _ := f.login("admin", "wrong", fmt.Sprintf("10.0.0.%d:1234", i)); code != warden.Unauthenticated {
			t.Fatalf("wrong password %d: %q", i, code)
		}
	}
	// Throttled before any check, from any address, the right password too.
	code, retry := f.login("admin", testPassword, "10.9.9.9:1")
	if code != warden.ResourceExhausted || retry != time.Second {
		t.Fatalf("fourth try: %q retry %s, want resource_exhausted after 1s", code, retry)
	}
	f.clock.advance(time.Second)
	if code, _ := f.login("admin", testPassword, "10.9.9.9:1"); code != "" {
		t.Fatalf("right password after the wait: %q", code)
	}
	// Success reset the count.
	if code, _ := f.login("admin", "wrong", "10.9.9.9:1"); code != warden.Unauthenticated {
		t.Errorf("a failure after a success: %q", code)
	}
	for result, want := range map[string]float64{loginThrottled: 1, loginSuccess: 1, loginFailure: 4, loginBusy: 0} {
		if got := loginsTotal(t, f.s, result); got != want {
			t.Errorf("warden_logins_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}

// TestUnknownLoginsThrottledAlike: an unknown login is throttled exactly
// like a real one, keyed by its normalised form.
func TestUnknownLoginsThrottledAlike(t *testing.T) {
	f := newLoginFixture(t, LoginLimits{PerAccount: 2, PerAddress: 100})
	f.login("Nobody", "x", "10.0.0.1:1")
	f.login(" nobody ", "x", "10.0.0.2:1")
	if code, retry := f.login("NOBODY", "x", "10.0.0.3:1"); code != warden.ResourceExhausted || retry <= 0 {
		t.Errorf("third try of one unknown login: %q, %s", code, retry)
	}
}

func TestLoginThrottlesPerAddress(t *testing.T) {
	f := newLoginFixture(t, LoginLimits{PerAccount: 100, PerAddress: 3})
	for i := range 3 {
		f.login(fmt.Sprint("user-", i), "x", "192.0.2.7:4000")
	}
	if code, _ := f.login("admin", testPassword, "192.0.2.7:4001"); code != warden.ResourceExhausted {
		t.Errorf("fourth login from one address: %q", code)
	}
	// Another address, and the same IPv6 /64 counted as one.
	if code, _ := f.login("admin", testPassword, "192.0.2.8:4000"); code != "" {
		t.Errorf("another address: %q", code)
	}
	for i := range 3 {
		f.login(fmt.Sprint("v6-", i), "x", fmt.Sprintf("[2001:db8:1:2::%d]:443", i+1))
	}
	if code, _ := f.login("admin", testPassword, "[2001:db8:1:2:ffff::9]:443"); code != warden.ResourceExhausted {
		t.Errorf("a fourth address of one /64: %q", code)
	}
}

func TestLoginLogForm(t *testing.T) {
	f := newLoginFixture(t, LoginLimits{})
	pasted := "Tr0ub4dor&3-" + strings.Repeat("x", 60_000)
	res, err := f.s.Login(context.Background(), LoginRequest{Login: pasted, Password: "x", ClientAddress: "10.0.0.1:1"})
	if err == nil {
		t.Fatal("login succeeded")
	}
	if strings.Contains(res.Login, "Tr0ub4dor") || len(res.Login) > 80 || res.UserAccountID != "" {
		t.Errorf("log form of an unknown login = %q (%d bytes), account %q", res.Login[:min(len(res.Login), 80)], len(res.Login), res.UserAccountID)
	}
	if !strings.Contains(res.Login, "60012 bytes") {
		t.Errorf("log form %q does not give the length", res.Login)
	}
	// The request's log line takes the reason, which has the log form only.
	if reason := authn.Reason(err); strings.Contains(reason, "Tr0ub4dor") || !strings.Contains(reason, res.Login) {
		t.Errorf("reason %.100q", reason)
	}
	again, _ := f.s.Login(context.Background(), LoginRequest{Login: pasted, Password: "x"})
	if again.Login != res.Login {
		t.Errorf("one login, two tags: %q, %q", res.Login, again.Login)
	}
	res, _ = f.s.Login(context.Background(), LoginRequest{Login: "admin", Password: "wrong"})
	if res.Login != "admin" || res.UserAccountID != f.admin {
		t.Errorf("log form of a known login = %q, %q", res.Login, res.UserAccountID)
	}
}

// TestLoginTokenLifetime: the token a login returns lives as configured.
func TestLoginTokenLifetime(t *testing.T) {
	f := newLoginFixture(t, LoginLimits{})
	res, err := f.s.Login(context.Background(), LoginRequest{Login: "admin", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.exchangeOAuthToken(context.Background(), res.OAuthToken.Reveal()); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	f.clock.advance(time.Hour)
	if _, _, err := f.s.exchangeOAuthToken(context.Background(), res.OAuthToken.Reveal()); !warden.IsCode(err, warden.Unauthenticated) {
		t.Errorf("token after its hour: %v", err)
	}
}

func TestOAuthTokenLifetimeBounds(t *testing.T) {
	for _, d := range []time.Duration{time.Second, MaxOAuthTokenLifetime + time.Hour} {
		if _, err := New(Config{Store: nopStore{}, Sealer: mustSealer(t), OAuthTokenLifetime: d}); err == nil {
			t.Errorf("lifetime %s accepted", d)
		}
	}
}

// loginsTotal reads warden_logins_total{result} from the service's
// collectors, as /metrics would.
func loginsTotal(t *testing.T, s *Service, result string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "warden_logins_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("warden_logins_total{result=%q} not exported", result)
	return 0
}

// TestRevokeOAuthTokens: the helper a password change calls deletes every
// OAuth token of the user and nothing else.
func TestRevokeOAuthTokens(t *testing.T) {
	f := newLoginFixture(t, LoginLimits{})
	ctx := context.Background()
	var toks []string
	for range 3 {
		res, err := f.s.Login(ctx, LoginRequest{Login: "admin", Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, res.OAuthToken.Reveal())
	}
	if err := f.s.store.Update(ctx, func(tx warden.Tx) error { _, err := f.s.revokeOAuthTokens(ctx, tx, f.admin); return err }); err != nil {
		t.Fatal(err)
	}
	for i, tok := range toks {
		if _, _, err := f.s.exchangeOAuthToken(ctx, tok); !warden.IsCode(err, warden.Unauthenticated) {
			t.Errorf("token %d after revokeOAuthTokens: %v", i, err)
		}
	}
	if _, err := f.s.Login(ctx, LoginRequest{Login: "admin", Password: testPassword}); err != nil {
		t.Errorf("the password went with the tokens: %v", err)
	}
}
