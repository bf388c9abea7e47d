package service

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"warden"
	"warden/audit"
	"warden/authn"
	"warden/secret"
	"warden/token"
)

// Keystone: a domain is a cloud (Selectel's account), a project a folder,
// a user a user account or a service account that has a password. Tokens
// are self-verifying (token.KeystonePrefix) and carry their scope.

// DefaultKeystoneTokenLifetime is how long a Keystone token lives unless
// the operator says otherwise: Selectel's and Keystone's 24 hours.
const DefaultKeystoneTokenLifetime = 24 * time.Hour

// Keystone authentication methods.
const (
	KeystoneMethodPassword = "password"
	KeystoneMethodToken    = "token"
)

// KeystoneRef names a user, domain or project by ID or by name; a name of
// a user or project comes with its domain.
type KeystoneRef struct {
	ID, Name string
	Domain   *KeystoneRef
}

// KeystoneAuth is a request for a Keystone token (POST /v3/auth/tokens).
type KeystoneAuth struct {
	Methods []string
	// User and Password for the password method.
	User     KeystoneRef
	Password string
	// Token is the token of the token method (rescoping).
	Token string
	// Project or Domain is the scope asked for; neither: unscoped.
	Project, Domain *KeystoneRef
	// System is set when the system scope was asked for (refused).
	System bool
	// ClientAddress throttles failures per address, as logins do.
	ClientAddress string
}

// KeystoneToken is an issued or validated Keystone token and what its
// answer names, read from the access snapshot (no database read).
type KeystoneToken struct {
	// Token is the secret (X-Subject-Token); "" when validated.
	Token  string
	Claims *token.Claims
	// User is the subject; UserDomain its domain: a service account's
	// cloud, or for a user account the scope's cloud (the organization
	// when unscoped).
	User, UserDomain KeystoneNamed
	// Project is set for a project-scoped token; Domain for a scoped one:
	// the domain scope itself, or the project's domain.
	Project, Domain *KeystoneNamed
	// Roles are the role IDs the subject holds on the scope.
	Roles []string
}

// KeystoneNamed is a resource's ID and name.
type KeystoneNamed struct{ ID, Name string }

// keystoneMethodNames orders Claims.Methods as Keystone lists them.
var keystoneMethodNames = []struct {
	bit  byte
	name string
}{{token.MethodToken, KeystoneMethodToken}, {token.MethodPassword, KeystoneMethodPassword}}

// Methods returns the authentication methods behind the token.
func (k *KeystoneToken) Methods() []string {
	var out []string
	for _, m := range keystoneMethodNames {
		if k.Claims.Methods&m.bit != 0 {
			out = append(out, m.name)
		}
	}
	return out
}

// AuditIDs returns the token's audit IDs: its own, then the one it was
// rescoped from (as Keystone does), each 22 URL-safe characters.
func (k *KeystoneToken) AuditIDs() []string {
	out := []string{auditID(k.Claims.TokenID)}
	if k.Claims.AuditChain != "" {
		out = append(out, auditID(k.Claims.AuditChain))
	}
	return out
}

func auditID(hexID string) string {
	b, _ := hex.DecodeString(hexID)
	return base64.RawURLEncoding.EncodeToString(b)
}

// keystoneRefusal is a refused Keystone authentication: one answer
// (Unauthenticated) whatever was wrong, the reason for the log.
func keystoneRefusal(label, detail string) error {
	return &authn.Error{Credential: authn.CredKeystoneToken, Refusal: authn.Refuse(label, detail)}
}

// errKeystoneSystemScope answers a request for the system scope.
var errKeystoneSystemScope = warden.Errorf(warden.PermissionDenied, "scope.system: Warden has no system scope; scope to a domain or a project")

