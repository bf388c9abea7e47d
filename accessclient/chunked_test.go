package accessclient_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"warden/accessclient"
	"warden/api/accesspb"
	"warden/sigv4"
)

// AWS's example of an aws-chunked upload ("Transferring Payload in Multiple
// Chunks"): 66,560 'a's in a 64 KiB chunk, a 1 KiB chunk and the final
// empty chunk, chained from the request's seed signature.
const (
	docSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	docSeed   = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
)

var docChunkSigs = [3]string{
	"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
	"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
	"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
}

func docBody() []byte {
	var b bytes.Buffer
	for i, n := range []int{65536, 1024, 0} {
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", n, docChunkSigs[i])
		b.Write(bytes.Repeat([]byte("a"), n))
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// fakeWarden answers every authorize call with the stream seed of AWS's
// example, as the access service's REST face writes it, and records the
// presented request.
func fakeWarden(t *testing.T, key []byte) (*accessclient.Client, *map[string]any) {
	t.Helper()
	var presented map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Request map[string]any `json:"request"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		presented = in.Request
		out, _ := protojson.Marshal(&accesspb.AuthorizeResponse{
			Subject:        &accesspb.Subject{Type: "serviceAccount", Id: "ajeexample"},
			CredentialType: "sigv4", CredentialId: "AKIAIOSFODNN7EXAMPLE",
			Results: []*accesspb.CheckResult{{Allowed: true}},
			Sigv4Stream: &accesspb.SigV4Stream{
				SigningKey: key, RequestTime: "2013-05-24T00:00:00Z", Region: "us-east-1", Service: "s3",
				SeedSignature: docSeed, DecodedLength: 66560,
			},
		})
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	c, err := accessclient.New(srv.URL, "storage")
	if err != nil {
		t.Fatal(err)
	}
	return c, &presented
}

func docKey() []byte {
	k := sigv4.DeriveSigningKey([]byte(docSecret), "20130524", "us-east-1", "s3")
	return k[:]
}

// upload is the example's PUT as a resource service receives it.
func upload(body []byte) *http.Request {
	r := httptest.NewRequest("PUT", "/examplebucket/chunkObject.txt", bytes.NewReader(body))
	r.Header.Set("X-Amz-Content-Sha256", sigv4.StreamingPayload)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	return r
}

// TestChunkReader: the seed comes through AuthorizeRequest, the body is left
// for the handler, and the payload reads back only as far as it verifies.
func TestChunkReader(t *testing.T) {
	c, presented := fakeWarden(t, docKey())
	second := bytes.Index(docBody(), []byte(docChunkSigs[1])) // the second chunk's signature
	changed := func(at int, b byte) []byte {
		body := docBody()
		body[at] = b
		return body
	}
	for _, c2 := range []struct {
		name     string
		body     []byte
		wantRead int
		reason   string
		code     int
	}{
		{"the documented body", docBody(), 66560, "", 0},
		{"a changed byte in the second chunk", changed(second+64+2+10, 'b'), 65536, "SignatureDoesNotMatch", 16},
		{"a changed chunk signature", changed(second+63, 'f'), 65536, "SignatureDoesNotMatch", 16},
		{"a malformed chunk header", changed(second-2, ':'), 65536, "InvalidRequest", 3},
		{"a body without its final chunk", docBody()[:bytes.LastIndex(docBody(), []byte("0;chunk-signature="))], 66560, "IncompleteBody", 3},
	} {
		t.Run(c2.name, func(t *testing.T) {
			r := upload(c2.body)
			d, err := c.AuthorizeRequest(context.Background(), r, accessclient.Check{Permission: "storage.objects.put"})
			if err != nil {
				t.Fatal(err)
			}
			if _, hashed := (*presented)["bodySha256"]; hashed {
				t.Error("the client hashed an aws-chunked body: it must leave it to the handler")
			}
			if d.CredentialType != "sigv4" || d.CredentialID != "AKIAIOSFODNN7EXAMPLE" || len(d.Allowed) != 1 || !d.Allowed[0] || d.Stream == nil {
				t.Fatalf("decision: %+v", d)
			}
			if d.Stream.DecodedLength != 66560 || !d.Stream.Time.Equal(time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("seed: %+v", d.Stream)
			}
			body, err := accessclient.ChunkReader(r.Body, d.Stream)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(body)
			if len(got) != c2.wantRead || strings.Trim(string(got), "a") != "" {
				t.Errorf("read %d bytes (%q…), want %d 'a's", len(got), firstBytes(got), c2.wantRead)
			}
			var e *accessclient.Error
			switch {
			case c2.reason == "" && err != nil:
				t.Errorf("read: %v", err)
			case c2.reason != "" && (!errors.As(err, &e) || e.Reason != c2.reason || e.Code != c2.code):
				t.Errorf("read: %v, want an *Error %s (code %d)", err, c2.reason, c2.code)
			}
		})
	}
}

func firstBytes(b []byte) []byte { return b[:min(len(b), 8)] }

// TestChunkReaderNeedsASeed: without a seed (a request that was not a
// signed aws-chunked upload) there is no reader, and a seed whose key is
// not a signing key is Warden's error, not a silent pass.
func TestChunkReaderNeedsASeed(t *testing.T) {
	if _, err := accessclient.ChunkReader(strings.NewReader(string(docBody())), nil); err == nil {
		t.Error("ChunkReader with no seed: no error")
	}
	c, _ := fakeWarden(t, []byte("short"))
	if _, err := c.AuthorizeRequest(context.Background(), upload(docBody())); err == nil || !strings.Contains(err.Error(), "signing key") {
		t.Errorf("a seed without a signing key: %v", err)
	}
}

// TestAuthorizeHashesSignedBodies: a body whose hash the signature covers
// is hashed for Warden and still there for the handler.
func TestAuthorizeHashesSignedBodies(t *testing.T) {
	c, presented := fakeWarden(t, docKey())
	r := httptest.NewRequest("POST", "/v2/email/configuration-sets", strings.NewReader(`{"ConfigurationSetName":"x"}`))
	if _, err := c.AuthorizeRequest(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(`{"ConfigurationSetName":"x"}`))
	if got, want := (*presented)["bodySha256"], hex.EncodeToString(sum[:]); got != want {
		t.Errorf("bodySha256 = %v, want %s", got, want)
	}
	if b, _ := io.ReadAll(r.Body); string(b) != `{"ConfigurationSetName":"x"}` {
		t.Errorf("the handler reads %q", b)
	}
}

// TestMiddlewareVerifiesChunks: a handler behind Middleware reads the
// payload of an aws-chunked upload, verified, and a changed chunk ends its
// read with the refusal.
func TestMiddlewareVerifiesChunks(t *testing.T) {
	c, _ := fakeWarden(t, docKey())
	var got []byte
	var readErr error
	h := c.Middleware(func(*http.Request) accessclient.Check { return accessclient.Check{Permission: "storage.objects.put"} },
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got, readErr = io.ReadAll(r.Body) }))
	h.ServeHTTP(httptest.NewRecorder(), upload(docBody()))
	if len(got) != 66560 || readErr != nil {
		t.Errorf("handler read %d bytes, %v; want the 66560-byte payload", len(got), readErr)
	}
	body := docBody()
	body[len(body)-100] ^= 1
	h.ServeHTTP(httptest.NewRecorder(), upload(body))
	var e *accessclient.Error
	if !errors.As(readErr, &e) || e.Reason != "SignatureDoesNotMatch" {
		t.Errorf("a changed chunk: %v", readErr)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestBodyOverTheLimitIsRefused: a body too large to hash whole is refused,
// never handed on cut short.
func TestBodyOverTheLimitIsRefused(t *testing.T) {
	c, err := accessclient.New("http://127.0.0.1:1", "postbox")
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/v2/email/outbound-emails", io.LimitReader(zeros{}, accessclient.MaxHashedBody+1))
	if _, err := c.AuthorizeRequest(context.Background(), r); !errors.Is(err, accessclient.ErrBodyTooLarge) {
		t.Errorf("AuthorizeRequest of a %d-byte body: %v, want ErrBodyTooLarge", accessclient.MaxHashedBody+1, err)
	}
}
