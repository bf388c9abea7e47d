package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"warden/accessclient"
)

// s3Bucket is the stub's bucket; s3Seeded is the object every GET reads (PUTs
// write their own).
const s3Bucket, s3Seeded = "photos", "seeded.txt"

// s3Stub is an S3-shaped resource service: path-style GET, HEAD and PUT of
// objects kept in memory, each request checked with Warden's access
// service as signing service "s3". An aws-chunked upload is read through
// accessclient.ChunkReader and stored only once every chunk verified.
type s3Stub struct {
	url string
	mu  sync.Mutex
	obj map[string][]byte
	// payload is the x-amz-content-sha256 each stored object came with.
	payload map[string]string
	// verifiedBeforeRefusal is how much payload a refused aws-chunked
	// upload had verified when its bad chunk came; -1 before any.
	verifiedBeforeRefusal int
}

func newS3Stub(t *testing.T, warden, folder string) *s3Stub {
	t.Helper()
	c, err := accessclient.New(warden, "storage")
	if err != nil {
		t.Fatal(err)
	}
	c.SigningRegion, c.SigningService = sesRegion, "s3"
	s := &s3Stub{
		obj:                   map[string][]byte{s3Bucket + "/" + s3Seeded: []byte("seeded object")},
		payload:               map[string]string{},
		verifiedBeforeRefusal: -1,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bucket, key, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if !ok || bucket == "" || key == "" {
			s3Error(w, http.StatusBadRequest, "InvalidRequest")
			return
		}
		perm := "storage.objects.get"
		switch r.Method {
		case "GET", "HEAD":
		case "PUT":
			perm = "storage.objects.put"
		default:
			s3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
			return
		}
		d, err := c.AuthorizeRequest(r.Context(), r, accessclient.Check{Permission: perm, Resource: accessclient.Resource{Type: "resource-manager.folder", ID: folder}})
		if !admitted(w, d, err, s3Error, "AccessDenied") {
			return
		}
		if r.Method == "PUT" {
			s.put(w, r, d, bucket+"/"+key)
			return
		}
		s.mu.Lock()
		data, found := s.obj[bucket+"/"+key]
		s.mu.Unlock()
		if !found {
			s3Error(w, http.StatusNotFound, "NoSuchKey")
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Header().Set("ETag", etag(data))
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		if r.Method == "GET" {
			w.Write(data)
		}
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *s3Stub) put(w http.ResponseWriter, r *http.Request, d *accessclient.Decision, name string) {
	payload := r.Header.Get("X-Amz-Content-Sha256")
	var body io.Reader = r.Body
	switch {
	case d.Stream != nil:
		chunks, err := accessclient.ChunkReader(r.Body, d.Stream)
		if err != nil {
			s3Error(w, http.StatusInternalServerError, "InternalError")
			return
		}
		body = chunks
	case strings.HasPrefix(payload, "STREAMING-"):
		// Unsigned aws-chunked (over TLS only): not this stub's.
		s3Error(w, http.StatusNotImplemented, "NotImplemented")
		return
	}
	data, err := io.ReadAll(io.LimitReader(body, 16<<20))
	var e *accessclient.Error
	switch {
	case errors.As(err, &e):
		s.mu.Lock()
		s.verifiedBeforeRefusal = len(data)
		s.mu.Unlock()
		s3Error(w, awsStatus(e.Reason), e.Reason)
		return
	case err != nil:
		s3Error(w, http.StatusBadRequest, "IncompleteBody")
		return
	}
	s.mu.Lock()
	s.obj[name], s.payload[name] = data, payload
	s.mu.Unlock()
	w.Header().Set("ETag", etag(data))
}

func (s *s3Stub) object(name string) ([]byte, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.obj[s3Bucket+"/"+name]
	return data, s.payload[s3Bucket+"/"+name], ok
}

func etag(data []byte) string {
	sum := md5.Sum(data)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Error><Code>%s</Code><Message>%s</Message></Error>", code, code)
}

// s3Code returns the S3 error code of a plain HTTP answer, "" for 200.
func s3Code(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return ""
	}
	var e struct{ Code string }
	if err := xml.NewDecoder(resp.Body).Decode(&e); err != nil || e.Code == "" {
		t.Fatalf("HTTP %d without an S3 error code", resp.StatusCode)
	}
	return e.Code
}

func (s *s3Stub) client(k awsKey) *s3.Client {
	return s3.New(s3.Options{
		Region: sesRegion, BaseEndpoint: aws.String(s.url), UsePathStyle: true,
		Credentials: k.credentials(), Retryer: aws.NopRetryer{},
	})
}

// sdkCalls are aws-sdk-go-v2's s3 client's PutObject and GetObject.
func (s *s3Stub) sdkCalls(ctx context.Context) []awsCall {
	n := 0
	return []awsCall{
		{"s3 PutObject", func(t *testing.T, k awsKey) string {
			n++
			name, content := fmt.Sprintf("sdk/%d.txt", n), fmt.Sprintf("object %d from %s", n, k.name)
			_, err := s.client(k).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s3Bucket), Key: aws.String(name), Body: strings.NewReader(content)})
			if got, _, _ := s.object(name); err == nil && string(got) != content {
				t.Errorf("PutObject stored %q, want %q", got, content)
			}
			return apiCode(t, "PutObject", err)
		}},
		{"s3 GetObject", func(t *testing.T, k awsKey) string {
			out, err := s.client(k).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s3Bucket), Key: aws.String(s3Seeded)})
			if err == nil {
				got, _ := io.ReadAll(out.Body)
				out.Body.Close()
				if string(got) != "seeded object" {
					t.Errorf("GetObject read %q", got)
				}
			}
			return apiCode(t, "GetObject", err)
		}},
	}
}

