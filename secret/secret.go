// Package secret holds Warden's secret handling: random generation, SHA-256
// digests for machine secrets, argon2id for passwords, AES-256-GCM sealing
// under the master key, and a string type that never prints.
package secret

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// String is a secret value. It prints as [redacted] in logs and fmt output,
// so it cannot leak by accident; call Reveal where the value is really needed.
type String struct{ v *string }

// New wraps s.
func New(s string) String { return String{v: &s} }

// Reveal returns the secret value.
func (s String) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// String implements fmt.Stringer.
func (s String) String() string { return "[redacted]" }

// GoString implements fmt.GoStringer.
func (s String) GoString() string { return "[redacted]" }

// MarshalText keeps secrets out of structured logs too.
func (s String) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// RandomBytes returns n bytes from crypto/rand.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("secret: crypto/rand failed: " + err.Error())
	}
	return b
}

// RandomToken returns base64url text of n random bytes (no padding).
func RandomToken(n int) string { return base64.RawURLEncoding.EncodeToString(RandomBytes(n)) }

// Hash returns the SHA-256 digest of a high-entropy machine secret. Such
// secrets need no slow hash: guessing 256 random bits is infeasible anyway.
func Hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// Equal compares two byte strings in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// argon2id parameters, as recommended by RFC 9106 for memory-constrained use.
const (
	argonTime    = 2
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
)

// HashPassword returns the PHC-format argon2id encoding of password. It
// waits for a slot of the process-wide limiter for as long as it takes;
// request paths use HashPasswordContext, which gives up after a short wait.
func HashPassword(password string) string {
	enc, _ := hashPassword(context.Background(), password, false)
	return enc
}

// HashPasswordContext is HashPassword for request paths: it waits for a slot
// of the process-wide limiter (Passwords) at most the limiter's wait and
// then returns ErrBusy, or ctx's error when ctx ends first.
func HashPasswordContext(ctx context.Context, password string) (string, error) {
	return hashPassword(ctx, password, true)
}

func hashPassword(ctx context.Context, password string, bounded bool) (string, error) {
	release, err := Passwords().acquire(ctx, bounded)
	if err != nil {
		return "", err
	}
	defer release()
	salt := RandomBytes(16)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches an encoding made by
// HashPassword, waiting for a limiter slot as HashPassword does.
func VerifyPassword(encoded, password string) bool {
	ok, _ := verifyPassword(context.Background(), encoded, password, false)
	return ok
}

// VerifyPasswordContext is VerifyPassword for request paths, bounded as
// HashPasswordContext is. A malformed encoding does not match and takes no
// slot.
func VerifyPasswordContext(ctx context.Context, encoded, password string) (bool, error) {
	return verifyPassword(ctx, encoded, password, true)
}

func verifyPassword(ctx context.Context, encoded, password string, bounded bool) (bool, error) {
	p, ok := parseArgon2id(encoded)
	if !ok {
		return false, nil
	}
	release, err := Passwords().acquire(ctx, bounded)
	if err != nil {
		return false, err
	}
	defer release()
	got := argon2.IDKey([]byte(password), p.salt, p.iterations, p.memory, p.threads, uint32(len(p.key)))
	return Equal(got, p.key), nil
}

// DummyPasswordHash is an argon2id encoding, with the parameters
// HashPassword uses, of a random password that was thrown away. Checking a
// password against it costs what a real check costs, so a login path can
// spend that time for an unknown login and timing does not tell which
// logins exist. It is a constant so that no process pays 64 MiB and a
// hash's time at start to make one.
const DummyPasswordHash = "$argon2id$v=19$m=65536,t=2,p=2$F5SV9TTC8ufC4lBo08TJtg$qwqMexNdtpvM2XXdn0WLoKqth5+RZlvKCA4wooh/6/E"

type argon2idParams struct {
	memory, iterations uint32
	threads            uint8
	salt, key          []byte
}

// parseArgon2id reads a PHC argon2id encoding. Its memory must not exceed
// what the limiter budgets per slot, or one check could hold several
// slots' worth.
func parseArgon2id(encoded string) (argon2idParams, bool) {
	var p argon2idParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.iterations, &p.threads); err != nil {
		return p, false
	}
	if p.memory == 0 || p.memory > argonMemory || p.iterations == 0 || p.threads == 0 {
		return p, false
	}
	enc := base64.RawStdEncoding
	var err1, err2 error
	p.salt, err1 = enc.DecodeString(parts[4])
	p.key, err2 = enc.DecodeString(parts[5])
	return p, err1 == nil && err2 == nil && len(p.key) > 0
}

// Sealer encrypts secrets at rest with AES-256-GCM under the master key,
// and derives keys from it for other uses.
type Sealer struct {
	aead cipher.AEAD
	kdf  []byte // HMAC-SHA256(master key, "warden: derived keys")
}

// MasterKeySize is the length of a master key in bytes.
const MasterKeySize = 32

// NewSealer returns a Sealer for a 32-byte master key.
func NewSealer(masterKey []byte) (*Sealer, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fmt.Errorf("secret: master key must be %d bytes, got %d", MasterKeySize, len(masterKey))
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	mac := hmac.New(sha256.New, masterKey)
	mac.Write([]byte("warden: derived keys"))
	return &Sealer{aead: aead, kdf: mac.Sum(nil)}, nil
}

// Derive returns a 32-byte key for one use, named by label: the same on
// every wardend that shares the master key, and independent of the key
// that seals.
func (s *Sealer) Derive(label string) []byte {
	mac := hmac.New(sha256.New, s.kdf)
	mac.Write([]byte(label))
	return mac.Sum(nil)
}

// Seal encrypts plaintext; context binds the ciphertext to its use (for
// example the record ID) so a sealed value cannot be swapped between records.
func (s *Sealer) Seal(plaintext, context []byte) []byte {
	nonce := RandomBytes(s.aead.NonceSize())
	return s.aead.Seal(nonce, nonce, plaintext, context)
}

// Open decrypts a value made by Seal with the same context.
func (s *Sealer) Open(sealed, context []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("secret: sealed value too short")
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], context)
	if err != nil {
		return nil, errors.New("secret: cannot decrypt: wrong master key or corrupted value")
	}
	return pt, nil
}
