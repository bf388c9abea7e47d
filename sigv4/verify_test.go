package sigv4_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"warden/sigv4"
)

const goodAuth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

func TestParseAuthorization(t *testing.T) {
	s, err := sigv4.ParseAuthorization(goodAuth)
	if err != nil {
		t.Fatal(err)
	}
	want := sigv4.Credential{AccessKeyID: "AKIDEXAMPLE", Date: "20150830", Region: "us-east-1", Service: "service"}
	if s.Credential != want || s.SignedHeaders != "host;x-amz-date" || s.Signature != "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31" || s.Form != sigv4.HeaderForm {
		t.Fatalf("parsed %+v", s)
	}
	if got := s.Credential.Scope(); got != "20150830/us-east-1/service/aws4_request" {
		t.Fatalf("scope %q", got)
	}
	// Commas without spaces, as some clients write them, are the same.
	if _, err := sigv4.ParseAuthorization(strings.ReplaceAll(goodAuth, ", ", ",")); err != nil {
		t.Fatalf("no spaces after commas: %v", err)
	}

	sig := "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
	bad := map[string]string{
		"empty":                "",
		"other algorithm":      strings.Replace(goodAuth, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1),
		"sigv2":                "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
		"parts reordered":      "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " + sig,
		"part repeated":        goodAuth + ", " + sig,
		"no signature":         strings.TrimSuffix(goodAuth, ", "+sig),
		"upper-case signature": strings.ToUpper(goodAuth[:0]) + strings.Replace(goodAuth, "5fa00fa", "5FA00FA", 1),
		"short signature":      strings.TrimSuffix(goodAuth, "1"),
		"scope too short":      strings.Replace(goodAuth, "/service/aws4_request", "/aws4_request", 1),
		"scope too long":       strings.Replace(goodAuth, "aws4_request", "aws4_request/x", 1),
		"wrong terminator":     strings.Replace(goodAuth, "aws4_request", "aws5_request", 1),
		"bad date":             strings.Replace(goodAuth, "20150830", "20150230", 1),
		"empty key id":         strings.Replace(goodAuth, "AKIDEXAMPLE/", "/", 1),
		"key id with space":    strings.Replace(goodAuth, "AKIDEXAMPLE", "AKID EXAMPLE", 1),
		"unsorted headers":     strings.Replace(goodAuth, "host;x-amz-date", "x-amz-date;host", 1),
		"repeated header":      strings.Replace(goodAuth, "host;x-amz-date", "host;host;x-amz-date", 1),
		"upper-case header":    strings.Replace(goodAuth, "host;x-amz-date", "Host;x-amz-date", 1),
		"empty header name":    strings.Replace(goodAuth, "host;x-amz-date", "host;;x-amz-date", 1),
		"trailing semicolon":   strings.Replace(goodAuth, "host;x-amz-date", "host;x-amz-date;", 1),
		"no comma":             strings.Replace(goodAuth, "aws4_request,", "aws4_request", 1),
		"junk after":           goodAuth + " x",
	}
	for name, v := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := sigv4.ParseAuthorization(v); !isReason(err, sigv4.AuthorizationHeaderMalformed) {
				t.Fatalf("%q: %v, want AuthorizationHeaderMalformed", v, err)
			}
		})
	}
}

const goodQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d"

func TestParsePresigned(t *testing.T) {
	s, err := sigv4.ParsePresigned("a=1&" + goodQuery + "&X-Amz-Security-Token=tok%2Fen")
	if err != nil {
		t.Fatal(err)
	}
	want := sigv4.Credential{AccessKeyID: "AKIDEXAMPLE", Date: "20150830", Region: "us-east-1", Service: "service", SessionToken: "tok/en"}
	if s.Credential != want || s.Expires != time.Hour || !s.Time.Equal(time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)) || s.Form != sigv4.QueryForm {
		t.Fatalf("parsed %+v", s)
	}
	bad := map[string]string{
		"no algorithm":       strings.Replace(goodQuery, "X-Amz-Algorithm=AWS4-HMAC-SHA256&", "", 1),
		"other algorithm":    strings.Replace(goodQuery, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1),
		"no expiry":          strings.Replace(goodQuery, "X-Amz-Expires=3600&", "", 1),
		"zero expiry":        strings.Replace(goodQuery, "X-Amz-Expires=3600", "X-Amz-Expires=0", 1),
		"eight days":         strings.Replace(goodQuery, "X-Amz-Expires=3600", "X-Amz-Expires=691200", 1),
		"seven days and one": strings.Replace(goodQuery, "X-Amz-Expires=3600", "X-Amz-Expires=604801", 1),
		"negative expiry":    strings.Replace(goodQuery, "X-Amz-Expires=3600", "X-Amz-Expires=-1", 1),
		"bad date":           strings.Replace(goodQuery, "20150830T123600Z", "20150830T246000Z", 1),
		"credential twice":   goodQuery + "&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request",
		"signature twice":    goodQuery + "&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
		"escaped name twice": goodQuery + "&X-Amz-%53ignature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
		"empty token":        goodQuery + "&X-Amz-Security-Token=",
		"bad escape":         strings.Replace(goodQuery, "%2F", "%2G", 1),
		"no signed headers":  strings.Replace(goodQuery, "X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=", 1),
	}
	for name, q := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := sigv4.ParsePresigned(q); !isReason(err, sigv4.AuthorizationQueryParametersError) {
				t.Fatalf("%v, want AuthorizationQueryParametersError", err)
			}
		})
	}
	if _, err := sigv4.ParsePresigned("%zz&" + goodQuery); !isReason(err, sigv4.InvalidRequest) {
		t.Fatalf("bad escape in another key: %v, want InvalidRequest", err)
	}
	if d := sigv4.MaxExpires; d != 604800*time.Second {
		t.Fatalf("MaxExpires %v", d)
	}
}

