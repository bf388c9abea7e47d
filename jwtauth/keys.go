package jwtauth

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"
)

// ParsePublicKey reads an RSA public key from PEM: a SubjectPublicKeyInfo
// ("PUBLIC KEY", what the Yandex API returns) or PKCS #1 ("RSA PUBLIC
// KEY"). It returns the key and its SubjectPublicKeyInfo DER, whose hash
// identifies the key. Keys under MinKeyBits or with an exponent other than
// an odd number ≥ 65537 (FIPS 186-5) are rejected.
func ParsePublicKey(pemText string) (*rsa.PublicKey, []byte, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, nil, errors.New("jwtauth: no PEM block found")
	}
	var pub *rsa.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("jwtauth: parse public key: %w", err)
		}
		var ok bool
		if pub, ok = k.(*rsa.PublicKey); !ok {
			return nil, nil, errors.New("jwtauth: not an RSA public key")
		}
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("jwtauth: parse public key: %w", err)
		}
		pub = k
	default:
		return nil, nil, fmt.Errorf("jwtauth: PEM block %q is not a public key", block.Type)
	}
	if err := checkPublicKey(pub); err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("jwtauth: marshal public key: %w", err)
	}
	return pub, der, nil
}

func checkPublicKey(pub *rsa.PublicKey) error {
	if pub.N.BitLen() < MinKeyBits {
		return fmt.Errorf("%w: %d bits, at least %d required", ErrKeyTooSmall, pub.N.BitLen(), MinKeyBits)
	}
	if pub.E < 65537 || pub.E%2 == 0 {
		return errors.New("jwtauth: the RSA public exponent must be odd and at least 65537")
	}
	return nil
}

// MarshalPublicKey returns pub as a SubjectPublicKeyInfo PEM ("BEGIN
// PUBLIC KEY") and its DER.
func MarshalPublicKey(pub *rsa.PublicKey) (string, []byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", nil, fmt.Errorf("jwtauth: marshal public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), der, nil
}

// MarshalPrivateKey returns priv as a PKCS #8 PEM ("BEGIN PRIVATE KEY"), the
// form the Yandex API returns and PyJWT and the Yandex SDKs read.
func MarshalPrivateKey(priv *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("jwtauth: marshal private key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// ParsePrivateKey reads an RSA private key from PEM, PKCS #8 or PKCS #1.
// Text before the PEM block is skipped: Yandex key files may start the
// private key with a "PLEASE DO NOT REMOVE THIS LINE! …" line.
func ParsePrivateKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("jwtauth: no PEM block found in the private key")
	}
	var priv *rsa.PrivateKey
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("jwtauth: parse private key: %w", err)
		}
		var ok bool
		if priv, ok = k.(*rsa.PrivateKey); !ok {
			return nil, errors.New("jwtauth: not an RSA private key")
		}
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("jwtauth: parse private key: %w", err)
		}
		priv = k
	default:
		return nil, fmt.Errorf("jwtauth: PEM block %q is not a private key", block.Type)
	}
	if err := checkPublicKey(&priv.PublicKey); err != nil {
		return nil, err
	}
	return priv, nil
}

// Sign returns a PS256 token with header {"typ":"JWT","alg":"PS256","kid":
// keyID} and claims c, as the Yandex SDKs build it. An Audience of one value
// is sent as a string. random supplies the PSS salt.
func Sign(random io.Reader, priv *rsa.PrivateKey, keyID string, c Claims) (string, error) {
	if keyID == "" || c.Issuer == "" || len(c.Audience) == 0 || c.IssuedAt.IsZero() || c.ExpiresAt.IsZero() {
		return "", errors.New("jwtauth: key ID, iss, aud, iat and exp are required")
	}
	header, err := json.Marshal(struct {
		Typ string `json:"typ"`
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}{"JWT", Algorithm, keyID})
	if err != nil {
		return "", err
	}
	var aud any = c.Audience
	if len(c.Audience) == 1 {
		aud = c.Audience[0]
	}
	payload, err := json.Marshal(struct {
		Iss string `json:"iss"`
		Aud any    `json:"aud"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
		Nbf int64  `json:"nbf,omitempty"`
	}{c.Issuer, aud, c.IssuedAt.Unix(), c.ExpiresAt.Unix(), unixOrZero(c.NotBefore)})
	if err != nil {
		return "", err
	}
	signed := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPSS(random, priv, crypto.SHA256, digest[:], pssOptions)
	if err != nil {
		return "", fmt.Errorf("jwtauth: sign: %w", err)
	}
	return signed + "." + b64.EncodeToString(sig), nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// NewClaims returns the claims the Yandex SDK puts in a token for service
// account issuer: audience aud, issued now, expiring an hour later.
func NewClaims(issuer, aud string, now time.Time) Claims {
	now = now.Truncate(time.Second)
	return Claims{Issuer: issuer, Audience: []string{aud}, IssuedAt: now, ExpiresAt: now.Add(DefaultMaxLifetime)}
}