// IssueKeystoneToken authenticates a Keystone auth request and issues a
// token with the scope asked for. Every credential failure — unknown user
// or domain, wrong password, a scope that does not exist or where the user
// holds no role, a project of another domain — is the same Unauthenticated;
// the reason goes to the request's log line. Failures are throttled as
// logins are, and the password is checked outside any transaction.
func (s *Service) IssueKeystoneToken(ctx context.Context, req KeystoneAuth) (*KeystoneToken, error) {
	if req.System {
		return nil, errKeystoneSystemScope
	}
	if req.Project != nil && req.Domain != nil {
		return nil, warden.Errorf(warden.InvalidArgument, "scope: a project or a domain, not both")
	}
	if len(req.Methods) != 1 {
		return nil, warden.Errorf(warden.InvalidArgument, "identity.methods: exactly one of %q or %q is supported", KeystoneMethodPassword, KeystoneMethodToken)
	}
	switch req.Methods[0] {
	case KeystoneMethodPassword:
		return s.keystonePassword(ctx, req)
	case KeystoneMethodToken:
		return s.keystoneRescope(ctx, req)
	}
	return nil, warden.Errorf(warden.InvalidArgument, "identity.methods: %q is not supported: use %q or %q", req.Methods[0], KeystoneMethodPassword, KeystoneMethodToken)
}

// keystoneUser is the user as a request names it: the key of its throttle
// (through accountKey) and of the verified passwords.
func keystoneUser(u KeystoneRef) string {
	if u.ID != "" {
		return u.ID
	}
	d := ""
	if u.Domain != nil {
		d = u.Domain.ID + "/" + u.Domain.Name
	}
	return "keystone:" + u.Name + "@" + d
}

// keystoneLookup is what one read of the store finds for a password
// authentication: the user, its password and the scope asked for. A
// failure is kept as a refusal reason, told to nobody before the password
// has been checked.
type keystoneLookup struct {
	user     *warden.Resource
	password *warden.Credential
	scope    *warden.Resource
	refusal  error
}

func (s *Service) keystonePassword(ctx context.Context, req KeystoneAuth) (*KeystoneToken, error) {
	if req.User.ID == "" && (req.User.Name == "" || req.User.Domain == nil) {
		return nil, warden.Errorf(warden.InvalidArgument, "identity.password.user: an id, or a name and a domain, is required")
	}
	user := keystoneUser(req.User)
	if cred, ok := s.verified.check(user, req.Password); ok {
		if k, done, err := s.keystoneVerified(ctx, req, cred); done {
			return k, err
		}
	}
	account, address := accountKey(user), addressKey(req.ClientAddress)
	if wait, err := s.logins.attempt(ctx, account, address); err != nil {
		return nil, &authn.Error{Credential: authn.CredKeystoneToken, Refusal: &authn.Refusal{
			Label: "throttled", Detail: fmt.Sprintf("throttled for %s", wait.Round(time.Second)), Answer: err}}
	}
	var l keystoneLookup
	err := s.store.View(ctx, func(tx warden.Tx) error { return s.keystoneLookup(ctx, tx, req, &l) })
	if err != nil {
		s.logins.undo(account, address)
		return nil, err
	}
	hash := secret.DummyPasswordHash // an unknown user costs a real check's time
	if l.password != nil {
		hash = string(l.password.Hash)
	}
	ok, err := s.verifyPassword(ctx, hash, req.Password)
	if err != nil {
		s.logins.undo(account, address)
		if warden.IsCode(err, warden.ResourceExhausted) {
			s.logins.total.WithLabelValues(loginBusy).Inc()
			return nil, &authn.Error{Credential: authn.CredKeystoneToken, Refusal: &authn.Refusal{Label: "busy", Detail: "no password-hashing slot came free", Answer: err}}
		}
		return nil, err
	}
	switch {
	case l.password == nil:
		s.logins.total.WithLabelValues(loginFailure).Inc()
		return nil, l.refusal
	case !ok:
		s.logins.total.WithLabelValues(loginFailure).Inc()
		return nil, keystoneRefusal("wrong_password", "wrong password for "+l.user.ID)
	}
	s.logins.accounts.Succeeded(account)
	if address != "" {
		s.logins.addresses.Undo(address)
	}
	s.verified.add(user, req.Password, l.password.ID)
	return s.keystoneIssue(ctx, &l)
}

