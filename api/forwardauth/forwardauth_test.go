package forwardauth

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"warden"
	"warden/authn"
)

// fakeAuth records the request it was given and answers p or err.
type fakeAuth struct {
	got *authn.Request
	p   authn.Principal
	err error
}

func (f *fakeAuth) Authenticate(_ context.Context, r *authn.Request) (authn.Principal, error) {
	f.got = r
	return f.p, f.err
}

// fakeAccess allows the permission+resource pairs it holds.
type fakeAccess map[string]bool

func (f fakeAccess) Allowed(_ context.Context, _ authn.Principal, permission, resource string) bool {
	return f[permission+" "+resource]
}

func newTestChecker(t *testing.T, auth *fakeAuth, access fakeAccess) *Checker {
	t.Helper()
	rs, err := ParseRoutes([]byte(testRoutes))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Routes: rs, Auth: auth, Access: access, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheck(t *testing.T) {
	robot := authn.Principal{Subject: authn.Subject{Type: "serviceAccount", ID: "ajerobot"}, Credential: "iamToken"}
	access := fakeAccess{"storage.objects.get f1": true, "storage.objects.get hf": true}
	noPayload := &authn.Error{Credential: "sigv4", Refusal: &authn.Refusal{Label: "no_payload_hash", Detail: "d",
		Answer: warden.Errorf(warden.InvalidArgument, "request.body_sha256 is required")}}
	for _, tc := range []struct {
		name     string
		o        Original
		authErr  error
		wantCode warden.Code
		wantText string
	}{
		{name: "allowed", o: Original{Method: "GET", URI: "/folders/f1/objects/a?x=1"}},
		{name: "resource from a header without a binding", o: Original{Method: "PUT", URI: "/by-header/z", Header: authn.MD{"x-folder-id": {"f2"}}}, wantCode: warden.PermissionDenied, wantText: "on f2"},
		{name: "resource from a header, GET", o: Original{Method: "GET", URI: "/by-header/z", Header: authn.MD{"x-folder-id": {"hf"}}}},
		{name: "repeated resource header", o: Original{Method: "GET", URI: "/by-header/z", Header: authn.MD{"x-folder-id": {"hf", "f1"}}}, wantCode: warden.PermissionDenied, wantText: "names no resource"},
		{name: "no binding", o: Original{Method: "GET", URI: "/folders/f2/objects/a"}, wantCode: warden.PermissionDenied, wantText: "storage.objects.get on f2"},
		{name: "no route", o: Original{Method: "DELETE", URI: "/folders/f1/objects/a"}, wantCode: warden.PermissionDenied, wantText: "no route allows DELETE /folders/f1/objects/a"},
		{name: "dot segment", o: Original{Method: "GET", URI: "/folders/f2/../f1/objects/a"}, wantCode: warden.PermissionDenied, wantText: "dot segment"},
		{name: "no original URI", o: Original{Method: "GET"}, wantCode: warden.InvalidArgument, wantText: "X-Original-URI"},
		{name: "refused credential", o: Original{Method: "GET", URI: "/folders/f1/objects/a"}, authErr: &authn.Error{Refusal: authn.Refuse("x", "y")}, wantCode: warden.Unauthenticated},
		{name: "body signed", o: Original{Method: "GET", URI: "/folders/f1/objects/a"}, authErr: noPayload, wantCode: warden.Unauthenticated, wantText: "x-amz-content-sha256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{p: robot, err: tc.authErr}
			if tc.o.Header == nil {
				tc.o.Header = authn.MD{}
			}
			tc.o.Host = "storage.test"
			p, err := newTestChecker(t, auth, access).Check(context.Background(), &tc.o)
			if got := warden.ErrorCode(err); got != tc.wantCode {
				t.Fatalf("Check = %v, code %q; want %q", err, got, tc.wantCode)
			}
			if err != nil && !strings.Contains(warden.ErrorMessage(err), tc.wantText) {
				t.Errorf("message %q, want it to say %q", warden.ErrorMessage(err), tc.wantText)
			}
			if err == nil && p.ID != robot.ID {
				t.Errorf("principal %v", p)
			}
			if tc.authErr != nil && authn.Reason(err) == "" {
				t.Errorf("the refusal lost its reason for the logs: %v", err)
			}
		})
	}
	t.Run("the pipeline sees the original request and the route's product and signing scope", func(t *testing.T) {
		auth := &fakeAuth{p: robot}
		o := &Original{Method: "GET", URI: "/folders/f1/objects/a%20b?versionId=2", Host: "storage.test:8000", Header: authn.MD{}, Client: "192.0.2.1", BodyHash: "h"}
		if _, err := newTestChecker(t, auth, access).Check(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		r := auth.got
		if r.Method != "GET" || r.Path != "/folders/f1/objects/a%20b" || r.Query != "versionId=2" || r.Header.Get("host") != "storage.test:8000" ||
			r.ClientAddress != "192.0.2.1" || r.BodyHash != "h" || r.Service != "storage" || r.SigningRegion != "ru-central1" || r.SigningService != "s3" {
			t.Errorf("the pipeline got %+v", r)
		}
	})
}
