package sigv4_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"warden/sigv4"
)

// suiteDir holds the AWS SigV4 test suite (awslabs/aws-c-auth,
// tests/aws-signing-test-suite/v4): shared/ lies beside the checkout.
const suiteDir = "../../shared/testdata/sigv4"

// suiteCase is one case folder of the suite.
type suiteCase struct {
	name string
	dir  string
	ctx  struct {
		Credentials struct {
			AccessKeyID     string `json:"access_key_id"`
			SecretAccessKey string `json:"secret_access_key"`
			Token           string `json:"token"`
		} `json:"credentials"`
		Expiration       int    `json:"expiration_in_seconds"`
		Normalize        bool   `json:"normalize"`
		Region           string `json:"region"`
		Service          string `json:"service"`
		SignBody         bool   `json:"sign_body"`
		Timestamp        string `json:"timestamp"`
		OmitSessionToken bool   `json:"omit_session_token"`
	}
}

func loadSuite(t *testing.T) []suiteCase {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(suiteDir, "*", "context.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The suite is published with 38 cases; fewer means shared/ is missing
	// or damaged, and a test over nothing proves nothing.
	if len(dirs) != 38 {
		t.Fatalf("found %d SigV4 suite cases in %s, want 38", len(dirs), suiteDir)
	}
	var cases []suiteCase
	for _, f := range dirs {
		c := suiteCase{dir: filepath.Dir(f), name: filepath.Base(filepath.Dir(f))}
		if err := json.Unmarshal(readFile(t, f), &c.ctx); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cases = append(cases, c)
	}
	return cases
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (c *suiteCase) file(t *testing.T, name string) string {
	return string(readFile(t, filepath.Join(c.dir, name)))
}

func (c *suiteCase) now(t *testing.T) time.Time {
	now, err := time.Parse(time.RFC3339, c.ctx.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	return now
}

// keys knows the case's one key; like Warden's store, it checks the
// session token before it hands out a key.
func (c *suiteCase) keys() sigv4.Keys {
	return sigv4.KeysFunc(func(cr sigv4.Credential) (sigv4.SigningKey, error) {
		if cr.AccessKeyID != c.ctx.Credentials.AccessKeyID {
			return sigv4.SigningKey{}, sigv4.Refuse(sigv4.InvalidAccessKeyID, "unknown key")
		}
		if cr.SessionToken != c.ctx.Credentials.Token {
			return sigv4.SigningKey{}, sigv4.Refuse(sigv4.InvalidToken, "wrong session token")
		}
		return sigv4.DeriveSigningKey([]byte(c.ctx.Credentials.SecretAccessKey), cr.Date, cr.Region, cr.Service), nil
	})
}

func (c *suiteCase) verifier(t *testing.T, keys sigv4.Keys) *sigv4.Verifier {
	t.Helper()
	now := c.now(t)
	v, err := sigv4.New(sigv4.Config{
		Keys:                      keys,
		Now:                       func() time.Time { return now },
		AllowUnsignedSessionToken: c.ctx.OmitSessionToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (c *suiteCase) expect() sigv4.Expect {
	e := sigv4.Expect{Region: c.ctx.Region, Service: c.ctx.Service, Rules: sigv4.RulesGeneric, Path: sigv4.PathNormalized}
	if !c.ctx.Normalize {
		e.Path = sigv4.PathUnnormalized
	}
	return e
}

// parseRaw parses a request file of the suite the way an HTTP server would
// hand it over: request target as sent (spaces and UTF-8 included, as the
// suite writes them), header values trimmed, folded lines joined by a space,
// Host apart from the other headers. Lines without a colon are dropped, as
// a lenient server would.
func parseRaw(raw string) *sigv4.Request {
	head, body, _ := strings.Cut(raw, "\n\n")
	lines := strings.Split(head, "\n")
	req := &sigv4.Request{Header: http.Header{}}
	first := lines[0]
	sp, last := strings.IndexByte(first, ' '), strings.LastIndexByte(first, ' ')
	if sp < 0 || last <= sp {
		return req
	}
	req.Method = first[:sp]
	req.Path, req.RawQuery, _ = strings.Cut(first[sp+1:last], "?")
	var prev string
	for _, l := range lines[1:] {
		if l != "" && (l[0] == ' ' || l[0] == '\t') && prev != "" {
			vals := req.Header[prev]
			vals[len(vals)-1] += " " + strings.TrimSpace(l)
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || name == "" {
			prev = ""
			continue
		}
		prev = http.CanonicalHeaderKey(name)
		req.Header.Add(prev, strings.Trim(value, " \t"))
	}
	if h := req.Header["Host"]; len(h) == 1 {
		req.Host = h[0]
		delete(req.Header, "Host")
		prev = ""
	}
	sum := sha256.Sum256([]byte(body))
	req.BodySHA256 = hex.EncodeToString(sum[:])
	return req
}

// TestAWSSuite verifies every case of the AWS test suite in header and query
// form, and rebuilds the exact canonical request and string to sign.
func TestAWSSuite(t *testing.T) {
	for _, c := range loadSuite(t) {
		for _, form := range []string{"header", "query"} {
			t.Run(c.name+"/"+form, func(t *testing.T) {
				signed := c.file(t, form+"-signed-request.txt")
				wantSig := strings.TrimSpace(c.file(t, form+"-signature.txt"))
				if !strings.Contains(signed, "Signature="+wantSig) {
					t.Fatalf("the signed request does not carry the signature of %s-signature.txt", form)
				}
				res, err := c.verifier(t, c.keys()).Verify(parseRaw(signed), c.expect())
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if res.Credential.AccessKeyID != c.ctx.Credentials.AccessKeyID || res.Credential.SessionToken != c.ctx.Credentials.Token {
					t.Errorf("credential = %+v", res.Credential)
				}
				if got, want := res.Form.String(), form; got != want {
					t.Errorf("form = %s, want %s", got, want)
				}

				// A wrong key makes Verify show what it signed.
				wrong := sigv4.KeysFunc(func(cr sigv4.Credential) (sigv4.SigningKey, error) {
					return sigv4.DeriveSigningKey([]byte("not the secret"), cr.Date, cr.Region, cr.Service), nil
				})
				_, err = c.verifier(t, wrong).Verify(parseRaw(signed), c.expect())
				var ref *sigv4.Refusal
				if !errors.As(err, &ref) || ref.Reason != sigv4.SignatureDoesNotMatch {
					t.Fatalf("Verify with a wrong key: %v, want SignatureDoesNotMatch", err)
				}
				if got, want := ref.CanonicalRequest, c.file(t, form+"-canonical-request.txt"); got != want {
					t.Errorf("canonical request:\n%s\nwant:\n%s", got, want)
				}
				if got, want := ref.StringToSign, c.file(t, form+"-string-to-sign.txt"); got != want {
					t.Errorf("string to sign:\n%s\nwant:\n%s", got, want)
				}
			})
		}
	}
}

// TestAWSSuiteOneByteChanges changes, one at a time, every byte of every
// signed part of every suite request — method, path, query, the signed
// headers (names and values), the signature itself and the body when it is
// signed — and requires each changed request to be refused.
func TestAWSSuiteOneByteChanges(t *testing.T) {
	total := 0
	for _, c := range loadSuite(t) {
		for _, form := range []string{"header", "query"} {
			signed := c.file(t, form+"-signed-request.txt")
			v := c.verifier(t, c.keys())
			if _, err := v.Verify(parseRaw(signed), c.expect()); err != nil {
				t.Fatalf("%s/%s: the unchanged request: %v", c.name, form, err)
			}
			orig := parseRaw(signed)
			for _, i := range signedPositions(signed) {
				changed := signed[:i] + string(changeByte(signed[i])) + signed[i+1:]
				req := parseRaw(changed)
				if c.ctx.Normalize && req.Path != orig.Path && normalized(req.Path) == normalized(orig.Path) {
					// Not a change of what was signed: a normalising
					// service serves both paths as one (the suite's
					// get-relative-normalized signs /example/.. as /).
					continue
				}
				_, err := v.Verify(req, c.expect())
				if _, ok := sigv4.ReasonOf(err); !ok {
					t.Errorf("%s/%s: byte %d %q→%q: got %v, want a refusal\n%s", c.name, form, i, signed[i], changeByte(signed[i]), err, changed)
				}
				total++
			}
		}
	}
	if total < 10000 {
		t.Fatalf("only %d changes tried", total)
	}
	t.Logf("%d one-byte changes tried", total)
}

// normalized is an independent model of path normalisation: path.Clean
// (which also drops empty segments), keeping a trailing slash.
func normalized(p string) string {
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// signedPositions returns the offsets of the bytes a signature covers in a
// signed request file: method and target, the lines of signed headers and
// of Authorization, and the body when its hash is signed.
func signedPositions(signed string) []int {
	var pos []int
	head, body, _ := strings.Cut(signed, "\n\n")
	lines := strings.SplitAfter(head, "\n")
	req := parseRaw(signed)
	var list string
	if a := req.Header.Get("Authorization"); a != "" {
		_, list, _ = strings.Cut(a, "SignedHeaders=")
		list, _, _ = strings.Cut(list, ",")
	} else {
		_, list, _ = strings.Cut(req.RawQuery, "X-Amz-SignedHeaders=")
		list, _, _ = strings.Cut(list, "&")
		list = strings.ReplaceAll(list, "%3B", ";")
	}
	signedNames := ";" + list + ";authorization;"
	off, name := 0, ""
	for i, l := range lines {
		content := strings.TrimSuffix(l, "\n")
		switch {
		case i == 0:
			for j := 0; j < strings.LastIndexByte(content, ' '); j++ {
				pos = append(pos, off+j)
			}
		default:
			if content[0] != ' ' && content[0] != '\t' {
				name, _, _ = strings.Cut(content, ":")
			}
			if strings.Contains(signedNames, ";"+strings.ToLower(name)+";") {
				for j := range content {
					pos = append(pos, off+j)
				}
			}
		}
		off += len(l)
	}
	if body != "" {
		for j := range body {
			pos = append(pos, len(head)+2+j)
		}
	}
	return pos
}

// changeByte returns another byte that cannot mean the same thing: digits
// and letters rotate within their class (a hex digit stays a hex digit when
// it can), anything else becomes 'Q' — never a '.', '/', space or escape,
// which normalisation could turn back into the original.
func changeByte(b byte) byte {
	switch {
	case b >= '0' && b <= '9':
		return '0' + (b-'0'+1)%10
	case b >= 'a' && b <= 'z':
		return 'a' + (b-'a'+1)%26
	case b >= 'A' && b <= 'Z':
		return 'A' + (b-'A'+1)%26
	case b == 'Q':
		return 'R'
	default:
		return 'Q'
	}
}

func TestParseRaw(t *testing.T) {
	r := parseRaw("GET /a b/?x=1 HTTP/1.1\nHost:h\nMy-Header1:value1\n  value2\nMy-Header1: v3 \n\nbody")
	if r.Method != "GET" || r.Path != "/a b/" || r.RawQuery != "x=1" || r.Host != "h" {
		t.Fatalf("parsed %+v", r)
	}
	if got := strings.Join(r.Header["My-Header1"], "|"); got != "value1 value2|v3" {
		t.Fatalf("My-Header1 = %q", got)
	}
	if !bytes.Equal([]byte(r.BodySHA256), []byte("230d8358dc8e8890b4c58deeb62912ee2f20357ae92a5cc861b98e68fe31acb5")) {
		t.Fatalf("body hash %s", r.BodySHA256)
	}
}
