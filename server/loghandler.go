package server

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// NewJSONHandler returns a handler that writes exactly what
// slog.NewJSONHandler(w, opts) writes, faster for the records every request
// logs: attributes of plain kinds (strings, numbers, booleans, durations,
// times) under no group. It writes those itself — one buffer, no reflection
// (slog's handler encodes each float with encoding/json) — and hands every
// other record to slog's own handler (TestJSONHandlerParity compares them
// byte for byte). Lines are written whole, one Write each, under one lock
// whichever path wrote them.
func NewJSONHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	var lw io.Writer = w
	if _, ok := w.(*LogWriter); !ok {
		lw = &lockedWriter{w: w}
	}
	return &jsonHandler{
		slow:  slog.NewJSONHandler(lw, opts),
		w:     lw,
		fast:  opts.ReplaceAttr == nil && !opts.AddSource,
		clock: &clockCache{},
	}
}

type jsonHandler struct {
	slow slog.Handler // slog's, given the same attributes and groups
	w    io.Writer    // lines of both paths, one whole line a Write
	// fast is false once a group is open (or with options that change
	// what is written): every record then goes to slow.
	fast bool
	// attrs are the attributes given to WithAttrs, encoded, each after a
	// comma.
	attrs []byte
	clock *clockCache
}

// clockCache formats record times as time.RFC3339Nano does, from the
// date and time of day of the last second it formatted: lines come many a
// second, and the second changes once. A zone's offset changes only on a
// second's boundary, so the second and the location decide the rest. It is
// read without a lock: a formatted second is immutable, and two goroutines
// formatting a new second at once store the same.
type clockCache struct {
	last atomic.Pointer[clockSecond]
}

type clockSecond struct {
	sec    int64
	loc    *time.Location
	date   []byte // "2006-01-02T15:04:05" of sec in loc
	offset []byte // "Z" or "-07:00"
}

// append writes t as t.AppendFormat(b, time.RFC3339Nano) does.
func (c *clockCache) append(b []byte, t time.Time) []byte {
	s := c.last.Load()
	if sec := t.Unix(); s == nil || sec != s.sec || t.Location() != s.loc {
		whole := t.Truncate(time.Second).AppendFormat(nil, time.RFC3339)
		s = &clockSecond{sec: sec, loc: t.Location(), date: whole[:19], offset: whole[19:]}
		c.last.Store(s)
	}
	b = append(b, s.date...)
	if ns := t.Nanosecond(); ns != 0 {
		var buf [10]byte
		frac := strconv.AppendInt(buf[:0], int64(ns)+1e9, 10)[1:] // nine digits
		for len(frac) > 0 && frac[len(frac)-1] == '0' {
			frac = frac[:len(frac)-1]
		}
		b = append(b, '.')
		b = append(b, frac...)
	}
	return append(b, s.offset...)
}

// lockedWriter serialises the lines of both paths, on a writer that does
// not itself (a LogWriter does: each Write is one whole line, in order).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Enabled implements slog.Handler.
func (h *jsonHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.slow.Enabled(ctx, level)
}

// WithAttrs implements slog.Handler.
func (h *jsonHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.slow = h.slow.WithAttrs(attrs)
	if h.fast {
		b := append([]byte(nil), h.attrs...)
		for _, a := range attrs {
			if b, h2.fast = appendJSONAttr(append(b, ','), a); !h2.fast {
				break
			}
		}
		h2.attrs = b
	}
	return &h2
}

// WithGroup implements slog.Handler.
func (h *jsonHandler) WithGroup(name string) slog.Handler {
	h2 := *h
	h2.slow, h2.fast = h.slow.WithGroup(name), false
	return &h2
}

var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Handle implements slog.Handler.
func (h *jsonHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.fast {
		return h.slow.Handle(ctx, r)
	}
	buf := lineBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= 16<<10 {
			lineBuffers.Put(buf)
		}
	}()
	b := append((*buf)[:0], '{')
	if !r.Time.IsZero() {
		t := r.Time.Round(0)
		if y := t.Year(); y < 0 || y >= 10000 {
			return h.slow.Handle(ctx, r) // slog writes an error beside it
		}
		b = append(b, `"time":"`...)
		b = h.clock.append(b, t)
		b = append(b, `",`...)
	}
	b = append(b, `"level":`...)
	b = appendJSONString(b, r.Level.String())
	b = append(b, `,"msg":`...)
	b = appendJSONString(b, r.Message)
	b = append(b, h.attrs...)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		b, ok = appendJSONAttr(append(b, ','), a)
		return ok
	})
	*buf = b
	if !ok {
		return h.slow.Handle(ctx, r)
	}
	b = append(b, '}', '\n')
	*buf = b
	_, err := h.w.Write(b)
	return err
}

// appendJSONAttr appends "key":value as slog's JSON handler writes it, or
// reports false for an attribute it leaves to slog: an empty key (slog
// drops empty attributes), a group, a value to resolve, any other kind, a
// float that is not finite, a time outside years 0 to 9999.
func appendJSONAttr(b []byte, a slog.Attr) ([]byte, bool) {
	if a.Key == "" {
		return b, false
	}
	b = appendJSONString(b, a.Key)
	b = append(b, ':')
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		b = appendJSONString(b, v.String())
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		b = strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindFloat64:
		f := v.Float64()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return b, false
		}
		b = appendJSONFloat(b, f)
	case slog.KindTime:
		t := v.Time()
		if y := t.Year(); y < 0 || y >= 10000 {
			return b, false
		}
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	default:
		return b, false
	}
	return b, true
}

// appendJSONFloat writes a finite float as encoding/json does (which is
// what slog calls): the shortest representation, in exponent form below
// 1e-6 and from 1e21, the exponent without leading zeros.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONString writes s quoted as slog's JSON handler does: ", \ and
// control characters escaped (\n \r \t by name), invalid UTF-8 as \ufffd,
// U+2028 and U+2029 escaped, everything else as it is.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"
