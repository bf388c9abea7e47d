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
//
// A full buffer is handed off and written outside the lock that appending
// takes, so a request logging its line never waits for the write system
// call of the lines before it; writes stay in the order of the lines.
type LogWriter struct {
	w     io.Writer
	every time.Duration
	spare chan []byte // an emptied buffer to reuse, when one is free

	// wmu serialises writes to w. Whoever holds both locks takes mu
	// first, so a buffer handed off under mu reaches w before any later.
	wmu sync.Mutex

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
	return &LogWriter{w: w, every: every, buf: make([]byte, 0, LogBufferSize), spare: make(chan []byte, 1)}
}

// Write buffers p (one log line: slog writes a record in one call).
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	if l.closed || len(l.buf)+len(p) > LogBufferSize {
		// Write what is buffered; then p itself, unless a fresh buffer
		// can hold it.
		full := l.takeLocked()
		direct := l.closed || len(p) > LogBufferSize
		if !direct {
			l.appendLocked(p)
		}
		l.wmu.Lock()
		l.mu.Unlock()
		defer l.wmu.Unlock()
		if err := l.write(full); err != nil {
			return 0, err
		}
		if direct {
			return l.w.Write(p)
		}
		return len(p), nil
	}
	l.appendLocked(p)
	l.mu.Unlock()
	return len(p), nil
}

// appendLocked adds p to the buffer and arms the timer of its oldest line.
func (l *LogWriter) appendLocked(p []byte) {
	l.buf = append(l.buf, p...)
	if l.timer == nil {
		l.timer = time.AfterFunc(l.every, func() { l.Flush() })
	}
}

// takeLocked returns what is buffered and leaves an empty buffer.
func (l *LogWriter) takeLocked() []byte {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	full := l.buf
	if len(full) == 0 {
		return nil
	}
	select {
	case l.buf = <-l.spare:
	default:
		l.buf = make([]byte, 0, LogBufferSize)
	}
	return full
}

// write writes a buffer taken by takeLocked (under wmu) and keeps it for
// reuse.
func (l *LogWriter) write(full []byte) error {
	if len(full) == 0 {
		return nil
	}
	_, err := l.w.Write(full)
	select {
	case l.spare <- full[:0]:
	default:
	}
	return err
}

// Flush writes what is buffered.
func (l *LogWriter) Flush() error {
	l.mu.Lock()
	full := l.takeLocked()
	l.wmu.Lock()
	l.mu.Unlock()
	defer l.wmu.Unlock()
	return l.write(full)
}

// Close writes what is buffered; later lines are written unbuffered.
func (l *LogWriter) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return l.Flush()
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
