package server

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingWriter counts the writes it gets.
type countingWriter struct {
	mu     sync.Mutex
	writes int
	buf    bytes.Buffer
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.buf.Write(p)
}

func (c *countingWriter) state() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes, c.buf.String()
}

func TestLogWriterBuffersInfoAndFlushesWarnings(t *testing.T) {
	out := &countingWriter{}
	w := NewLogWriter(out, time.Hour) // only size, level and Close flush here
	log := NewBufferedLogger(slog.NewJSONHandler(w, nil), w)
	for range 100 {
		log.With("request_id", "r").Info("request", "code", "OK")
	}
	if n, _ := out.state(); n != 0 {
		t.Fatalf("%d writes after 100 info lines, want 0 (buffered)", n)
	}
	log.Warn("slow")
	n, text := out.state()
	if n != 1 || strings.Count(text, "\n") != 101 {
		t.Fatalf("after a warning: %d writes, %d lines; want 1 write of 101 lines", n, strings.Count(text, "\n"))
	}
	log.Info("last")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, text := out.state(); !strings.Contains(text, `"msg":"last"`) {
		t.Fatalf("Close did not write the buffered line: %q", text)
	}
}

func TestLogWriterFlushesBySizeAndTime(t *testing.T) {
	out := &countingWriter{}
	w := NewLogWriter(out, 20*time.Millisecond)
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for range LogBufferSize/len(line) + 1 {
		w.Write(line)
	}
	if n, _ := out.state(); n != 1 {
		t.Fatalf("%d writes after more than a buffer of lines, want 1", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, text := out.state()
		if len(text) == (LogBufferSize/len(line)+1)*len(line) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the last line was not written by the timer: %d bytes", len(text))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
