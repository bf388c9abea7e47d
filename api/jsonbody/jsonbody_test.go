package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"warden"
)

func TestCheckDepth(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		ok   bool
	}{
		{"empty", ``, 0, true},
		{"scalar at zero", `"x"`, 0, true},
		{"object at zero", `{}`, 0, false},
		{"flat", `{"a": [1, 2], "b": {}}`, 2, true},
		{"one too deep", `{"a": [[1]]}`, 2, false},
		{"brackets in strings", `{"a": "[[[[{{{{"}`, 1, true},
		{"escaped quote keeps the string open", `{"a": "\"[[["}`, 1, true},
		{"escaped backslash closes the string", `{"a": "\\", "b": [[]]}`, 2, false},
		{"siblings do not add up", `[[], [], [[]]]`, 3, true},
		{"closing lowers the depth", `[[[]]] [[[]]]`, 3, true},
		{"unterminated string", `["[[[[`, 1, true},
		{"unbalanced close", `]]]][[[[`, 3, true}, // the decoder refuses it
		{"attack shape", strings.Repeat("[", 9000) + strings.Repeat("]", 9000), MaxDepth, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckDepth([]byte(tt.in), tt.max)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckDepth(%.40q, %d) = %v, want ok=%v", tt.in, tt.max, err, tt.ok)
			}
			if err != nil && (!warden.IsCode(err, warden.InvalidArgument) || !errors.Is(err, ErrTooDeep) || !strings.Contains(err.Error(), "deeper than")) {
				t.Errorf("CheckDepth error = %v, want InvalidArgument naming the limit", err)
			}
		})
	}
}

func TestRead(t *testing.T) {
	if b, err := Read(strings.NewReader("[1,2]"), 5); err != nil || string(b) != "[1,2]" {
		t.Errorf("Read at the limit = %q, %v", b, err)
	}
	_, err := Read(strings.NewReader("[1,2,3]"), 5)
	if !warden.IsCode(err, warden.TooLarge) || !strings.Contains(err.Error(), "exceeds 5 bytes") {
		t.Errorf("Read over the limit = %v, want TooLarge naming 5 bytes", err)
	}
	_, err = Read(strings.NewReader(strings.Repeat("[", MaxDepth+1)), 1<<20)
	if !warden.IsCode(err, warden.InvalidArgument) {
		t.Errorf("Read of a deep body = %v, want InvalidArgument", err)
	}
	_, err = Read(io.MultiReader(strings.NewReader("{"), errReader{}), 10)
	if !warden.IsCode(err, warden.InvalidArgument) {
		t.Errorf("Read of a failing body = %v, want InvalidArgument", err)
	}
}

// TestAppend: Append adds the body to what dst holds, across reads of any
// size and buffers of any capacity, refuses one over the limit having read
// no more than one byte past it, and leaves nesting to its caller.
func TestAppend(t *testing.T) {
	for _, capacity := range []int{0, 1, 3, 8, 100} {
		for _, body := range []string{"", "[1,2]", strings.Repeat("x", 37), strings.Repeat("[", MaxDepth+1)} {
			dst := append(make([]byte, 0, capacity), "pre"...)
			got, err := Append(dst, iotest.OneByteReader(strings.NewReader(body)), 100)
			if err != nil || string(got) != "pre"+body {
				t.Errorf("cap %d: Append(%q) = %q, %v", capacity, body, got, err)
			}
		}
		r := &countingReader{r: strings.NewReader(strings.Repeat("y", 1000))}
		_, err := Append(make([]byte, 0, capacity), r, 10)
		if !warden.IsCode(err, warden.TooLarge) || r.n > 11 {
			t.Errorf("cap %d: Append over the limit = %v after reading %d bytes, want TooLarge after at most 11", capacity, err, r.n)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestDecode(t *testing.T) {
	type req struct {
		Login string `json:"login"`
	}
	tests := []struct {
		name, in string
		code     warden.Code
	}{
		{"valid", `{"login": "a"}`, ""},
		{"unknown field", `{"login": "a", "pasword": "x"}`, warden.InvalidArgument},
		{"two values", `{"login": "a"} {}`, warden.InvalidArgument},
		{"not JSON", `login=a`, warden.InvalidArgument},
		{"too deep", `{"login": "a", "x": ` + strings.Repeat("[", 100) + `}`, warden.InvalidArgument},
		{"too large", `{"login": "` + strings.Repeat("a", 200) + `"}`, warden.TooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v req
			err := Decode(strings.NewReader(tt.in), 200, &v)
			if got := warden.ErrorCode(err); got != tt.code {
				t.Fatalf("Decode(%.40q) = %v, want code %q", tt.in, err, tt.code)
			}
		})
	}
	var v req
	var te *json.UnmarshalTypeError
	if err := Decode(strings.NewReader(`{"login": 5}`), 64, &v); !errors.As(err, &te) || te.Field != "login" {
		t.Errorf("Decode of a wrong type = %v, want a *json.UnmarshalTypeError for login", err)
	}
}

// referenceDepth is the nesting of valid JSON as encoding/json's tokenizer
// sees it.
func referenceDepth(t *testing.T, b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // 1E700 is valid JSON but no float64
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return deepest
		}
		if err != nil {
			t.Fatalf("Token on valid JSON %q: %v", b, err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// FuzzCheckDepth: CheckDepth never panics, never refuses at a limit it
// accepted at a lower one, and on valid JSON agrees with encoding/json
// about the depth.
func FuzzCheckDepth(f *testing.F) {
	f.Add([]byte(`{"request": {"headers": {"Authorization": ["Bearer t1.x"]}}}`), 3)
	f.Add([]byte(`{"a": "[\"{", "b": [{"c": "\\"}]}`), 2)
	f.Add([]byte(strings.Repeat(`[`, 70)+strings.Repeat(`]`, 70)), 64)
	f.Add([]byte(`["\u005b", "\\\"[", {}]`), 1)
	f.Add([]byte(`"unterminated [[[`), 0)
	f.Fuzz(func(t *testing.T, b []byte, limit int) {
		limit = min(max(limit, 0), 200)
		err := CheckDepth(b, limit)
		if err == nil && CheckDepth(b, limit+1) != nil {
			t.Fatalf("CheckDepth(%q) accepted at %d and refused at %d", b, limit, limit+1)
		}
		if !json.Valid(b) {
			return
		}
		if want := referenceDepth(t, b) <= limit; (err == nil) != want {
			t.Fatalf("CheckDepth(%q, %d) = %v; encoding/json depth %d", b, limit, err, referenceDepth(t, b))
		}
	})
}

func BenchmarkCheckDepth(b *testing.B) {
	body := []byte(`{"request": {"method": "GET", "path": "/x", "headers": {"Authorization": ["Bearer t1.` + strings.Repeat("a", 200) + `"]}, "clientAddress": "10.0.0.1"}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckDepth(body, MaxDepth); err != nil {
			b.Fatal(err)
		}
	}
}