func TestFormOf(t *testing.T) {
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	cases := []struct {
		req  sigv4.Request
		want sigv4.Form
	}{
		{sigv4.Request{Header: h()}, sigv4.Unsigned},
		{sigv4.Request{Header: h("Authorization", "Bearer t1.abc")}, sigv4.Unsigned},
		{sigv4.Request{Header: h("Authorization", goodAuth)}, sigv4.HeaderForm},
		{sigv4.Request{Header: http.Header{"authorization": {goodAuth}}}, sigv4.HeaderForm},
		{sigv4.Request{Header: h(), RawQuery: goodQuery}, sigv4.QueryForm},
		{sigv4.Request{Header: h(), RawQuery: "X-Amz-%53ignature=1"}, sigv4.QueryForm},
		{sigv4.Request{Header: h(), RawQuery: "X-Amz-Date=1&x=y"}, sigv4.Unsigned},
	}
	for i, c := range cases {
		if got := sigv4.FormOf(&c.req); got != c.want {
			t.Errorf("%d: FormOf = %v, want %v", i, got, c.want)
		}
	}
}

func TestNewValidatesConfig(t *testing.T) {
	keys := sigv4.KeysFunc(func(sigv4.Credential) (sigv4.SigningKey, error) { return sigv4.SigningKey{}, nil })
	for name, cfg := range map[string]sigv4.Config{
		"no keys":       {Now: time.Now},
		"no clock":      {Keys: keys},
		"negative skew": {Keys: keys, Now: time.Now, MaxSkew: -time.Second},
		"skew too wide": {Keys: keys, Now: time.Now, MaxSkew: 2 * time.Hour},
	} {
		if _, err := sigv4.New(cfg); err == nil || !strings.HasPrefix(err.Error(), "sigv4: ") {
			t.Errorf("%s: New = %v, want a sigv4 error", name, err)
		}
	}
	if _, err := sigv4.New(sigv4.Config{Keys: keys, Now: time.Now}); err != nil {
		t.Fatal(err)
	}
}

