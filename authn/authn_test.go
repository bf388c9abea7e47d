package authn

import (
	"context"
	"errors"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"warden"
)

// fake is a scheme that accepts one credential in one header.
type fake struct {
	cred, header, accept string
}

func (f fake) Credential() string { return f.cred }

func (f fake) Find(r *Request) (string, bool) {
	v := r.Header.Get(f.header)
	return v, v != ""
}

func (f fake) Verify(_ context.Context, _ *Request, c string) (Principal, error) {
	if c != f.accept {
		return Principal{}, Refuse("wrong", "wrong "+f.cred)
	}
	return Principal{Subject: Subject{Type: "serviceAccount", ID: "aje-" + f.cred}, CredentialID: "id-" + f.cred}, nil
}

type accounts map[string]bool

func (a accounts) Active(_ context.Context, id string) bool { return a[id] }

func newTest(t *testing.T, active accounts) *Pipeline {
	t.Helper()
	p, err := New(Config{Schemes: []Scheme{
		fake{cred: "first", header: "x-first", accept: "good"},
		fake{cred: "second", header: "x-second", accept: "good"},
	}, Accounts: active})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPipeline(t *testing.T) {
	p := newTest(t, accounts{"aje-first": true, "aje-second": true})
	for _, tc := range []struct {
		name             string
		md               MD
		wantSubject      string
		wantCred, reason string
	}{
		{"first scheme", MD{"x-first": {"good"}}, "aje-first", "first", ""},
		{"second scheme", MD{"x-second": {"good"}}, "aje-second", "second", ""},
		{"the first scheme that finds a credential decides", MD{"x-first": {"bad"}, "x-second": {"good"}}, "", "first", "first: wrong first"},
		{"no credential", MD{"x-other": {"good"}}, "", "", "no credential in the request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Authenticate(context.Background(), &Request{Header: tc.md})
			if got.ID != tc.wantSubject {
				t.Errorf("subject = %q, want %q", got.ID, tc.wantSubject)
			}
			if tc.reason == "" {
				if err != nil || got.Credential != tc.wantCred || got.CredentialID != "id-"+tc.wantCred {
					t.Errorf("Authenticate = %+v, %v", got, err)
				}
				return
			}
			if !errors.Is(err, warden.ErrUnauthenticated) || err.Error() != warden.ErrUnauthenticated.Error() {
				t.Errorf("error %v is not the uniform answer", err)
			}
			if Reason(err) != tc.reason {
				t.Errorf("reason = %q, want %q", Reason(err), tc.reason)
			}
		})
	}
	if got := count(p, "first", "wrong"); got != 1 {
		t.Errorf("refusals{first,wrong} = %v, want 1", got)
	}
}

func TestPipelineRefusesInactiveAccounts(t *testing.T) {
	p := newTest(t, accounts{"aje-first": false})
	_, err := p.Authenticate(context.Background(), &Request{Header: MD{"x-first": {"good"}}})
	if !errors.Is(err, warden.ErrUnauthenticated) || !strings.Contains(Reason(err), "suspended, expired or deleted") {
		t.Errorf("inactive account: %v (%s)", err, Reason(err))
	}
	if got := count(p, "first", "subject_inactive"); got != 1 {
		t.Errorf("refusals{first,subject_inactive} = %v, want 1", got)
	}
}

func TestDuplicateSchemeRefused(t *testing.T) {
	_, err := New(Config{Schemes: []Scheme{fake{cred: "a"}, fake{cred: "a"}}, Accounts: accounts{}})
	if err == nil {
		t.Error("two schemes of one credential type were accepted")
	}
}

func TestAuthorizationHeader(t *testing.T) {
	for _, tc := range []struct {
		header, scheme, want string
		ok                   bool
	}{
		{"Bearer t1.abc", "Bearer", "t1.abc", true},
		{"bearer   t1.abc ", "Bearer", "t1.abc", true},
		{"Bearert1.abc", "Bearer", "", false},
		{"Api-Key x", "Bearer", "", false},
		{"Api-Key warden_ak_x", "Api-Key", "warden_ak_x", true},
		{"Bearer", "Bearer", "", false},
		{"", "Bearer", "", false},
	} {
		got, ok := authorization(&Request{Header: MD{"authorization": {tc.header}}}, tc.scheme)
		if got != tc.want || ok != tc.ok {
			t.Errorf("authorization(%q, %q) = %q, %v; want %q, %v", tc.header, tc.scheme, got, ok, tc.want, tc.ok)
		}
	}
}

func TestIAMTokenFind(t *testing.T) {
	for _, tc := range []struct {
		md   MD
		want string
		ok   bool
	}{
		{MD{"authorization": {"Bearer t1.a"}}, "t1.a", true},
		{MD{"x-yacloud-subjecttoken": {" t1.b "}}, "t1.b", true},
		{MD{"authorization": {"Api-Key k"}}, "", false},
		{MD{}, "", false},
	} {
		got, ok := IAMToken{}.Find(&Request{Header: tc.md})
		if got != tc.want || ok != tc.ok {
			t.Errorf("Find(%v) = %q, %v", tc.md, got, ok)
		}
	}
}

func count(p *Pipeline, credential, reason string) float64 {
	var m dto.Metric
	if err := p.refusals.WithLabelValues(credential, reason).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
