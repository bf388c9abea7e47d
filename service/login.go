package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"warden"
	"warden/audit"
	"warden/authn"
	"warden/secret"
	"warden/throttle"
	"warden/token"
)

// LoginLimits tunes the throttling of failed password logins; zero fields
// take the defaults named.
type LoginLimits struct {
	// PerAccount is how many failed logins in a row one login name may
	// have before each further one must wait (1 s, doubling); 5 when zero.
	// Unknown logins count too, so the answer does not tell which exist.
	PerAccount int
	// PerAddress is the same for one client address (an IPv6 /64); 20
	// when zero: several users may share one address.
	PerAddress int
	// MaxBackoff caps the wait; 5 min when zero.
	MaxBackoff time.Duration
}

// LoginRequest is a password login.
type LoginRequest struct {
	Login    string
	Password string
	// ClientAddress is the caller's address as the transport saw it (IP
	// or IP:port); failures are throttled per address as well as per
	// login. Empty or unparsable: per login only.
	ClientAddress string
}

// LoginResult is what a login tells its transport.
type LoginResult struct {
	// OAuthToken is the new token (set on success only).
	OAuthToken secret.String
	// UserAccountID is the account the login named, also when the login
	// failed. It is for the log line only: telling it to the caller would
	// say which logins exist.
	UserAccountID string
	// Login is the login as it may be logged: the login itself when it
	// named an account, otherwise (and when refused before the lookup) only
	// its length and a tag that groups attempts on one login in this
	// process's log. A password typed into the login field must not land
	// in the log.
	Login string
}

// Login results, the values of warden_logins_total{result}.
const (
	loginSuccess   = "success"
	loginFailure   = "failure"
	loginThrottled = "throttled"
	loginBusy      = "busy"
)

// maxLoginLength bounds the logins looked up in the database; a longer
// one names no account but costs the same password check.
const maxLoginLength = 256

// loginGuard holds what protects Login: the throttles, the counter and the
// key of the log tags.
type loginGuard struct {
	accounts  *throttle.Throttle
	addresses *throttle.Throttle
	total     *prometheus.CounterVec
	tagKey    []byte
	// pause is how long a throttled login is held before its answer, at
	// most: a client that ignores Retry-After then gets one answer a
	// second per request in flight instead of thousands, each of which
	// would cost the server CPU that its other callers need.
	pause time.Duration
}

func newLoginGuard(limits LoginLimits, now func() time.Time) (*loginGuard, error) {
	if limits.PerAccount < 0 || limits.PerAddress < 0 || limits.MaxBackoff < 0 {
		return nil, fmt.Errorf("service: negative login limit in %+v", limits)
	}
	if limits.PerAddress == 0 {
		limits.PerAddress = 20
	}
	accounts, err := throttle.New(throttle.Config{Free: limits.PerAccount, Max: limits.MaxBackoff, Now: now})
	if err != nil {
		return nil, fmt.Errorf("service: login limits: %w", err)
	}
	addresses, err := throttle.New(throttle.Config{Free: limits.PerAddress, Max: limits.MaxBackoff, Now: now})
	if err != nil {
		return nil, fmt.Errorf("service: login limits: %w", err)
	}
	total := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "warden_logins_total",
		Help: "Password logins by result: success, failure (wrong or unknown login or password), throttled (too many failures), busy (no password-hashing slot free).",
	}, []string{"result"})
	for _, r := range []string{loginSuccess, loginFailure, loginThrottled, loginBusy} {
		total.WithLabelValues(r)
	}
	return &loginGuard{accounts: accounts, addresses: addresses, total: total, tagKey: secret.RandomBytes(32), pause: time.Second}, nil
}

// collectors are the login metrics: the counter, and the process-wide
// password-hashing limiter's occupancy.
func (g *loginGuard) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		g.total,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "warden_password_hashes_in_progress", Help: "argon2id computations running now (64 MiB each).",
		}, func() float64 { return float64(secret.Passwords().InUse()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "warden_password_hash_slots", Help: "argon2id computations allowed at once (--max-password-hashes).",
		}, func() float64 { return float64(secret.Passwords().Slots()) }),
	}
}

