package server

import (
	"fmt"
	"os"
	"time"

	"warden"
	"warden/audit"
	"warden/service"
)

// AuditConfig configures the audit trail beyond what every wardend does
// (record every change, authentication and refusal in the database).
type AuditConfig struct {
	// File, when set, receives every event as a JSON line (Yandex Audit
	// Trails shape), rotated when it reaches MaxSize bytes (100 MiB when
	// zero), keeping Backups older files (5 when zero; -1 keeps none).
	File    string
	MaxSize int64
	Backups int
	// Stdout writes every event as a JSON line to standard output.
	Stdout bool
	// Retention is how long events are kept in the database; zero keeps
	// them forever.
	Retention time.Duration
	// DataServices and DataCredentials switch data events (access-service
	// decisions) on for the services or credential types named; "*" names
	// all.
	DataServices, DataCredentials []string
	// Buffer bounds the asynchronous events waiting to be written.
	Buffer int
}

// auditConfig opens the exporters and returns the service's configuration.
func (m *Main) auditConfig() (service.AuditConfig, error) {
	c := m.cfg.Audit
	if c.Retention < 0 {
		return service.AuditConfig{}, fmt.Errorf("server: --audit-retention must not be negative")
	}
	if c.File != "" {
		size, backups := c.MaxSize, c.Backups
		if size == 0 {
			size = 100 << 20
		}
		switch backups {
		case 0:
			backups = 5
		case -1:
			backups = 0
		}
		e, err := audit.NewFileExporter(c.File, size, backups)
		if err != nil {
			return service.AuditConfig{}, fmt.Errorf("server: --audit-log: %w", err)
		}
		m.exports = append(m.exports, e)
	}
	if c.Stdout {
		m.exports = append(m.exports, audit.NewStreamExporter(os.Stdout))
	}
	cfg := service.AuditConfig{Buffer: c.Buffer, Retention: c.Retention, DataServices: c.DataServices, DataCredentials: c.DataCredentials}
	if len(m.exports) > 0 {
		exports, log := m.exports, m.log
		cfg.Export = func(evs []*warden.AuditEvent) {
			for _, e := range exports {
				if err := e.Export(evs); err != nil {
					log.Error("audit export", "err", err)
				}
			}
		}
	}
	return cfg, nil
}
