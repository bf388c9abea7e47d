package server

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// LogWriter buffers log lines so that the request log costs no system call
// per request: lines are written when the buffer holds LogBufferSize bytes,
// when the oldest buffered line is FlushEvery old, and at once for a line
// at warning level or above (see NewBufferedLogger). A crash therefore
// loses at most the lines of the last FlushEvery (and never more than
// LogBufferSize bytes); Close writes what is left.
type LogWriter struct {
	w     io.Writer
	every time.Duration

	mu     sync.Mutex
	buf    []byte
	timer  *time.Timer // armed while buf holds lines
	closed bool
}

// LogBufferSize is the most a LogWriter holds before it writes.
const LogBufferSize = 64 << 10

// NewLogWriter returns a LogWriter on w flushing at least every every
// (which must be positive).
func NewLogWriter(w io.Writer, every time.Duration) *LogWriter {
	return &LogWriter{w: w, every: every, buf: make([]byte, 0, LogBufferSize)}
}

// Write buffers p (one log line: slog writes a record in one call).
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.w.Write(p)
	}
	if len(l.buf)+len(p) > LogBufferSize {
		if err := l.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > LogBufferSize {
			return l.w.Write(p)
		}
	}
	l.buf = append(l.buf, p...)
	if l.timer == nil {
		l.timer = time.AfterFunc(l.every, func() { l.Flush() })
	}
	return len(p), nil
}

// Flush writes what is buffered.
func (l *LogWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked()
}

func (l *LogWriter) flushLocked() error {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf)
	l.buf = l.buf[:0]
	return err
}

// Close writes what is buffered; later lines are written unbuffered.
func (l *LogWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return l.flushLocked()
}

// NewBufferedLogger returns a logger writing through h (a handler on w)
// that writes a line of warning level or above at once, with what was
// buffered before it: errors reach the operator without delay.
func NewBufferedLogger(h slog.Handler, w *LogWriter) *slog.Logger {
	return slog.New(flushHandler{h, w})
}

type flushHandler struct {
	slog.Handler
	w *LogWriter
}

func (h flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushHandler{h.Handler.WithAttrs(attrs), h.w}
}

func (h flushHandler) WithGroup(name string) slog.Handler {
	return flushHandler{h.Handler.WithGroup(name), h.w}
}