// presignedCalls are URLs made by aws-sdk-go-v2's s3 presign client,
// valid for one minute, fetched with plain net/http.
func (s *s3Stub) presignedCalls(ctx context.Context) []awsCall {
	n := 0
	presigner := func(k awsKey) *s3.PresignClient {
		return s3.NewPresignClient(s.client(k), s3.WithPresignExpires(time.Minute))
	}
	send := func(t *testing.T, method, url string, signed http.Header, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		for name, v := range signed {
			if !strings.EqualFold(name, "host") {
				req.Header[name] = v
			}
		}
		if body == "" {
			req.Body = nil
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	return []awsCall{
		{"s3 presigned GET", func(t *testing.T, k awsKey) string {
			p, err := presigner(k).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s3Bucket), Key: aws.String(s3Seeded)})
			if err != nil {
				t.Fatal(err)
			}
			resp := send(t, p.Method, p.URL, p.SignedHeader, "")
			if resp.StatusCode == 200 {
				if got, _ := io.ReadAll(resp.Body); string(got) != "seeded object" {
					t.Errorf("presigned GET read %q", got)
				}
			}
			return s3Code(t, resp)
		}},
		{"s3 presigned PUT", func(t *testing.T, k awsKey) string {
			n++
			name, content := fmt.Sprintf("presigned/%d.txt", n), fmt.Sprintf("presigned upload %d", n)
			p, err := presigner(k).PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s3Bucket), Key: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			code := s3Code(t, send(t, p.Method, p.URL, p.SignedHeader, content))
			if got, _, _ := s.object(name); code == "" && string(got) != content {
				t.Errorf("presigned PUT stored %q, want %q", got, content)
			}
			return code
		}},
	}
}

// tamperingTransport changes one byte of an upload's body on the wire, at
// offset at, while armed.
type tamperingTransport struct {
	armed atomic.Bool
	at    int64
}

func (tt *tamperingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == "PUT" && r.Body != nil && tt.armed.Load() {
		r.Body = &flipByte{r: r.Body, at: tt.at}
	}
	return http.DefaultTransport.RoundTrip(r)
}

type flipByte struct {
	r   io.ReadCloser
	off int64
	at  int64
}

