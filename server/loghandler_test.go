package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// logStrings are strings at the edges of slog's JSON escaping.
var logStrings = []string{
	"", "request", "a\"b", `back\slash`, "tab\t nl\n cr\r", "\x00\x01\x1f\x7f", "<html>&amp;", "ünïcödé ✓ 𝄞",
	"\u2028 \u2029", "bad \xff utf-8 \xc3", "\ufffd", "/warden.access.v1.AccessService/Authorize", "127.0.0.1:40000",
}

// logValues are values of every kind, the ones the fast path writes and the
// ones it leaves to slog.
func logValues(r *rand.Rand) slog.Value {
	s := logStrings[r.IntN(len(logStrings))]
	switch r.IntN(16) {
	case 0:
		return slog.Int64Value(r.Int64() - r.Int64())
	case 1:
		return slog.Uint64Value(r.Uint64())
	case 2:
		return slog.BoolValue(r.IntN(2) == 0)
	case 3:
		return slog.DurationValue(time.Duration(r.Int64N(1e12)))
	case 4:
		return slog.Float64Value([]float64{0, math.Copysign(0, -1), 0.123, 1.5, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789.125, -3e-10, math.MaxFloat64,
			math.SmallestNonzeroFloat64, math.Inf(1), math.NaN(), float64(r.IntN(1e6)) / 1000}[r.IntN(16)])
	case 5:
		return slog.TimeValue([]time.Time{time.Unix(1700000000, 123456789).UTC(), time.Unix(0, 0).In(time.FixedZone("x", 3600)),
			time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Now()}[r.IntN(5)])
	case 6:
		return slog.AnyValue(errors.New(s))
	case 7:
		return slog.AnyValue(map[string]int{s: 1})
	case 8:
		return slog.GroupValue(slog.String("in", s), slog.Int("n", 1))
	case 9:
		return slog.GroupValue()
	case 10:
		return slog.AnyValue(logValuer(s))
	}
	return slog.StringValue(s)
}

type logValuer string

func (v logValuer) LogValue() slog.Value { return slog.StringValue("resolved " + string(v)) }

// TestJSONHandlerParity: for many records, levels, handler options and
// chains of WithAttrs and WithGroup, NewJSONHandler writes byte for byte
// what slog.NewJSONHandler writes, and says the same about what is enabled.
func TestJSONHandlerParity(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	key := func() string {
		if r.IntN(10) == 0 {
			return ""
		}
		return []string{"request_id", "method", "code", "duration_ms", "peer", "k\"ey", "ключ"}[r.IntN(7)]
	}
	attr := func() slog.Attr { return slog.Attr{Key: key(), Value: logValues(r)} }
	ctx := context.Background()
	fast := 0
	for round := range 300 {
		var opts *slog.HandlerOptions
		switch round % 5 {
		case 1:
			opts = &slog.HandlerOptions{Level: slog.LevelWarn}
		case 2:
			opts = &slog.HandlerOptions{AddSource: true}
		case 3:
			opts = &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == "code" {
					a.Value = slog.StringValue("replaced")
				}
				return a
			}}
		}
		var got, want bytes.Buffer
		var ours, theirs slog.Handler = NewJSONHandler(&got, opts), slog.NewJSONHandler(&want, opts)
		for range r.IntN(3) {
			if r.IntN(3) == 0 {
				name := []string{"", "g", "grp\n"}[r.IntN(3)]
				ours, theirs = ours.WithGroup(name), theirs.WithGroup(name)
				continue
			}
			var as []slog.Attr
			for range r.IntN(4) {
				as = append(as, attr())
			}
			ours, theirs = ours.WithAttrs(as), theirs.WithAttrs(as)
		}
		for range 20 {
			level := []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError, 2, -8}[r.IntN(6)]
			if a, b := ours.Enabled(ctx, level), theirs.Enabled(ctx, level); a != b {
				t.Fatalf("Enabled(%v) = %v, slog says %v", level, a, b)
			}
			// Times within one second and across seconds and zones, as the
			// handler keeps the last second it formatted.
			when := []time.Time{{}, time.Unix(1700000000, 5).UTC(), time.Unix(1700000000, 120000000).UTC(), time.Unix(1700000000, 0).UTC(),
				time.Unix(1700000001, 999999999).UTC(), time.Unix(1700000000, 5).In(time.FixedZone("e", -5*3600-1800)), time.Unix(1700000000, 5).Local(),
				time.Now(), time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(5, 3, 1, 0, 0, 0, 7, time.UTC)}[r.IntN(10)]
			rec := slog.NewRecord(when, level, logStrings[r.IntN(len(logStrings))], 0)
			for range r.IntN(12) {
				rec.AddAttrs(attr())
			}
			got.Reset()
			want.Reset()
			errOurs, errTheirs := ours.Handle(ctx, rec), theirs.Handle(ctx, rec)
			if got.String() != want.String() || (errOurs == nil) != (errTheirs == nil) {
				t.Fatalf("round %d: NewJSONHandler wrote\n%s(err %v)\nslog wrote\n%s(err %v)", round, got.String(), errOurs, want.String(), errTheirs)
			}
			if h, ok := ours.(*jsonHandler); ok && h.fast && !strings.Contains(want.String(), "!ERROR") {
				fast++
			}
		}
	}
	if fast < 1000 {
		t.Errorf("%d records went through handlers on the fast path, want most of them", fast)
	}
}

// BenchmarkRequestLogLine is the request line every call logs, through
// slog's JSON handler and through NewJSONHandler.
//
//	go test ./server -run XXX -bench RequestLogLine
func BenchmarkRequestLogLine(b *testing.B) {
	for _, h := range []struct {
		name string
		h    slog.Handler
	}{{"slog", slog.NewJSONHandler(io.Discard, nil)}, {"server", NewJSONHandler(io.Discard, nil)}} {
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
				r.AddAttrs(slog.String("request_id", "0123456789abcdef0123456789abcdef"), slog.String("method", "/warden.access.v1.AccessService/Authorize"),
					slog.String("code", "OK"), slog.Float64("duration_ms", 0.123), slog.String("peer", "127.0.0.1:40000"),
					slog.String("subject", "aje00000000000000000"), slog.String("credential", "iamToken"))
				h.h.Handle(ctx, r)
			}
		})
	}
}
