package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

func main() {
	dir := os.Args[1]
	pemb, _ := os.ReadFile(dir + "/rsa2048.key")
	key, err := jwt.ParseRSAPrivateKeyFromPEM(pemb)
	if err != nil {
		panic(err)
	}
	iat := time.Unix(1767225600, 0)
	// Exactly what github.com/yandex-cloud/go-sdk/v2/credentials/jwt_token.go builds.
	tok := jwt.NewWithClaims(jwt.SigningMethodPS256, jwt.RegisteredClaims{
		Issuer:    "ajevectoraccount0001",
		IssuedAt:  jwt.NewNumericDate(iat),
		ExpiresAt: jwt.NewNumericDate(iat.Add(time.Hour)),
		Audience:  jwt.ClaimStrings{"https://iam.api.cloud.yandex.net/iam/v1/tokens"},
	})
	tok.Header["kid"] = "ajkvectorkey00000001"
	s, err := tok.SignedString(key)
	if err != nil {
		panic(err)
	}
	os.WriteFile(dir+"/yandex-sdk-ps256.jwt", []byte(s+"\n"), 0o644)
	// Same signing input, but PSS with the longest salt (rsa.PSSSaltLengthAuto):
	// valid RSASSA-PSS, not valid PS256 (RFC 7518 §3.5).
	signed := s[:strings.LastIndexByte(s, '.')]
	d := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	if err != nil {
		panic(err)
	}
	os.WriteFile(dir+"/pss-max-salt.jwt", []byte(signed+"."+base64.RawURLEncoding.EncodeToString(sig)+"\n"), 0o644)
}
