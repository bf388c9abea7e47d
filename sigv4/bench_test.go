package sigv4_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"warden/sigv4"
)

const benchKeys = 1_000_000

// memoryKeys is a Keys over an in-memory map of access keys, as Warden's
// store keeps them, with a derived-key cache in front of the derivation.
type memoryKeys struct {
	secrets map[string][40]byte
	cache   *sigv4.KeyCache
}

func (m *memoryKeys) SigningKey(c sigv4.Credential) (sigv4.SigningKey, error) {
	secret, ok := m.secrets[c.AccessKeyID]
	if !ok {
		return sigv4.SigningKey{}, sigv4.Refuse(sigv4.InvalidAccessKeyID, "unknown key")
	}
	if k, ok := m.cache.Get(c); ok {
		return k, nil
	}
	k := sigv4.DeriveSigningKey(secret[:], c.Date, c.Region, c.Service)
	m.cache.Put(c, k)
	return k, nil
}

var (
	benchOnce    sync.Once
	benchStore   *memoryKeys
	benchPerKey  float64
	benchKeyID   string
	benchSecrets [40]byte
)

// loadBenchKeys builds the million keys once per test binary, and measures
// the heap they take.
func loadBenchKeys(b *testing.B) *memoryKeys {
	benchOnce.Do(func() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := make(map[string][40]byte, benchKeys)
		for i := range benchKeys {
			var s [40]byte
			copy(s[:], fmt.Sprintf("secret%034d", i))
			m[fmt.Sprintf("WDN%017d", i)] = s
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		benchPerKey = float64(after.HeapAlloc-before.HeapAlloc) / benchKeys
		cache, err := sigv4.NewKeyCache(100_000)
		if err != nil {
			panic(err)
		}
		benchStore = &memoryKeys{secrets: m, cache: cache}
		benchKeyID = fmt.Sprintf("WDN%017d", 424242)
		benchSecrets = m[benchKeyID]
	})
	return benchStore
}

// benchRequest is an S3 GetObject with a query, signed by aws-sdk-go-v2 in
// header form the way the S3 client signs it.
func benchRequest(b *testing.B) sigv4.Request {
	b.Helper()
	r, err := http.NewRequestWithContext(context.Background(), "GET", "http://storage.example.net/bucket/photos/2026/cat.jpg?versionId=3&partNumber=1", nil)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("X-Amz-Content-Sha256", sigv4.EmptySHA256)
	r.Header.Set("Amz-Sdk-Invocation-Id", "6e3f4a1c-0c5e-4c39-9c6a-1f0b0d7c2e11")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.48.0 os/linux lang/go#1.26 api/s3#1.80.0")
	creds := aws.Credentials{AccessKeyID: benchKeyID, SecretAccessKey: string(benchSecrets[:])}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sigv4.EmptySHA256, "s3", "ru-central1", sdkTime, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		b.Fatal(err)
	}
	req := sigv4.FromHTTP(r, "")
	req.Host = r.URL.Host
	return req
}

func benchVerifier(b *testing.B, keys sigv4.Keys) *sigv4.Verifier {
	v, err := sigv4.New(sigv4.Config{Keys: keys, Now: func() time.Time { return sdkTime }})
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// BenchmarkVerifyHeader1MKeys: header-form verification of an SDK-signed S3
// request, the key found among a million in memory, its derived key cached
// (repeat key and day). Target: ≥ 150,000/s on one core (≤ 6.7 µs/op),
// ≤ 4 allocs.
func BenchmarkVerifyHeader1MKeys(b *testing.B) {
	keys := loadBenchKeys(b)
	req := benchRequest(b)
	v := benchVerifier(b, keys)
	want := sigv4.Expect{Region: "ru-central1", Service: "s3"}
	if _, err := v.Verify(&req, want); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(&req, want); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(benchPerKey, "B/key")
}

// BenchmarkMachineLimit is the floor under BenchmarkVerifyHeader1MKeys: the
// two hashes no verifier can skip — SHA-256 of the same canonical request
// and HMAC-SHA256 (crypto/hmac, reused) of the same string to sign.
func BenchmarkMachineLimit(b *testing.B) {
	loadBenchKeys(b)
	req := benchRequest(b)
	wrong := sigv4.KeysFunc(func(c sigv4.Credential) (sigv4.SigningKey, error) {
		return sigv4.DeriveSigningKey([]byte("x"), c.Date, c.Region, c.Service), nil
	})
	_, err := benchVerifier(b, wrong).Verify(&req, sigv4.Expect{Region: "ru-central1", Service: "s3"})
	var ref *sigv4.Refusal
	if !errors.As(err, &ref) {
		b.Fatal(err)
	}
	creq, sts := []byte(ref.CanonicalRequest), []byte(ref.StringToSign)
	key := sigv4.DeriveSigningKey(benchSecrets[:], "20260314", "ru-central1", "s3")
	mac := hmac.New(sha256.New, key[:])
	var sum [32]byte
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = sha256.Sum256(creq)
		mac.Reset()
		mac.Write(sts)
		mac.Sum(sum[:0])
	}
}

// BenchmarkVerifyHeaderColdKey: the same request, the derived-key cache
// empty every time (a key's first request of the day).
func BenchmarkVerifyHeaderColdKey(b *testing.B) {
	keys := loadBenchKeys(b)
	req := benchRequest(b)
	cold := sigv4.KeysFunc(func(c sigv4.Credential) (sigv4.SigningKey, error) {
		s := keys.secrets[c.AccessKeyID]
		return sigv4.DeriveSigningKey(s[:], c.Date, c.Region, c.Service), nil
	})
	v := benchVerifier(b, cold)
	want := sigv4.Expect{Region: "ru-central1", Service: "s3"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(&req, want); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChunkReader: reading a 1 MiB aws-chunked body in 64 KiB chunks,
// each signature checked.
func BenchmarkChunkReader(b *testing.B) {
	seed := sigv4.StreamSeed{
		Key:    sigv4.DeriveSigningKey([]byte(docSecret), "20130524", "us-east-1", "s3"),
		Time:   docTime,
		Region: "us-east-1", Service: "s3",
		Signature:     docPlain.seed,
		DecodedLength: 1 << 20,
	}
	body := chunkSign(bytes.Repeat([]byte("z"), 1<<20), 64<<10, docSecret, docPlain.seed)
	b.SetBytes(1 << 20)
	b.ReportAllocs()
	for b.Loop() {
		r, err := sigv4.NewChunkReader(bytes.NewReader(body), seed)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}
