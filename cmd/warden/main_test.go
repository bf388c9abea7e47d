package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"warden/server"
)

const adminPassword = "correct horse battery staple"

// wardend is a server started in-process for a test.
type wardend struct {
	addr    string
	dataDir string
	adminID string
}

func startServer(t *testing.T) *wardend {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	m, err := server.Open(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.DiscardHandler), AdminPassword: adminPassword})
	if err != nil {
		cancel()
		t.Fatalf("start wardend: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		m.Close()
	})
	return &wardend{addr: m.Addr(), dataDir: dir, adminID: m.Bootstrap().AdminID}
}

func (w *wardend) adminToken(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dataDir, server.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// cli runs the CLI in-process with its own config file and environment.
type cli struct {
	t       *testing.T
	cfgPath string
	env     map[string]string
}

func newCLI(t *testing.T) *cli {
	cfg := filepath.Join(t.TempDir(), "warden", "config.yaml")
	return &cli{t: t, cfgPath: cfg, env: map[string]string{"WARDEN_CONFIG": cfg}}
}

// loggedIn returns a CLI whose profile points at w with the admin's token.
func loggedIn(t *testing.T, w *wardend) *cli {
	c := newCLI(t)
	c.ok("config", "set", "endpoint", w.addr)
	c.ok("config", "set", "token", w.adminToken(t))
	return c
}

type result struct {
	stdout, stderr string
	code           int
}

func (c *cli) runIn(stdin string, args ...string) result {
	c.t.Helper()
	var out, errOut bytes.Buffer
	e := env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		LookupEnv: func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }}
	code := run(context.Background(), args, e)
	return result{out.String(), errOut.String(), code}
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	return c.runIn("", args...)
}

// ok runs a command that must succeed and returns its stdout.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("warden %s: exit %d, stderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// fail runs a command that must fail and returns its error message.
func (c *cli) fail(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code == 0 {
		c.t.Fatalf("warden %s succeeded, want failure; stdout: %s", strings.Join(args, " "), r.stdout)
	}
	msg, _ := failure(c.t, args, r.stderr)
	return msg
}

// requestIDSuffix is how an error names the server's request id.
var requestIDSuffix = regexp.MustCompile(` \(request id [0-9A-Za-z-]+\)$`)

// failure splits the stderr of a failed run into its error message, without
// the request id the server gave it, and its hint line, if any.
func failure(t *testing.T, args []string, stderr string) (msg, hint string) {
	t.Helper()
	errLine, rest, _ := strings.Cut(stderr, "\n")
	msg, ok := strings.CutPrefix(errLine, "ERROR: ")
	if rest != "" {
		hint, _ = strings.CutPrefix(strings.TrimSuffix(rest, "\n"), "HINT: ")
		if strings.Contains(hint, "\n") || !strings.HasPrefix(rest, "HINT: ") {
			ok = false
		}
	}
	if !ok {
		t.Fatalf("warden %s: stderr %q, want \"ERROR: …\" and at most a \"HINT: …\" line", strings.Join(args, " "), stderr)
	}
	return requestIDSuffix.ReplaceAllString(strings.TrimSpace(msg), ""), hint
}

// decode parses output of a format into v: JSON, or YAML for yaml and
// text (yc prints single resources as YAML).
func decode(t *testing.T, format, out string, v any) {
	t.Helper()
	var err error
	if format == "json" {
		err = json.Unmarshal([]byte(out), v)
	} else {
		err = yaml.Unmarshal([]byte(out), v)
	}
	if err != nil {
		t.Fatalf("parse %s output: %v\n%s", format, err, out)
	}
}

// parseTable reads a text table into one map per row, keyed by header.
func parseTable(t *testing.T, out string) []map[string]string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "+") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		t.Fatalf("no table in %q", out)
	}
	cells := func(l string) []string {
		parts := strings.Split(strings.Trim(l, "|"), "|")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts
	}
	headers := cells(lines[0])
	var rows []map[string]string
	for _, l := range lines[1:] {
		row := map[string]string{}
		for i, v := range cells(l) {
			row[headers[i]] = v
		}
		rows = append(rows, row)
	}
	return rows
}
