package authn

import (
	"context"
	"errors"
	"strings"

	"warden"
	"warden/sigv4"
	"warden/token"
)

// CredSigV4 is the credential type of requests signed with an
// AWS-compatible access key.
const CredSigV4 = "sigv4"

// AccessKeys finds the owner of an access key id; the sigv4 verifier finds
// its signing key through the same index (sigv4.Keys).
type AccessKeys interface {
	sigv4.Keys
	// Owner returns the account and the credential id behind a verified
	// credential — a static key's owner, or an ephemeral key's subject —
	// and the policy that narrows it (nil: none).
	Owner(c sigv4.Credential) (subjectID, credentialID string, policy *Policy, ok bool)
}

// SigV4 is the scheme of AWS Signature Version 4: the
// "Authorization: AWS4-HMAC-SHA256 …" header or a presigned URL's X-Amz-*
// query. The resource service declares the region and service it answers
// as (Request.SigningRegion, SigningService) and, where it has the body,
// its hash (Request.BodyHash).
type SigV4 struct {
	Verifier *sigv4.Verifier
	Keys     AccessKeys
}

// Credential implements Scheme.
func (SigV4) Credential() string { return CredSigV4 }

// Find implements Scheme.
func (SigV4) Find(r *Request) (string, bool) {
	if v := r.Header.Get("authorization"); strings.HasPrefix(v, sigv4.Algorithm+" ") {
		return v, true
	}
	if strings.Contains(r.Query, "X-Amz-Signature=") || strings.Contains(r.Query, "X-Amz-Algorithm=") {
		return r.Query, true
	}
	return "", false
}

// errNoSigningScope answers a resource service that did not say which
// region and service it answers as: its mistake, not the client's.
var errNoSigningScope = warden.Errorf(warden.InvalidArgument, "request.signing_region and request.signing_service are required to check a SigV4 signature")

// Verify implements Scheme. A refusal's answer is the uniform
// Unauthenticated with the AWS error code as its machine-readable reason,
// which a resource service prints to its AWS client — saying no more than
// AWS itself does.
func (s SigV4) Verify(_ context.Context, r *Request, _ string) (Principal, error) {
	if r.SigningRegion == "" || r.SigningService == "" {
		return Principal{}, &Refusal{Label: "no_signing_scope", Detail: "the resource service declared no signing region or service", Answer: errNoSigningScope}
	}
	h := r.Header.HTTP()
	req := &sigv4.Request{Method: r.Method, Path: r.Path, RawQuery: r.Query, Host: r.Header.Get("host"), Header: h, BodySHA256: r.BodyHash}
	res, err := s.Verifier.Verify(req, sigv4.Expect{Region: r.SigningRegion, Service: r.SigningService})
	if err != nil {
		var ref *sigv4.Refusal
		if errors.As(err, &ref) {
			return Principal{}, &Refusal{Label: ref.Reason.Code(), Detail: err.Error(), Answer: sigv4Answer(ref.Reason)}
		}
		if errors.Is(err, sigv4.ErrNoPayloadHash) {
			return Principal{}, &Refusal{Label: "no_payload_hash", Detail: err.Error(), Answer: warden.Errorf(warden.InvalidArgument, "request.body_sha256 is required for this SigV4 request: the signature covers the body")}
		}
		return Principal{}, Refuse("error", err.Error())
	}
	sub, cred, policy, ok := s.Keys.Owner(res.Credential)
	if !ok { // deleted between the key lookup and now
		return Principal{}, &Refusal{Label: sigv4.InvalidAccessKeyID.Code(), Detail: "access key deleted", Answer: sigv4Answer(sigv4.InvalidAccessKeyID)}
	}
	typ := token.SubjectServiceAccount
	if strings.HasPrefix(sub, warden.PrefixUserAccount) {
		typ = token.SubjectUserAccount // an ephemeral key of a user
	}
	p := Principal{Subject: Subject{Type: typ, ID: sub}, CredentialID: cred, Policy: policy}
	if seed, ok := res.StreamSeed(); ok {
		p.Stream = &seed
	}
	return p, nil
}

// sigv4Answer is the uniform Unauthenticated answer carrying the AWS
// error code.
func sigv4Answer(r sigv4.Reason) error {
	return &warden.Error{Code: warden.Unauthenticated, Message: warden.ErrUnauthenticated.Message, Reason: r.Code()}
}
