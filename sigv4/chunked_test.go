package sigv4_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"warden/sigv4"
)

// The example of AWS's "Signature Calculations for the Authorization
// Header: Transferring Payload in Multiple Chunks" and of its trailer
// variant: a 66,560-byte object of 'a's sent as a 64 KiB chunk, a 1 KiB
// chunk and the final empty chunk, with the signatures AWS publishes.
const (
	docKeyID  = "AKIAIOSFODNN7EXAMPLE"
	docSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var docTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

type docExample struct {
	payload, signedHeaders, seed string
	chunkSigs                    [3]string
	trailer                      string // trailer lines, each ending in CRLF
}

var (
	docPlain = docExample{
		payload:       sigv4.StreamingPayload,
		signedHeaders: "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
		seed:          "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
		chunkSigs: [3]string{
			"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
			"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
			"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
		},
	}
	docTrailer = docExample{
		payload:       sigv4.StreamingPayloadTrailer,
		signedHeaders: "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
		seed:          "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
		chunkSigs: [3]string{
			"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
			"1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
			"2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
		},
		trailer: "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n",
	}
)

func (d docExample) body() []byte {
	var b bytes.Buffer
	for i, n := range []int{65536, 1024, 0} {
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", n, d.chunkSigs[i])
		b.Write(bytes.Repeat([]byte("a"), n))
		if n > 0 || d.trailer == "" {
			b.WriteString("\r\n")
		}
	}
	b.WriteString(d.trailer)
	if d.trailer != "" {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func (d docExample) request(contentLength int) *sigv4.Request {
	h := http.Header{}
	h.Set("X-Amz-Date", "20130524T000000Z")
	h.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	h.Set("X-Amz-Content-Sha256", d.payload)
	h.Set("Content-Encoding", "aws-chunked")
	h.Set("X-Amz-Decoded-Content-Length", "66560")
	h.Set("Content-Length", fmt.Sprint(contentLength))
	if d.trailer != "" {
		h.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
	}
	h.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+docKeyID+"/20130524/us-east-1/s3/aws4_request,SignedHeaders="+d.signedHeaders+",Signature="+d.seed)
	return &sigv4.Request{Method: "PUT", Path: "/examplebucket/chunkObject.txt", Host: "s3.amazonaws.com", Header: h}
}

func docVerifier(t *testing.T, now time.Time) *sigv4.Verifier {
	t.Helper()
	v, err := sigv4.New(sigv4.Config{
		Keys: sigv4.KeysFunc(func(c sigv4.Credential) (sigv4.SigningKey, error) {
			if c.AccessKeyID != docKeyID {
				return sigv4.SigningKey{}, sigv4.Refuse(sigv4.InvalidAccessKeyID, "unknown")
			}
			return sigv4.DeriveSigningKey([]byte(docSecret), c.Date, c.Region, c.Service), nil
		}),
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// docSeed verifies the example's request and returns its stream seed.
func docSeed(t *testing.T, d docExample) sigv4.StreamSeed {
	t.Helper()
	body := d.body()
	if d.trailer == "" && len(body) != 66824 {
		t.Fatalf("body is %d bytes, AWS says Content-Length 66824", len(body))
	}
	res, err := docVerifier(t, docTime.Add(time.Minute)).Verify(d.request(len(body)), sigv4.Expect{Region: "us-east-1", Service: "s3"})
	if err != nil {
		t.Fatalf("the documented seed signature: %v", err)
	}
	seed, ok := res.StreamSeed()
	if !ok || seed.DecodedLength != 66560 || seed.Signature != d.seed || seed.Trailer != (d.trailer != "") {
		t.Fatalf("stream seed = %+v, %v", seed, ok)
	}
	return seed
}

func readChunked(t *testing.T, body []byte, seed sigv4.StreamSeed) ([]byte, *sigv4.ChunkReader, error) {
	t.Helper()
	r, err := sigv4.NewChunkReader(bytes.NewReader(body), seed)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	return got, r, err
}

// TestChunkedAWSExample reproduces AWS's published chunk signatures: the
// seed signature verifies, every chunk verifies, the payload is 66,560 'a's.
func TestChunkedAWSExample(t *testing.T) {
	for name, d := range map[string]docExample{"plain": docPlain, "trailer": docTrailer} {
		t.Run(name, func(t *testing.T) {
			seed := docSeed(t, d)
			got, r, err := readChunked(t, d.body(), seed)
			if err != nil {
				t.Fatalf("reading the documented body: %v", err)
			}
			if !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) {
				t.Fatalf("payload is %d bytes, not 66560 'a's", len(got))
			}
			if d.trailer == "" {
				if r.Trailer() != nil {
					t.Fatalf("trailer = %v, want none", r.Trailer())
				}
				return
			}
			// The trailer is the payload's CRC32C, as AWS says.
			crc := crc32.Checksum(got, crc32.MakeTable(crc32.Castagnoli))
			want := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc))
			if got := r.Trailer().Get("x-amz-checksum-crc32c"); got != want {
				t.Fatalf("trailer checksum = %q, want %q", got, want)
			}
		})
	}
}

// TestAttackChunkedBodyTampering: a stream whose chunks were changed, dropped,
// reordered, cut or padded is refused, and no byte of a chunk that fails
// is handed out.
func TestAttackChunkedBodyTampering(t *testing.T) {
	seed := docSeed(t, docPlain)
	good := docPlain.body()
	firstData := bytes.Index(good, []byte("\r\n")) + 2
	secondHeader := firstData + 65536 + 2
	finalHeader := bytes.LastIndex(good, []byte("0;chunk-signature="))

	replace := func(old, new string) []byte { return bytes.Replace(good, []byte(old), []byte(new), 1) }
	cases := []struct {
		name string
		body []byte
		want sigv4.Reason
	}{
		{"a data byte of the first chunk", flip(good, firstData+100), sigv4.SignatureDoesNotMatch},
		{"a data byte of the second chunk", flip(good, secondHeader+90), sigv4.SignatureDoesNotMatch},
		{"a chunk signature", replace(docPlain.chunkSigs[1], docPlain.chunkSigs[0]), sigv4.SignatureDoesNotMatch},
		{"the final chunk dropped", good[:finalHeader], sigv4.IncompleteBody},
		{"cut inside a chunk", good[:firstData+1000], sigv4.IncompleteBody},
		{"the second chunk dropped", append(append([]byte{}, good[:secondHeader]...), good[finalHeader:]...), sigv4.SignatureDoesNotMatch},
		{"data after the final chunk", append(append([]byte{}, good...), 'x'), sigv4.InvalidRequest},
		{"a chunk extension", replace(";chunk-signature=", ";x=1;chunk-signature="), sigv4.InvalidRequest},
		{"no CRLF after the data", replace("\r\n400;", "\n\n400;"), sigv4.InvalidRequest},
		{"an oversized chunk", []byte("1000001;chunk-signature=" + docPlain.chunkSigs[0] + "\r\n"), sigv4.InvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := readChunked(t, c.body, seed)
			if r, _ := sigv4.ReasonOf(err); r != c.want {
				t.Fatalf("error = %v, want %v", err, c.want)
			}
			if len(got) > 0 && !bytes.Equal(got, bytes.Repeat([]byte("a"), len(got))) {
				t.Fatalf("handed out bytes of a chunk that failed")
			}
			if c.want == sigv4.SignatureDoesNotMatch && strings.HasPrefix(c.name, "a data byte of the first") && len(got) != 0 {
				t.Fatalf("handed out %d bytes of the first chunk, which failed", len(got))
			}
		})
	}

	t.Run("a decoded length that differs", func(t *testing.T) {
		for _, n := range []int64{66559, 66561} {
			s := seed
			s.DecodedLength = n
			if _, _, err := readChunked(t, good, s); !isReason(err, sigv4.IncompleteBody) {
				t.Fatalf("decoded length %d: %v, want IncompleteBody", n, err)
			}
		}
	})
	t.Run("another seed", func(t *testing.T) {
		s := seed
		s.Signature = strings.Repeat("0", 64)
		if _, _, err := readChunked(t, good, s); !isReason(err, sigv4.SignatureDoesNotMatch) {
			t.Fatalf("%v, want SignatureDoesNotMatch", err)
		}
	})
	t.Run("a changed trailer", func(t *testing.T) {
		ts := docSeed(t, docTrailer)
		body := bytes.Replace(docTrailer.body(), []byte("sOO8/Q=="), []byte("sOO8/R=="), 1)
		if _, r, err := readChunked(t, body, ts); !isReason(err, sigv4.SignatureDoesNotMatch) || r.Trailer() != nil {
			t.Fatalf("%v, want SignatureDoesNotMatch and no trailer", err)
		}
	})
}

// TestChunkedRoundTrip reads bodies chunked and signed by an independent
// signer written from AWS's description, in sizes that end on and off a
// chunk boundary.
func TestChunkedRoundTrip(t *testing.T) {
	seed := docSeed(t, docPlain)
	for _, size := range []int{0, 1, 8191, 8192, 65536, 200000} {
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		s := seed
		s.DecodedLength = int64(size)
		body := chunkSign(payload, 8192, docSecret, seed.Signature)
		got, _, err := readChunked(t, body, s)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("size %d: %v (%d bytes back)", size, err, len(got))
		}
	}
}

// chunkSign encodes payload as an aws-chunked body signed chunk by chunk
// for the AWS example's scope, using crypto/hmac directly.
func chunkSign(payload []byte, chunk int, secret, seed string) []byte {
	key := []byte("AWS4" + secret)
	for _, p := range []string{"20130524", "us-east-1", "s3", "aws4_request"} {
		key = hmacSHA256(key, p)
	}
	var b bytes.Buffer
	prev := seed
	for {
		n := min(chunk, len(payload))
		data := payload[:n]
		payload = payload[n:]
		sum := sha256.Sum256(data)
		sts := "AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" + prev + "\n" + sigv4.EmptySHA256 + "\n" + hex.EncodeToString(sum[:])
		prev = hex.EncodeToString(hmacSHA256(key, sts))
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n%s\r\n", n, prev, data)
		if n == 0 {
			return b.Bytes()
		}
	}
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func flip(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i] ^= 1
	return c
}

func isReason(err error, want sigv4.Reason) bool {
	var r *sigv4.Refusal
	return errors.As(err, &r) && r.Reason == want
}