// Login checks a local user's password and returns a new OAuth token.
// Failures answer Unauthenticated, the same whatever was wrong; a login or
// client address with too many recent failures, or a server with every
// password-hashing slot taken, answers ResourceExhausted with RetryAfter —
// before any hashing. Every refusal is an *authn.Error whose reason (with
// the login's log form, never the login itself) goes to the request's log
// line. The password is checked outside any transaction: argon2id takes a
// quarter of a second and 64 MiB, and a write transaction held that long
// blocks every other writer.
func (s *Service) Login(ctx context.Context, req LoginRequest) (LoginResult, error) {
	res := LoginResult{Login: s.logins.logForm(req.Login, false)}
	account, address := accountKey(req.Login), addressKey(req.ClientAddress)
	if wait, err := s.logins.attempt(ctx, account, address); err != nil {
		return res, loginRefusal(res, "throttled", fmt.Sprintf("throttled for %s", wait.Round(time.Second)), err)
	}
	userID, hash, setAt, err := s.passwordOf(ctx, req.Login)
	if err != nil {
		s.logins.undo(account, address)
		return res, err
	}
	if userID != "" {
		res.UserAccountID, res.Login = userID, s.logins.logForm(req.Login, true)
	}
	if hash == "" {
		// Spend the time of a real check so that timing does not tell
		// which logins exist.
		hash = secret.DummyPasswordHash
	}
	ok, err := s.verifyPassword(ctx, hash, req.Password)
	if err != nil {
		s.logins.undo(account, address)
		if warden.IsCode(err, warden.ResourceExhausted) {
			s.logins.total.WithLabelValues(loginBusy).Inc()
			return res, loginRefusal(res, "busy", "no password-hashing slot came free", err)
		}
		return res, err
	}
	if !ok || userID == "" {
		s.logins.total.WithLabelValues(loginFailure).Inc()
		if userID == "" {
			return res, loginRefusal(res, "unknown_login", "no active user account has this login", nil)
		}
		return res, loginRefusal(res, "wrong_password", "wrong password", nil)
	}
	s.logins.accounts.Succeeded(account)
	if address != "" {
		s.logins.addresses.Undo(address)
	}
	if s.passwordExpired(setAt) {
		// Told only to whoever gave the right password: the answer says
		// nothing to a guesser.
		s.logins.total.WithLabelValues(loginFailure).Inc()
		return res, loginRefusal(res, "password_expired", "the password is older than the maximum age",
			warden.Errorf(warden.FailedPrecondition, "password expired: it is older than the server's maximum password age; ask an administrator to set a new one (warden organization-manager user set-password)"))
	}
	audit.CallFrom(ctx).SetIssued(audit.Issued{SubjectType: token.SubjectUserAccount, SubjectID: userID, Credential: "password"})
	err = s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		// The account may have been suspended since it was read.
		u, err := tx.GetResource(ctx, userID)
		if warden.IsCode(err, warden.NotFound) || (err == nil && u.Status != warden.StatusActive) {
			return loginRefusal(res, "inactive", "the account was suspended or deleted during the login", nil)
		}
		if err != nil {
			return err
		}
		ch.on(ctx, tx, userID)
		res.OAuthToken, err = s.newOAuthToken(ctx, tx, userID, "login")
		return err
	})
	if err != nil {
		return res, err
	}
	s.logins.total.WithLabelValues(loginSuccess).Inc()
	return res, nil
}

// loginRefusal is a refused login: answered with answer
// (warden.ErrUnauthenticated when nil), logged as "password: login <log
// form>: <detail>".
func loginRefusal(res LoginResult, label, detail string, answer error) error {
	return &authn.Error{Credential: "password", Refusal: &authn.Refusal{Label: label, Detail: "login " + res.Login + ": " + detail, Answer: answer}}
}

// passwordOf reads the active user account a login names, its password
// hash and when it was set, in a read-only transaction; "" for either when
// there is none.
func (s *Service) passwordOf(ctx context.Context, login string) (userID, hash string, setAt time.Time, err error) {
	if login == "" || len(login) > maxLoginLength {
		return "", "", time.Time{}, nil
	}
	err = s.store.View(ctx, func(tx warden.Tx) error {
		users, _, err := tx.ListResources(ctx, warden.ResourceFilter{Type: warden.TypeUserAccount, Name: login, Page: warden.Page{Size: 1}})
		if err != nil || len(users) != 1 || users[0].Status != warden.StatusActive {
			return err
		}
		userID = users[0].ID
		creds, _, err := tx.ListCredentials(ctx, userID, warden.CredPassword, warden.Page{Size: 1})
		if err == nil && len(creds) == 1 {
			hash, setAt = string(creds[0].Hash), creds[0].CreatedAt
		}
		return err
	})
	return userID, hash, setAt, err
}

// attempt asks both throttles; a refusal by either counts in neither, and
// is answered after the pause. It returns how long the caller must still
// wait and the error to answer.
func (g *loginGuard) attempt(ctx context.Context, account, address string) (time.Duration, error) {
	wait := g.accounts.Attempt(account)
	if wait == 0 && address != "" {
		if wait = g.addresses.Attempt(address); wait > 0 {
			g.accounts.Undo(account)
		}
	}
	if wait == 0 {
		return 0, nil
	}
	g.total.WithLabelValues(loginThrottled).Inc()
	pause := min(wait, g.pause)
	t := time.NewTimer(pause)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return wait, ctx.Err()
	}
	// One message for the login and the address, for known and unknown
	// logins alike.
	return wait, &warden.Error{Code: warden.ResourceExhausted, Message: "too many failed logins: retry later", RetryAfter: max(wait-pause, time.Second)}
}

// undo takes back an attempt that was not a verdict on the password.
func (g *loginGuard) undo(account, address string) {
	g.accounts.Undo(account)
	if address != "" {
		g.addresses.Undo(address)
	}
}

// accountKey is the throttle key of a login: a digest of its normalised
// form, so that case or spaces do not dodge the throttle and a 60 KB
// login holds 16 bytes.
func accountKey(login string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(login))))
	return string(sum[:16])
}

// addressKey is the throttle key of a client address: the IPv4 address,
// or the /64 of an IPv6 one (a single host is handed a whole /64). ""
// when there is none.
func addressKey(clientAddress string) string {
	a, err := netip.ParseAddr(clientAddress)
	if err != nil {
		ap, err := netip.ParseAddrPort(clientAddress)
		if err != nil {
			return ""
		}
		a = ap.Addr()
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// logForm is how a login appears in the log: as is when it named an
// account (an account name is no secret), otherwise only its length and a
// keyed tag. An unknown login may be a password typed into the wrong
// field; the tag, keyed per process, cannot be checked against guesses.
func (g *loginGuard) logForm(login string, known bool) string {
	if known {
		return login
	}
	mac := hmac.New(sha256.New, g.tagKey)
	mac.Write([]byte(login))
	return fmt.Sprintf("(withheld: %d bytes, tag %s)", len(login), hex.EncodeToString(mac.Sum(nil)[:4]))
}