func (f *flipByte) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if i := f.at - f.off; i >= 0 && i < int64(n) {
		p[i] ^= 0x01
	}
	f.off += int64(n)
	return n, err
}

func (f *flipByte) Close() error { return f.r.Close() }

// minioClient is minio-go against the S3 stub: over plain HTTP it signs
// every PutObject as an aws-chunked stream (STREAMING-AWS4-HMAC-SHA256-
// PAYLOAD), 64 KiB a chunk.
func (s *s3Stub) minioClient(t *testing.T, k awsKey, tr http.RoundTripper) *minio.Client {
	t.Helper()
	u, _ := url.Parse(s.url)
	c, err := minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(k.id, k.secret, k.session), Secure: false, Region: sesRegion,
		BucketLookup: minio.BucketLookupPath, MaxRetries: 1, Transport: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// minioCode returns the S3 error code minio-go reports, "" for nil.
func minioCode(t *testing.T, what string, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	code := minio.ToErrorResponse(err).Code
	if code == "" {
		t.Fatalf("%s: no S3 error code in %v", what, err)
	}
	return code
}

// TestSigV4S3ChunkedUpload: minio-go uploads 200 KiB as an aws-chunked
// stream signed chunk by chunk; the stub verifies every chunk with the seed
// the access service handed back, for a static and an ephemeral key, and
// minio-go reads the object back. The same client goes through every
// refusal of the issue.
func TestSigV4S3ChunkedUpload(t *testing.T) {
	a := newAWSWorld(t)
	ctx := context.Background()
	object := make([]byte, 200<<10)
	rand.Read(object)
	n := 0
	calls := []awsCall{
		{"minio-go PutObject (aws-chunked)", func(t *testing.T, k awsKey) string {
			n++
			name := fmt.Sprintf("chunked/%d.bin", n)
			_, err := a.s3.minioClient(t, k, nil).PutObject(ctx, s3Bucket, name, bytes.NewReader(object), int64(len(object)), minio.PutObjectOptions{})
			if got, payload, stored := a.s3.object(name); err == nil && (!bytes.Equal(got, object) || payload != "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
				t.Errorf("minio-go PutObject: stored %v, %d bytes as %q; want the %d bytes aws-chunked", stored, len(got), payload, len(object))
			}
			return minioCode(t, "PutObject", err)
		}},
		{"minio-go GetObject", func(t *testing.T, k awsKey) string {
			obj, err := a.s3.minioClient(t, k, nil).GetObject(ctx, s3Bucket, s3Seeded, minio.GetObjectOptions{})
			if err == nil {
				var got []byte
				if got, err = io.ReadAll(obj); err == nil && string(got) != "seeded object" {
					t.Errorf("minio-go GetObject read %q", got)
				}
			}
			return minioCode(t, "GetObject", err)
		}},
	}
	a.runRefusals(t, calls, nil)
	if n == 0 {
		t.Fatal("no upload ran")
	}
}

// TestSigV4S3ChunkedUploadTampered: a byte of minio-go's aws-chunked body
// changed on the wire, in the second 64 KiB chunk, is refused mid-stream:
// the stub has read only the verified first chunk when the refusal comes,
// stores nothing, and minio-go prints SignatureDoesNotMatch. The same
// upload untouched is stored.
func TestSigV4S3ChunkedUploadTampered(t *testing.T) {
	a := newAWSWorld(t)
	ctx := context.Background()
	object := bytes.Repeat([]byte("0123456789abcdef"), 200<<10/16)
	// The second chunk's data starts after the first chunk
	// ("10000;chunk-signature=<64>\r\n", 64 KiB, "\r\n") and the second
	// chunk's header line.
	const firstChunk = 88 + 65536 + 2
	tr := &tamperingTransport{at: firstChunk + 88 + 1000}
	for _, k := range []awsKey{a.static, a.eph} {
		tr.armed.Store(true)
		name := "tampered-" + strings.ReplaceAll(k.name, " ", "-")
		_, err := a.s3.minioClient(t, k, tr).PutObject(ctx, s3Bucket, name, bytes.NewReader(object), int64(len(object)), minio.PutObjectOptions{})
		if code := minioCode(t, "tampered PutObject", err); code != "SignatureDoesNotMatch" {
			t.Errorf("%s: tampered upload: %q, want SignatureDoesNotMatch", k.name, code)
		}
		if _, _, stored := a.s3.object(name); stored {
			t.Errorf("%s: the tampered upload was stored", k.name)
		}
		a.s3.mu.Lock()
		verified := a.s3.verifiedBeforeRefusal
		a.s3.mu.Unlock()
		if verified != 65536 {
			t.Errorf("%s: the stub had read %d payload bytes when refused, want the first chunk's 65536", k.name, verified)
		}
		tr.armed.Store(false)
		if _, err := a.s3.minioClient(t, k, tr).PutObject(ctx, s3Bucket, name, bytes.NewReader(object), int64(len(object)), minio.PutObjectOptions{}); err != nil {
			t.Errorf("%s: the same upload untouched: %v", k.name, err)
		}
		if got, _, _ := a.s3.object(name); !bytes.Equal(got, object) {
			t.Errorf("%s: the untouched upload stored %d bytes, want %d", k.name, len(got), len(object))
		}
	}
}

// TestAttackChunkedBodyChangedBehindMiddleware: a resource service behind
// accessclient.Middleware, whose handler just reads r.Body, gets an
// aws-chunked upload's payload verified chunk by chunk: a byte changed on
// the wire fails the handler's read with SignatureDoesNotMatch and nothing
// is stored. Middleware used to hand the handler the raw chunked body,
// chunk signatures unchecked: the upload was stored, changed, with its
// chunk framing.
func TestAttackChunkedBodyChangedBehindMiddleware(t *testing.T) {
	a := newAWSWorld(t)
	c, err := accessclient.New(a.wardenEndpoint, "storage")
	if err != nil {
		t.Fatal(err)
	}
	c.SigningRegion, c.SigningService = sesRegion, "s3"
	var mu sync.Mutex
	stored := map[string][]byte{}
	need := func(*http.Request) accessclient.Check {
		return accessclient.Check{Permission: "storage.objects.put", Resource: accessclient.Resource{ID: a.w.folderA}}
	}
	srv := httptest.NewServer(c.Middleware(need, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(r.Body)
		var e *accessclient.Error
		switch {
		case errors.As(err, &e):
			s3Error(w, awsStatus(e.Reason), e.Reason)
		case err != nil:
			s3Error(w, http.StatusBadRequest, "IncompleteBody")
		default:
			mu.Lock()
			stored[r.URL.Path] = data
			mu.Unlock()
			w.Header().Set("ETag", etag(data))
		}
	})))
	t.Cleanup(srv.Close)
	s := &s3Stub{url: srv.URL}
	object := bytes.Repeat([]byte("middleware"), 20<<10)
	tr := &tamperingTransport{at: 88 + 65536 + 2 + 88 + 500}
	tr.armed.Store(true)
	_, err = s.minioClient(t, a.static, tr).PutObject(context.Background(), s3Bucket, "changed", bytes.NewReader(object), int64(len(object)), minio.PutObjectOptions{})
	if code := minioCode(t, "changed upload", err); code != "SignatureDoesNotMatch" {
		t.Errorf("an upload changed on the wire: %q, want SignatureDoesNotMatch", code)
	}
	tr.armed.Store(false)
	if _, err := s.minioClient(t, a.static, tr).PutObject(context.Background(), s3Bucket, "intact", bytes.NewReader(object), int64(len(object)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("the upload intact: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if _, ok := stored["/"+s3Bucket+"/changed"]; ok {
		t.Error("the changed upload was stored")
	}
	if got := stored["/"+s3Bucket+"/intact"]; !bytes.Equal(got, object) {
		t.Errorf("the intact upload stored %d bytes, want its %d-byte payload", len(got), len(object))
	}
}
