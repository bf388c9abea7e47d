package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"

	"warden/jwtauth"
	"warden/server"
)

// restParallelism is the number of REST clients per core.
const restParallelism = 8

// BenchmarkJWTExchange measures the service account JWT → IAM token
// exchange with RSA-2048 and RSA-4096 keys: in process (IamTokenService.
// Create called directly), over REST and, for comparison, over gRPC on
// loopback, next to the bare rsa.VerifyPSS of the same token in the same
// run, which is the physical limit of an exchange. Every sub-benchmark runs
// on all GOMAXPROCS cores (b.RunParallel), so their ns/op compare as rates
// on the same cores; the REST and gRPC clients share those cores.
func BenchmarkJWTExchange(b *testing.B) {
	n := start(b, b.TempDir(), "", func(c *server.Config) {
		c.Logger = slog.New(slog.DiscardHandler)
		c.RefreshInterval = 0 // the production default
	})
	w := newBenchWorld(b, n)
	tokens := n.m.Service().IamTokens()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	conn := sdkConn(b, n.addr)
	for _, alg := range []string{"RSA_2048", "RSA_4096"} {
		created := n.rest("POST", "/iam/v1/keys", w.admin, map[string]any{"serviceAccountId": w.robot, "keyAlgorithm": alg})
		priv, err := jwtauth.ParsePrivateKey(str(created.body, "privateKey"))
		if err != nil {
			b.Fatalf("create key: %s", created.raw)
		}
		kid := str(created.body, "key", "id")
		// A few distinct tokens, as from several clients of one key.
		var jwts []string
		var bodies [][]byte
		for i := range 8 {
			s, err := jwtauth.Sign(rand.Reader, priv, kid, jwtauth.NewClaims(w.robot, jwtauth.YandexAudience, time.Now().Add(-time.Duration(i)*time.Second)))
			if err != nil {
				b.Fatal(err)
			}
			jwts = append(jwts, s)
			body, _ := json.Marshal(map[string]string{"jwt": s})
			bodies = append(bodies, body)
		}
		name := strings.ReplaceAll(alg, "_", "")

		b.Run(name+"/rsa.VerifyPSS", func(b *testing.B) {
			dot := strings.LastIndexByte(jwts[0], '.')
			digest := sha256.Sum256([]byte(jwts[0][:dot]))
			sig, _ := base64.RawURLEncoding.DecodeString(jwts[0][dot+1:])
			opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := rsa.VerifyPSS(&priv.PublicKey, crypto.SHA256, digest[:], sig, opts); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run(name+"/InProcess", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for i := 0; pb.Next(); i++ {
					resp, err := tokens.Create(ctx, &iampb.CreateIamTokenRequest{Identity: &iampb.CreateIamTokenRequest_Jwt{Jwt: jwts[i%len(jwts)]}})
					if err != nil || resp.IamToken == "" {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run(name+"/REST", func(b *testing.B) {
			url := "http://" + n.addr + "/iam/v1/tokens"
			// Enough requests in flight to keep every core busy: with one
			// per core the cores idle during each round trip.
			b.SetParallelism(restParallelism)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					resp, err := client.Post(url, "application/json", bytes.NewReader(bodies[i%len(bodies)]))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
		b.Run(name+"/gRPC", func(b *testing.B) {
			tc := iampb.NewIamTokenServiceClient(conn)
			b.SetParallelism(restParallelism)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for i := 0; pb.Next(); i++ {
					resp, err := tc.Create(ctx, &iampb.CreateIamTokenRequest{Identity: &iampb.CreateIamTokenRequest_Jwt{Jwt: jwts[i%len(jwts)]}})
					if err != nil || resp.IamToken == "" {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