// keystoneVerified issues a token for a password verified lately (see
// verifiedPasswords) when its credential is still the account's password;
// done is false when it is not, and the full check must run.
func (s *Service) keystoneVerified(ctx context.Context, req KeystoneAuth, credentialID string) (k *KeystoneToken, done bool, err error) {
	var l keystoneLookup
	if err := s.store.View(ctx, func(tx warden.Tx) error { return s.keystoneLookup(ctx, tx, req, &l) }); err != nil {
		return nil, true, err
	}
	if l.password == nil || l.password.ID != credentialID {
		return nil, false, nil
	}
	k, err = s.keystoneIssue(ctx, &l)
	return k, true, err
}

// keystoneIssue issues the token of a password authentication that
// succeeded.
func (s *Service) keystoneIssue(ctx context.Context, l *keystoneLookup) (*KeystoneToken, error) {
	s.logins.total.WithLabelValues(loginSuccess).Inc()
	if l.refusal != nil {
		return nil, l.refusal // the scope: the password was right
	}
	if l.user.Type == warden.TypeUserAccount && s.passwordExpired(l.password.CreatedAt) {
		return nil, &authn.Error{Credential: authn.CredKeystoneToken, Refusal: &authn.Refusal{Label: "password_expired", Detail: "the password of " + l.user.ID + " is older than the maximum age",
			Answer: warden.Errorf(warden.FailedPrecondition, "password expired: it is older than the server's maximum password age; ask an administrator to set a new one")}}
	}
	scope := ""
	if l.scope != nil {
		scope = l.scope.ID
	}
	now := s.now().UTC().Truncate(time.Second)
	return s.signKeystone(ctx, token.Claims{
		SubjectType: subjectTypeOf(l.user.Type), SubjectID: l.user.ID, CredentialID: l.password.ID,
		IssuedAt: now, ExpiresAt: now.Add(s.keystoneLifetime), Scope: scope, Methods: token.MethodPassword,
	})
}

