package server

import (
	"bytes"
	"log/slog"
	"strconv"
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

// blockingWriter holds its first write until released.
type blockingWriter struct {
	countingWriter
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	return b.countingWriter.Write(p)
}

// TestLogWriterWritesOutsideTheLock: while a full buffer is being written,
// lines keep being buffered (a request never waits for the write of the
// lines before it), and every line reaches the writer once, each
// goroutine's in its order.
func TestLogWriterWritesOutsideTheLock(t *testing.T) {
	out := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	w := NewLogWriter(out, time.Hour)
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for range LogBufferSize / len(line) {
		w.Write(line)
	}
	go w.Flush() // takes the buffer and blocks in the write
	<-out.entered
	done := make(chan struct{})
	go func() {
		w.Write([]byte("during\n"))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a line waited for the write of the buffer before it")
	}
	close(out.release)

	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				w.Write([]byte(strings.Repeat("y", 200) + " " + string(rune('a'+g)) + " " + strconv.Itoa(i) + "\n"))
				if i%500 == 0 {
					w.Flush()
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, text := out.state()
	next := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue // the x lines and "during"
		}
		if i, _ := strconv.Atoi(f[2]); i != next[f[1]] {
			t.Fatalf("writer %s: line %d after %d", f[1], i, next[f[1]]-1)
		}
		next[f[1]]++
	}
	for g := range writers {
		if n := next[string(rune('a'+g))]; n != lines {
			t.Errorf("writer %c: %d lines, want %d", 'a'+g, n, lines)
		}
	}
	if !strings.Contains(text, "during\n") {
		t.Error("the line written during the write is lost")
	}
}
