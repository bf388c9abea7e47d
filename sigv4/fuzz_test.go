package sigv4_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"warden/sigv4"
)

// addSuiteSeeds adds what the AWS suite's signed requests hold (the
// Authorization values, the presigned queries) as seeds, so plain go test
// runs the fuzz targets over them.
func addSuiteSeeds(f *testing.F, pick func(req *sigv4.Request) string) {
	dirs, _ := filepath.Glob(filepath.Join(suiteDir, "*"))
	for _, d := range dirs {
		for _, form := range []string{"header", "query"} {
			b, err := readSeed(filepath.Join(d, form+"-signed-request.txt"))
			if err != nil {
				continue
			}
			if s := pick(parseRaw(b)); s != "" {
				f.Add(s)
			}
		}
	}
}

func readSeed(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}

// FuzzParseAuthorization: any Authorization value either is refused with
// AuthorizationHeaderMalformed or parses into parts that are well formed
// and that, written out again, parse to the same.
func FuzzParseAuthorization(f *testing.F) {
	f.Add(goodAuth)
	f.Add(strings.ReplaceAll(goodAuth, ", ", ","))
	f.Add("AWS4-HMAC-SHA256 Credential=A/20000229/r/s/aws4_request, SignedHeaders=a;b;c, Signature=" + strings.Repeat("f", 64))
	f.Add("AWS4-HMAC-SHA256 Credential=//////, SignedHeaders=;, Signature=")
	addSuiteSeeds(f, func(r *sigv4.Request) string { return r.Header.Get("Authorization") })
	f.Fuzz(func(t *testing.T, v string) {
		s, err := sigv4.ParseAuthorization(v)
		if err != nil {
			if !isReason(err, sigv4.AuthorizationHeaderMalformed) {
				t.Fatalf("%q: %v is not AuthorizationHeaderMalformed", v, err)
			}
			return
		}
		c := s.Credential
		if len(s.Signature) != 64 || strings.Trim(s.Signature, "0123456789abcdef") != "" {
			t.Fatalf("%q: signature %q", v, s.Signature)
		}
		if c.AccessKeyID == "" || len(c.Date) != 8 || c.Region == "" || c.Service == "" || strings.ContainsAny(c.AccessKeyID+c.Region+c.Service, "/, ;=") {
			t.Fatalf("%q: credential %+v", v, c)
		}
		names := strings.Split(s.SignedHeaders, ";")
		for i, n := range names {
			if n == "" || n != strings.ToLower(n) || i > 0 && names[i-1] >= n {
				t.Fatalf("%q: signed headers %q", v, s.SignedHeaders)
			}
		}
		again, err := sigv4.ParseAuthorization("AWS4-HMAC-SHA256 Credential=" + c.AccessKeyID + "/" + c.Scope() + ", SignedHeaders=" + s.SignedHeaders + ", Signature=" + s.Signature)
		if err != nil || again != s {
			t.Fatalf("%q: written out again: %+v, %v; first %+v", v, again, err, s)
		}
	})
}

// FuzzParsePresigned: any query either is refused with a typed reason or
// parses into a credential, an expiry within seven days and a signature.
func FuzzParsePresigned(f *testing.F) {
	f.Add(goodQuery)
	f.Add(goodQuery + "&X-Amz-Security-Token=a%2Bb")
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Algorithm=AWS4-HMAC-SHA256")
	addSuiteSeeds(f, func(r *sigv4.Request) string { return r.RawQuery })
	f.Fuzz(func(t *testing.T, q string) {
		s, err := sigv4.ParsePresigned(q)
		if err != nil {
			if !isReason(err, sigv4.AuthorizationQueryParametersError) && !isReason(err, sigv4.InvalidRequest) {
				t.Fatalf("%q: %v is not a refusal", q, err)
			}
			return
		}
		if s.Expires < time.Second || s.Expires > sigv4.MaxExpires || len(s.Signature) != 64 || s.Time.IsZero() || s.Credential.AccessKeyID == "" {
			t.Fatalf("%q: parsed %+v", q, s)
		}
		if !strings.Contains(q, "X-Amz-Signature=") {
			t.Fatalf("%q: no signature parameter, yet parsed", q)
		}
	})
}