// vanilla returns the AWS suite's get-vanilla request and a verifier for
// it, for tests that change one thing at a time.
func vanilla(t *testing.T, keys sigv4.Keys) (*sigv4.Request, *sigv4.Verifier, sigv4.Expect) {
	t.Helper()
	if keys == nil {
		keys = sigv4.KeysFunc(func(c sigv4.Credential) (sigv4.SigningKey, error) {
			if c.AccessKeyID != "AKIDEXAMPLE" {
				return sigv4.SigningKey{}, sigv4.Refuse(sigv4.InvalidAccessKeyID, "unknown")
			}
			return sigv4.DeriveSigningKey([]byte("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), c.Date, c.Region, c.Service), nil
		})
	}
	now := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	v, err := sigv4.New(sigv4.Config{Keys: keys, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	req := &sigv4.Request{
		Method: "GET", Path: "/", Host: "example.amazonaws.com",
		Header:     http.Header{"X-Amz-Date": {"20150830T123600Z"}, "Authorization": {goodAuth}},
		BodySHA256: sigv4.EmptySHA256,
	}
	return req, v, sigv4.Expect{Region: "us-east-1", Service: "service"}
}

func TestVerifyRefusals(t *testing.T) {
	req, v, want := vanilla(t, nil)
	if _, err := v.Verify(req, want); err != nil {
		t.Fatalf("get-vanilla: %v", err)
	}
	cases := []struct {
		name   string
		change func(r *sigv4.Request, e *sigv4.Expect)
		want   sigv4.Reason
	}{
		{"no signature", func(r *sigv4.Request, _ *sigv4.Expect) { r.Header.Del("Authorization") }, sigv4.AccessDenied},
		{"unknown key", func(r *sigv4.Request, _ *sigv4.Expect) { setAuth(r, "AKIDEXAMPLE", "AKIDOTHER") }, sigv4.InvalidAccessKeyID},
		{"two Authorization headers", func(r *sigv4.Request, _ *sigv4.Expect) { r.Header.Add("Authorization", goodAuth) }, sigv4.AuthorizationHeaderMalformed},
		{"region", func(_ *sigv4.Request, e *sigv4.Expect) { e.Region = "ru-central1" }, sigv4.AuthorizationHeaderMalformed},
		{"service", func(_ *sigv4.Request, e *sigv4.Expect) { e.Service = "s3" }, sigv4.AuthorizationHeaderMalformed},
		{"a date a day away", func(r *sigv4.Request, _ *sigv4.Expect) { r.Header.Set("X-Amz-Date", "20150831T000100Z") }, sigv4.RequestTimeTooSkewed},
		{"scope date differs within the skew", func(r *sigv4.Request, _ *sigv4.Expect) {
			setAuth(r, "/20150830/", "/20150829/")
		}, sigv4.AuthorizationHeaderMalformed},
		{"no date", func(r *sigv4.Request, _ *sigv4.Expect) { r.Header.Del("X-Amz-Date") }, sigv4.AccessDenied},
		{"two dates", func(r *sigv4.Request, _ *sigv4.Expect) { r.Header.Add("X-Amz-Date", "20150830T123600Z") }, sigv4.AccessDenied},
		{"malformed date", func(r *sigv4.Request, _ *sigv4.Expect) { r.Header.Set("X-Amz-Date", "20150830T123600") }, sigv4.AccessDenied},
		{"skewed date", func(r *sigv4.Request, _ *sigv4.Expect) { r.Header.Set("X-Amz-Date", "20150830T125200Z") }, sigv4.RequestTimeTooSkewed},
		{"host not signed", func(r *sigv4.Request, _ *sigv4.Expect) { setAuth(r, "host;x-amz-date", "x-amz-date") }, sigv4.AccessDenied},
		{"date not signed", func(r *sigv4.Request, _ *sigv4.Expect) { setAuth(r, "host;x-amz-date", "host") }, sigv4.AccessDenied},
		{"unsigned x-amz header", func(r *sigv4.Request, _ *sigv4.Expect) { r.Header.Set("X-Amz-Acl", "public-read") }, sigv4.AccessDenied},
		{"unsigned session token", func(r *sigv4.Request, _ *sigv4.Expect) { r.Header.Set("X-Amz-Security-Token", "tok") }, sigv4.AccessDenied},
		{"signed header missing", func(r *sigv4.Request, _ *sigv4.Expect) {
			setAuth(r, "host;x-amz-date", "host;my-header;x-amz-date")
		}, sigv4.SignatureDoesNotMatch},
		{"path not absolute", func(r *sigv4.Request, _ *sigv4.Expect) { r.Path = "example" }, sigv4.InvalidRequest},
		{"bad query escape", func(r *sigv4.Request, _ *sigv4.Expect) { r.RawQuery = "a=%4" }, sigv4.InvalidRequest},
		{"both forms", func(r *sigv4.Request, _ *sigv4.Expect) { r.RawQuery = goodQuery }, sigv4.InvalidRequest},
		{"unsigned payload for a generic service", func(r *sigv4.Request, _ *sigv4.Expect) {
			r.Header.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload)
			setAuth(r, "host;x-amz-date", "host;x-amz-content-sha256;x-amz-date")
		}, sigv4.InvalidRequest},
		{"unknown payload hash", func(r *sigv4.Request, _ *sigv4.Expect) {
			r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
			setAuth(r, "host;x-amz-date", "host;x-amz-content-sha256;x-amz-date")
		}, sigv4.InvalidRequest},
		{"payload hash disagrees with the body", func(r *sigv4.Request, _ *sigv4.Expect) {
			r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("a", 64))
			setAuth(r, "host;x-amz-date", "host;x-amz-content-sha256;x-amz-date")
		}, sigv4.ContentSHA256Mismatch},
		{"S3 without x-amz-content-sha256 or body hash", func(r *sigv4.Request, e *sigv4.Expect) {
			r.BodySHA256 = ""
			e.Rules = sigv4.RulesS3
		}, sigv4.InvalidRequest},
		{"aws-chunked in a presigned URL", func(r *sigv4.Request, e *sigv4.Expect) {
			r.Header = http.Header{"X-Amz-Content-Sha256": {sigv4.StreamingPayload}}
			r.RawQuery = strings.Replace(goodQuery, "X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host%3Bx-amz-content-sha256", 1)
			e.Rules = sigv4.RulesS3
		}, sigv4.InvalidRequest},
		{"signature", func(r *sigv4.Request, _ *sigv4.Expect) { setAuth(r, "Signature=5fa", "Signature=6fa") }, sigv4.SignatureDoesNotMatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, v, want := vanilla(t, nil)
			c.change(req, &want)
			_, err := v.Verify(req, want)
			if !isReason(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			var ref *sigv4.Refusal
			errors.As(err, &ref)
			if !strings.HasPrefix(err.Error(), "sigv4: "+c.want.Code()) || ref.Reason.Message() == "" {
				t.Fatalf("error text %q", err)
			}
		})
	}
}

func setAuth(r *sigv4.Request, old, new string) {
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
}

// TestVerifyCallerErrors: mistakes of the resource service are errors, not
// refusals, so they are not blamed on the client.
func TestVerifyCallerErrors(t *testing.T) {
	req, v, want := vanilla(t, nil)
	req.BodySHA256 = ""
	if _, err := v.Verify(req, want); !errors.Is(err, sigv4.ErrNoPayloadHash) {
		t.Fatalf("no body hash: %v, want ErrNoPayloadHash", err)
	}
	req.BodySHA256 = "E3B0"
	if _, err := v.Verify(req, want); err == nil || isAnyRefusal(err) {
		t.Fatalf("malformed body hash: %v", err)
	}
	req, v, _ = vanilla(t, nil)
	if _, err := v.Verify(req, sigv4.Expect{Region: "us-east-1"}); err == nil || isAnyRefusal(err) {
		t.Fatalf("no expected service: %v", err)
	}
	storeDown := errors.New("store down")
	req, v, want = vanilla(t, sigv4.KeysFunc(func(sigv4.Credential) (sigv4.SigningKey, error) { return sigv4.SigningKey{}, storeDown }))
	if _, err := v.Verify(req, want); !errors.Is(err, storeDown) || isAnyRefusal(err) {
		t.Fatalf("key store error: %v", err)
	}
}

func isAnyRefusal(err error) bool {
	_, ok := sigv4.ReasonOf(err)
	return ok
}

// TestVerifyDateHeader: without X-Amz-Date, the Date header is the request
// time, and must be signed.
func TestVerifyDateHeader(t *testing.T) {
	secret := []byte("secret")
	key := sigv4.KeysFunc(func(c sigv4.Credential) (sigv4.SigningKey, error) {
		return sigv4.DeriveSigningKey(secret, c.Date, c.Region, c.Service), nil
	})
	now := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	v, err := sigv4.New(sigv4.Config{Keys: key, Now: func() time.Time { return now.Add(10 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	// The canonical request and signature as the signer computes them.
	creq := "GET\n/\n\ndate:Sun, 30 Aug 2015 12:36:00 GMT\nhost:example.amazonaws.com\n\ndate;host\n" + sigv4.EmptySHA256
	sig := signString(secret, "20150830", "us-east-1", "service", "20150830T123600Z", creq)
	req := &sigv4.Request{
		Method: "GET", Path: "/", Host: "example.amazonaws.com", BodySHA256: sigv4.EmptySHA256,
		Header: http.Header{
			"Date":          {"Sun, 30 Aug 2015 12:36:00 GMT"},
			"Authorization": {"AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=date;host, Signature=" + sig},
		},
	}
	res, err := v.Verify(req, sigv4.Expect{Region: "us-east-1", Service: "service"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Time.Equal(now) {
		t.Fatalf("time %v", res.Time)
	}
	req.Header.Set("Date", "yesterday")
	if _, err := v.Verify(req, sigv4.Expect{Region: "us-east-1", Service: "service"}); !isReason(err, sigv4.AccessDenied) {
		t.Fatalf("malformed Date: %v", err)
	}
}

// signString signs a canonical request with crypto/hmac, independently of
// the verifier.
func signString(secret []byte, date, region, service, amzDate, creq string) string {
	key := []byte("AWS4" + string(secret))
	for _, p := range []string{date, region, service, "aws4_request"} {
		key = hmacSHA256(key, p)
	}
	sum := sha256Hex(creq)
	return fmt.Sprintf("%x", hmacSHA256(key, "AWS4-HMAC-SHA256\n"+amzDate+"\n"+date+"/"+region+"/"+service+"/aws4_request\n"+sum))
}

func sha256Hex(s string) string { return payloadOf(s) }

// TestAllowUnsignedSessionToken: the option lets a token through unsigned,
// and it is still handed to Keys, which checks it.
func TestAllowUnsignedSessionToken(t *testing.T) {
	var seen string
	keys := sigv4.KeysFunc(func(c sigv4.Credential) (sigv4.SigningKey, error) {
		seen = c.SessionToken
		return sigv4.DeriveSigningKey([]byte("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), c.Date, c.Region, c.Service), nil
	})
	req, _, want := vanilla(t, keys)
	req.Header.Set("X-Amz-Security-Token", "tok")
	now := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	v, err := sigv4.New(sigv4.Config{Keys: keys, Now: func() time.Time { return now }, AllowUnsignedSessionToken: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(req, want); err != nil || seen != "tok" {
		t.Fatalf("Verify = %v, token seen %q", err, seen)
	}
}

func TestSigningKeyNeverPrints(t *testing.T) {
	k := sigv4.DeriveSigningKey([]byte("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "20150830", "us-east-1", "iam")
	// AWS's documented kSigning for this secret and scope.
	if got := fmt.Sprintf("%x", k[:]); got != "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9" {
		t.Fatalf("derived key %s", got)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		if got := fmt.Sprintf(f, k); got != "[redacted]" {
			t.Errorf("Sprintf(%q) = %q", f, got)
		}
		if got := fmt.Sprintf(f, struct{ K sigv4.SigningKey }{k}); strings.Contains(got, "c4") || strings.Contains(got, "196") {
			t.Errorf("Sprintf(%q) of a struct = %q", f, got)
		}
	}
}

func TestKeyCache(t *testing.T) {
	if _, err := sigv4.NewKeyCache(0); err == nil {
		t.Fatal("a cache of 0 keys was accepted")
	}
	kc, err := sigv4.NewKeyCache(3)
	if err != nil {
		t.Fatal(err)
	}
	cred := func(id, date string) sigv4.Credential {
		return sigv4.Credential{AccessKeyID: id, Date: date, Region: "ru-central1", Service: "s3"}
	}
	derived := 0
	secret := func() ([]byte, error) { derived++; return []byte("secret"), nil }
	k1, err := kc.GetOrDerive(cred("A", "20260101"), secret)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := kc.GetOrDerive(cred("A", "20260101"), secret)
	if derived != 1 || k1 != k2 || k1 != sigv4.DeriveSigningKey([]byte("secret"), "20260101", "ru-central1", "s3") {
		t.Fatalf("derived %d times", derived)
	}
	// Another day is another key.
	if k3, _ := kc.GetOrDerive(cred("A", "20260102"), secret); k3 == k1 || derived != 2 {
		t.Fatal("another day reused the key")
	}
	// Bounded: the fourth entry evicts one.
	kc.Put(cred("B", "20260101"), k1)
	kc.Put(cred("C", "20260101"), k1)
	if n := kc.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
	kc.Forget("C")
	if _, ok := kc.Get(cred("C", "20260101")); ok || kc.Len() != 2 {
		t.Fatal("Forget left the key")
	}
	fail := errors.New("no secret")
	if _, err := kc.GetOrDerive(cred("D", "20260101"), func() ([]byte, error) { return nil, fail }); !errors.Is(err, fail) {
		t.Fatalf("GetOrDerive = %v", err)
	}
}

func TestReasons(t *testing.T) {
	for r := sigv4.InvalidAccessKeyID; r <= sigv4.IncompleteBody; r++ {
		if r.Code() == "" || r.Message() == "" || (r.HTTPStatus() != 400 && r.HTTPStatus() != 403) {
			t.Errorf("reason %d: %q %q %d", r, r.Code(), r.Message(), r.HTTPStatus())
		}
	}
	if got := sigv4.Reason(0).Code(); got != "AccessDenied" {
		t.Errorf("unknown reason code %q", got)
	}
	if _, ok := sigv4.ReasonOf(errors.New("x")); ok {
		t.Error("ReasonOf a plain error")
	}
	if r, ok := sigv4.ReasonOf(fmt.Errorf("wrapped: %w", sigv4.Refuse(sigv4.ExpiredToken, "old"))); !ok || r != sigv4.ExpiredToken {
		t.Errorf("ReasonOf a wrapped refusal = %v %v", r, ok)
	}
}