// keystoneRescope issues a token for another scope from an unscoped
// token (the token method). A scoped token is not rescoped (Keystone's
// allow_rescope_scoped_token = false): its scope would be no limit if it
// could be traded for a wider one.
func (s *Service) keystoneRescope(ctx context.Context, req KeystoneAuth) (*KeystoneToken, error) {
	if req.Token == "" {
		return nil, warden.Errorf(warden.InvalidArgument, "identity.token.id: required for the token method")
	}
	c, err := s.VerifyKeystoneToken(ctx, req.Token)
	if err != nil {
		return nil, keystoneRefusal(tokenRefusalLabel(err), err.Error())
	}
	if !s.subjectActive(ctx, c.SubjectID) {
		return nil, keystoneRefusal("subject_inactive", "the subject is suspended, expired or deleted")
	}
	if c.Scope != "" {
		return nil, warden.Errorf(warden.PermissionDenied, "identity.token: a scoped token cannot be rescoped; authenticate with a password or an unscoped token")
	}
	var scope *warden.Resource
	err = s.store.View(ctx, func(tx warden.Tx) (err error) {
		scope, err = s.keystoneScope(ctx, tx, req, c.SubjectID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if scope == nil {
		return nil, warden.Errorf(warden.InvalidArgument, "scope: the token method needs a project or a domain")
	}
	chain := c.AuditChain
	if chain == "" {
		chain = c.TokenID
	}
	return s.signKeystone(ctx, token.Claims{
		SubjectType: c.SubjectType, SubjectID: c.SubjectID, CredentialID: c.CredentialID,
		IssuedAt: s.now().UTC().Truncate(time.Second), ExpiresAt: c.ExpiresAt, // a rescoped token lives no longer than its parent
		Scope: scope.ID, Methods: c.Methods | token.MethodToken, AuditChain: chain,
	})
}

func tokenRefusalLabel(err error) string {
	switch {
	case errors.Is(err, token.ErrExpired):
		return "expired"
	case errors.Is(err, token.ErrRevoked):
		return "revoked"
	case errors.Is(err, token.ErrSignature):
		return "bad_signature"
	}
	return "malformed"
}

func subjectTypeOf(t warden.ResourceType) string {
	if t == warden.TypeUserAccount {
		return token.SubjectUserAccount
	}
	return token.SubjectServiceAccount
}

// signKeystone signs c as a Keystone token with the current signing key.
func (s *Service) signKeystone(ctx context.Context, c token.Claims) (*KeystoneToken, error) {
	keyID, priv, err := s.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	c.Keystone, c.KeyID, c.TokenID = true, keyID, hex.EncodeToString(secret.RandomBytes(16))
	tok, err := token.Sign(c, priv)
	if err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	cred := "password"
	if c.CredentialID != "" && !strings.HasPrefix(c.CredentialID, warden.PrefixPassword) {
		cred = credentialType(c.CredentialID)
	}
	audit.CallFrom(ctx).SetIssued(audit.Issued{SubjectType: c.SubjectType, SubjectID: c.SubjectID, Credential: cred, CredentialID: c.CredentialID, TokenID: c.TokenID})
	k, err := s.keystoneView(ctx, &c)
	if err != nil {
		return nil, err
	}
	k.Token = tok
	return k, nil
}

// keystoneLookup reads the user a password request names, its password and
// the scope asked for, recording in l.refusal what was wrong.
func (s *Service) keystoneLookup(ctx context.Context, tx warden.Tx, req KeystoneAuth, l *keystoneLookup) error {
	user, err := s.keystoneUser(ctx, tx, req.User)
	if err != nil {
		if warden.IsCode(err, warden.NotFound) {
			l.refusal = keystoneRefusal("unknown_user", err.Error())
			return nil
		}
		return err
	}
	creds, _, err := tx.ListCredentials(ctx, user.ID, warden.CredPassword, warden.Page{Size: 1})
	if err != nil {
		return err
	}
	if len(creds) == 0 {
		l.refusal = keystoneRefusal("no_password", user.ID+" has no password")
		return nil
	}
	l.user, l.password = user, creds[0]
	l.scope, err = s.keystoneScope(ctx, tx, req, user.ID)
	var refusal *authn.Error
	if errors.As(err, &refusal) {
		l.refusal, err = err, nil
	}
	return err
}

// keystoneUser resolves the user of a password request to an active
// account with a password: by ID, or by name in a domain. NotFound (with
// the reason) otherwise.
func (s *Service) keystoneUser(ctx context.Context, tx warden.Tx, u KeystoneRef) (*warden.Resource, error) {
	if u.ID != "" {
		r, err := tx.GetResource(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		if (r.Type != warden.TypeUserAccount && r.Type != warden.TypeServiceAccount) || !nodeOf(r).ActiveAt(s.now()) {
			return nil, warden.Errorf(warden.NotFound, "%s is not an active account", u.ID)
		}
		if u.Domain != nil {
			// A domain given with an ID must be the user's.
			cloud, err := s.keystoneDomain(ctx, tx, *u.Domain)
			if err != nil {
				return nil, err
			}
			if !s.inDomain(ctx, tx, r, cloud) {
				return nil, warden.Errorf(warden.NotFound, "%s is not in domain %s", r.ID, cloud.ID)
			}
		}
		return r, nil
	}
	cloud, err := s.keystoneDomain(ctx, tx, *u.Domain)
	if err != nil {
		return nil, err
	}
	users, err := s.passwordHolders(ctx, tx, cloud, u.Name, "")
	if err != nil {
		return nil, err
	}
	switch {
	case len(users) == 0:
		return nil, warden.Errorf(warden.NotFound, "no account with a password is named %q in domain %s", u.Name, cloud.ID)
	case len(users) > 1:
		// Setting a password refuses to make a name ambiguous; one that
		// raced past that check logs nobody in rather than a guess.
		return nil, warden.Errorf(warden.NotFound, "%d accounts with a password are named %q in domain %s", len(users), u.Name, cloud.ID)
	}
	if !nodeOf(users[0]).ActiveAt(s.now()) {
		return nil, warden.Errorf(warden.NotFound, "%s is not active", users[0].ID)
	}
	return users[0], nil
}

// inDomain reports whether an account belongs to a domain (a cloud): a
// service account through its folder, a user account through its
// organization (a user is in every cloud of its organization).
func (s *Service) inDomain(ctx context.Context, tx warden.Tx, r, cloud *warden.Resource) bool {
	if r.Type == warden.TypeUserAccount {
		return r.ParentID == cloud.ParentID
	}
	return s.parentOf(ctx, tx, r.ParentID) == cloud.ID
}

// parentOf returns the parent of a resource, from the snapshot or the store.
func (s *Service) parentOf(ctx context.Context, tx warden.Tx, id string) string {
	if n, ok := s.authz.snap.Load().Node(id); ok {
		return n.ParentID
	}
	r, err := tx.GetResource(ctx, id)
	if err != nil {
		return ""
	}
	return r.ParentID
}

// passwordHolders returns the accounts named name in a domain that have a
// password, apart from except: the service accounts of the cloud's folders
// and the user accounts of its organization. A name resolves when exactly
// one holds a password.
func (s *Service) passwordHolders(ctx context.Context, tx warden.Tx, cloud *warden.Resource, name, except string) ([]*warden.Resource, error) {
	var out []*warden.Resource
	add := func(f warden.ResourceFilter) error {
		for {
			rs, next, err := tx.ListResources(ctx, f)
			if err != nil {
				return err
			}
			for _, r := range rs {
				if r.ID == except || !s.inDomain(ctx, tx, r, cloud) {
					continue
				}
				creds, _, err := tx.ListCredentials(ctx, r.ID, warden.CredPassword, warden.Page{Size: 1})
				if err != nil {
					return err
				}
				if len(creds) > 0 {
					out = append(out, r)
				}
			}
			if next == "" {
				return nil
			}
			f.Page.Token = next
		}
	}
	if err := add(warden.ResourceFilter{Type: warden.TypeServiceAccount, Name: name, Page: warden.Page{Size: 1000}}); err != nil {
		return nil, err
	}
	if err := add(warden.ResourceFilter{Type: warden.TypeUserAccount, ParentID: cloud.ParentID, Name: name, Page: warden.Page{Size: 1000}}); err != nil {
		return nil, err
	}
	return out, nil
}

// keystoneDomain resolves a domain reference to a cloud: by ID, or by
// name — a cloud's name, or when no cloud has that name, a cloud's ID
// (Selectel names the domain by account number). A name that several
// organizations' clouds share names none.
func (s *Service) keystoneDomain(ctx context.Context, tx warden.Tx, d KeystoneRef) (*warden.Resource, error) {
	id := d.ID
	if id == "" {
		if d.Name == "" {
			return nil, warden.Errorf(warden.NotFound, "a domain needs an id or a name")
		}
		clouds, _, err := tx.ListResources(ctx, warden.ResourceFilter{Type: warden.TypeCloud, Name: d.Name, Page: warden.Page{Size: 2}})
		if err != nil {
			return nil, err
		}
		switch len(clouds) {
		case 1:
			return clouds[0], nil
		case 2:
			return nil, warden.Errorf(warden.NotFound, "several clouds are named %q", d.Name)
		}
		id = d.Name
	}
	r, err := tx.GetResource(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Type != warden.TypeCloud {
		return nil, warden.Errorf(warden.NotFound, "%s is not a cloud", id)
	}
	return r, nil
}

// keystoneScope resolves the scope of a request (nil when unscoped) and
// checks that the subject holds a role there. Every failure is a refusal:
// the caller learns nothing of projects it has no role on.
func (s *Service) keystoneScope(ctx context.Context, tx warden.Tx, req KeystoneAuth, subjectID string) (*warden.Resource, error) {
	var scope *warden.Resource
	var err error
	switch {
	case req.Domain != nil:
		scope, err = s.keystoneDomain(ctx, tx, *req.Domain)
	case req.Project != nil:
		scope, err = s.keystoneProject(ctx, tx, *req.Project)
	default:
		return nil, nil
	}
	if warden.IsCode(err, warden.NotFound) {
		return nil, keystoneRefusal("unknown_scope", err.Error())
	}
	if err != nil {
		return nil, err
	}
	snap := s.authz.snap.Load()
	if _, ok := snap.Node(scope.ID); !ok {
		s.reloadNow(ctx) // created a moment ago, maybe on another node
		snap = s.authz.snap.Load()
	}
	if !snap.HasRole(subjectID, true, scope.ID) {
		return nil, keystoneRefusal("no_role_on_scope", subjectID+" holds no role on "+scope.ID)
	}
	return scope, nil
}

// keystoneProject resolves a project reference to a folder: by ID (whose
// domain, when given, must be the folder's cloud), or by name in a domain.
func (s *Service) keystoneProject(ctx context.Context, tx warden.Tx, p KeystoneRef) (*warden.Resource, error) {
	var cloud *warden.Resource
	if p.Domain != nil {
		var err error
		if cloud, err = s.keystoneDomain(ctx, tx, *p.Domain); err != nil {
			return nil, err
		}
	}
	if p.ID != "" {
		r, err := tx.GetResource(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		if r.Type != warden.TypeFolder {
			return nil, warden.Errorf(warden.NotFound, "%s is not a folder", p.ID)
		}
		if cloud != nil && r.ParentID != cloud.ID {
			return nil, warden.Errorf(warden.NotFound, "project %s is not in domain %s", r.ID, cloud.ID)
		}
		return r, nil
	}
	if p.Name == "" || cloud == nil {
		return nil, warden.Errorf(warden.NotFound, "a project needs an id, or a name and a domain")
	}
	folders, _, err := tx.ListResources(ctx, warden.ResourceFilter{Type: warden.TypeFolder, ParentID: cloud.ID, Name: p.Name, Page: warden.Page{Size: 1}})
	if err != nil {
		return nil, err
	}
	if len(folders) == 0 {
		return nil, warden.Errorf(warden.NotFound, "no project %q in domain %s", p.Name, cloud.ID)
	}
	return folders[0], nil
}

// VerifyKeystoneToken implements authn.KeystoneVerifier: it checks a
// Keystone token in memory, as VerifyToken does an IAM token.
func (s *Service) VerifyKeystoneToken(ctx context.Context, tok string) (*token.Claims, error) {
	c, err := s.verifier.VerifyKeystone(tok)
	if errors.Is(err, token.ErrUnknownKey) && s.keys.reloadForUnknown(ctx) {
		c, err = s.verifier.VerifyKeystone(tok)
	}
	return c, err
}

// errKeystoneTokenNotFound answers a subject token that is not a valid
// Keystone token, whatever is wrong with it (Keystone's 404).
var errKeystoneTokenNotFound = warden.Errorf(warden.NotFound, "Could not find token.")

// ValidateKeystoneToken checks the token of X-Subject-Token for a caller
// that authenticated with its own credential: NotFound unless it is valid
// and its subject active. Holding a token is the proof needed to read it
// (the holder could present it as X-Auth-Token anyway). No database read.
// The returned claims are shared: callers must not modify them.
func (s *Service) ValidateKeystoneToken(ctx context.Context, tok string) (*token.Claims, error) {
	c, err := s.VerifyKeystoneToken(ctx, tok)
	if err != nil || !s.subjectActive(ctx, c.SubjectID) {
		return nil, s.tokenNotFound(err)
	}
	return c, nil
}

// KeystoneTokenView names what the answer about a valid token names, as of
// the current access snapshot (Snapshot): its user, scope and roles.
func (s *Service) KeystoneTokenView(ctx context.Context, c *token.Claims) (*KeystoneToken, error) {
	return s.keystoneView(ctx, c)
}

func (s *Service) tokenNotFound(cause error) error {
	return &warden.Error{Code: warden.NotFound, Message: errKeystoneTokenNotFound.Message, Cause: cause}
}

// RevokeKeystoneToken revokes the token of X-Subject-Token: every node
// refuses it within the refresh interval, this one at once. Holding the
// token is the proof needed to revoke it; an invalid or already revoked
// token is NotFound, as in Keystone.
func (s *Service) RevokeKeystoneToken(ctx context.Context, tok string) error {
	c, err := s.VerifyKeystoneToken(ctx, tok)
	if err != nil {
		return s.tokenNotFound(err)
	}
	err = s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		ch.on(ctx, tx, c.SubjectID)
		ch.leaf("keystoneToken", c.TokenID)
		return tx.RevokeToken(ctx, warden.RevokedToken{TokenID: c.TokenID, SubjectID: c.SubjectID, RevokedAt: s.now().UTC(), ExpiresAt: c.ExpiresAt})
	})
	if err != nil {
		return err
	}
	s.verifier.Revoke(map[string]time.Time{c.TokenID: c.ExpiresAt})
	return nil
}

// keystoneView names what a token's answer names, from the snapshot (the
// store only for what the snapshot does not know yet).
func (s *Service) keystoneView(ctx context.Context, c *token.Claims) (*KeystoneToken, error) {
	k := &KeystoneToken{Claims: c}
	user, err := s.node(ctx, c.SubjectID)
	if err != nil {
		return nil, err
	}
	k.User = KeystoneNamed{ID: user.ID, Name: user.Name}
	if c.Scope != "" {
		scope, err := s.node(ctx, c.Scope)
		if err != nil {
			return nil, err
		}
		cloud := scope
		if scope.Type == warden.TypeFolder {
			k.Project = &KeystoneNamed{ID: scope.ID, Name: scope.Name}
			if cloud, err = s.node(ctx, scope.ParentID); err != nil {
				return nil, err
			}
		}
		k.Domain = &KeystoneNamed{ID: cloud.ID, Name: cloud.Name}
		k.Roles = s.authz.snap.Load().Roles(c.SubjectID, true, c.Scope)
	}
	switch {
	case user.Type == warden.TypeServiceAccount:
		folder, err := s.node(ctx, user.ParentID)
		if err != nil {
			return nil, err
		}
		cloud, err := s.node(ctx, folder.ParentID)
		if err != nil {
			return nil, err
		}
		k.UserDomain = KeystoneNamed{ID: cloud.ID, Name: cloud.Name}
	case k.Domain != nil:
		k.UserDomain = *k.Domain
	default:
		org, err := s.node(ctx, user.ParentID)
		if err != nil {
			return nil, err
		}
		k.UserDomain = KeystoneNamed{ID: org.ID, Name: org.Name}
	}
	return k, nil
}

// node returns a resource as the snapshot knows it, or from the store when
// it was created since the last refresh.
func (s *Service) node(ctx context.Context, id string) (nodeView, error) {
	if n, ok := s.authz.snap.Load().Node(id); ok {
		return nodeView{ID: n.ID, Type: n.Type, ParentID: n.ParentID, Name: n.Name}, nil
	}
	var r *warden.Resource
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		r, err = tx.GetResource(ctx, id)
		return err
	})
	if err != nil {
		return nodeView{}, err
	}
	return nodeView{ID: r.ID, Type: r.Type, ParentID: r.ParentID, Name: r.Name}, nil
}

type nodeView struct {
	ID       string
	Type     warden.ResourceType
	ParentID string
	Name     string
}