// FuzzCanonicalRequest is differential: aws-sdk-go-v2 signs a request made
// of the fuzzer's path, query, header value and body — for S3 and for a
// generic service — and the verifier must accept it, rebuilding the same
// canonical request; changed in one byte of the path, the query or the
// header, it must refuse it.
func FuzzCanonicalRequest(f *testing.F) {
	f.Add("/bucket/key", "a=1&b=2", "value", "body", true)
	f.Add("/v2/email/configuration-sets", "NextToken=a%2Fb&PageSize=10", "  spaced   out  ", "", false)
	f.Add("/ключ/ü/x y+z~!$&'()*,;=:@", "k=v+w&k=a&=empty&flag", "\tq\"uoted\t", "{}", true)
	f.Add("/a%2Fb/%7E", "x=%2B%20+", "a,b", "x", false)
	f.Fuzz(func(t *testing.T, path, query, value, body string, s3 bool) {
		if !strings.HasPrefix(path, "/") || !utf8.ValidString(path) || strings.ContainsAny(value, "\r\n\x00") || !validQuery(query) {
			t.Skip()
		}
		service := "ses"
		if s3 {
			service = "s3"
		} else if normalizes(path) {
			// The SDK does not normalise paths; a generic service does.
			t.Skip()
		}
		// The SDK's serializers escape each path as smithy's EscapePath
		// does: everything but unreserved characters and '/'.
		u := &url.URL{Scheme: "http", Host: "svc.example.net", Path: path, RawPath: awsEscapePath(path), RawQuery: query}
		r, err := http.NewRequestWithContext(context.Background(), "PUT", u.String(), strings.NewReader(body))
		if err != nil {
			t.Skip()
		}
		r.Header.Set("X-Fuzz", value)
		payload := payloadOf(body)
		opts := func(o *v4.SignerOptions) {}
		if s3 {
			r.Header.Set("X-Amz-Content-Sha256", payload)
			opts = func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }
		}
		if err := v4.NewSigner().SignHTTP(context.Background(), staticCreds, r, payload, service, sdkRegion, sdkTime, opts); err != nil {
			t.Fatal(err)
		}
		// A server sees the Content-Length header the SDK signed; a client
		// request keeps it in r.ContentLength.
		if r.ContentLength > 0 {
			r.Header.Set("Content-Length", strconv.FormatInt(r.ContentLength, 10))
		}
		v := fuzzVerifier(t)
		req := sigv4.FromHTTP(r, payload)
		want := sigv4.Expect{Region: sdkRegion, Service: service}
		if _, err := v.Verify(&req, want); err != nil {
			t.Fatalf("SDK-signed request refused: %v\npath %q query %q value %q", err, u.EscapedPath(), query, value)
		}
		for _, change := range []func(*sigv4.Request){
			func(q *sigv4.Request) { q.Path = flipLast(q.Path, "/") },
			func(q *sigv4.Request) { q.RawQuery = query + "&x=" },
			func(q *sigv4.Request) { q.Header = q.Header.Clone(); q.Header.Set("X-Fuzz", value+"x") },
			func(q *sigv4.Request) { q.Method = "POST" },
		} {
			changed := req
			change(&changed)
			if _, err := v.Verify(&changed, want); err == nil {
				t.Fatalf("changed request accepted: %+v", changed)
			}
		}
	})
}

func fuzzVerifier(t *testing.T) *sigv4.Verifier {
	v, err := sigv4.New(sigv4.Config{
		Keys: sigv4.KeysFunc(func(c sigv4.Credential) (sigv4.SigningKey, error) {
			return sigv4.DeriveSigningKey([]byte(sdkSecret), c.Date, c.Region, c.Service), nil
		}),
		Now: func() time.Time { return sdkTime },
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// validQuery keeps queries net/url parses without dropping anything, as the
// SDK signs what url.ParseQuery returns.
func validQuery(q string) bool {
	if strings.ContainsAny(q, ";#\x00\r\n ") {
		return false
	}
	_, err := url.ParseQuery(q)
	return err == nil
}

// normalizes reports whether a generic service's path normalisation would
// change path (an empty, "." or ".." segment).
func normalizes(path string) bool {
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return strings.Contains(path, "//")
}

// awsEscapePath escapes every byte but the unreserved ones and '/'.
func awsEscapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}

// flipLast changes the path's last byte that is not a separator into
// another unreserved letter.
func flipLast(p, keep string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if !strings.ContainsRune(keep, rune(p[i])) && p[i] != '%' && (i < 2 || p[i-1] != '%' && p[i-2] != '%') {
			c := byte('q')
			if p[i] == 'q' {
				c = 'r'
			}
			return p[:i] + string(c) + p[i+1:]
		}
	}
	return p + "q"
}
