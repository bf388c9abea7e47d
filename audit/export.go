package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"warden"
)

// Exporter writes events as JSON lines, one event (with its hash) per line,
// in the Yandex Audit Trails shape.
type Exporter struct {
	mu sync.Mutex
	w  io.Writer
	// file, when set, is rotated by size.
	file    *os.File
	path    string
	size    int64
	maxSize int64
	backups int
}

// NewStreamExporter returns an Exporter writing to w (standard output).
func NewStreamExporter(w io.Writer) *Exporter { return &Exporter{w: w} }

// NewFileExporter returns an Exporter appending to the file at path; when
// the file reaches maxSize bytes it is renamed to path.1 (path.1 to path.2,
// and so on, keeping backups files) and a new one is started.
func NewFileExporter(path string, maxSize int64, backups int) (*Exporter, error) {
	if maxSize <= 0 || backups < 0 {
		return nil, errors.New("audit: the export file's maximum size must be positive and its backups not negative")
	}
	e := &Exporter{path: path, maxSize: maxSize, backups: backups}
	if err := e.open(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Exporter) open() error {
	f, err := os.OpenFile(e.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit: open export file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit: open export file: %w", err)
	}
	e.file, e.w, e.size = f, f, st.Size()
	return nil
}

// rotate moves the current file aside and opens a new one.
func (e *Exporter) rotate() error {
	e.file.Close()
	for i := e.backups; i >= 1; i-- {
		from := e.path
		if i > 1 {
			from = fmt.Sprintf("%s.%d", e.path, i-1)
		}
		if err := os.Rename(from, fmt.Sprintf("%s.%d", e.path, i)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("audit: rotate export file: %w", err)
		}
	}
	if e.backups == 0 {
		if err := os.Remove(e.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("audit: rotate export file: %w", err)
		}
	}
	return e.open()
}

// Export writes events, one line each.
func (e *Exporter) Export(events []*warden.AuditEvent) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var line []byte
	for _, ev := range events {
		var err error
		if line, err = AppendJSON(line[:0], ev); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		line = append(line, '\n')
		if e.file != nil && e.size > 0 && e.size+int64(len(line)) > e.maxSize {
			if err := e.rotate(); err != nil {
				return err
			}
		}
		n, err := e.w.Write(line)
		e.size += int64(n)
		if err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
	}
	return nil
}

// Close closes the export file.
func (e *Exporter) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.file != nil {
		return e.file.Close()
	}
	return nil
}
