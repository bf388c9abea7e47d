package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // a SQLite file that is not Warden's

	"warden/server"
)

// bin is the wardend binary built once for every test.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wardend-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Readable by everyone: one test runs it as an unprivileged user.
	os.Chmod(dir, 0o755)
	bin = filepath.Join(dir, "wardend")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is how one run of the binary ended.
type result struct {
	code   int
	stderr string
}

// run runs wardend with args until it exits, at most a minute.
func run(t *testing.T, env []string, cred *syscall.Credential, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run wardend: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("wardend %v did not exit within a minute; stderr:\n%s", args, stderr.String())
	}
	return result{code: cmd.ProcessState.ExitCode(), stderr: stderr.String()}
}

// cleanEnv is the environment without WARDEN_* variables of the caller.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WARDEN_") {
			env = append(env, kv)
		}
	}
	return env
}

// hashDir is a digest of every name, mode and byte under dir ("absent" when
// there is no dir), to show that a refused start wrote nothing.
func hashDir(t *testing.T, dir string) string {
	t.Helper()
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return "absent"
	}
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		fmt.Fprintf(h, "%s %v %d\n", rel, info.Mode(), info.Size())
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("hash %s: %v", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// bootstrapped returns a data dir holding a database that a first start
// made, with its master key and admin token, and wardend stopped.
func bootstrapped(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	m, err := server.Open(t.Context(), server.Config{Listen: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	if m.Bootstrap() == nil {
		t.Fatal("first start did not bootstrap")
	}
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return dir
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// overwrite puts n random bytes at offset off of path.
func overwrite(t *testing.T, path string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	rand.Read(b)
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestFailCleanly starts wardend on broken set-ups: each must exit non-zero
// with one line naming the cause, never panic, and leave the data dir
// exactly as it was.
func TestFailCleanly(t *testing.T) {
	unprivileged := os.Geteuid() == 0
	tests := []struct {
		name string
		// setup prepares the data dir (which it may leave absent) and
		// returns extra arguments.
		setup func(t *testing.T, dir string) []string
		env   []string
		cred  *syscall.Credential
		want  string
	}{
		{
			name:  "empty database file",
			setup: func(t *testing.T, dir string) []string { write(t, filepath.Join(dir, "warden.db"), nil); return nil },
			want:  "warden.db is empty, not a Warden database",
		},
		{
			name: "emptied database beside its admin token",
			setup: func(t *testing.T, dir string) []string {
				moveBootstrapped(t, dir)
				if err := os.Truncate(filepath.Join(dir, "warden.db"), 0); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			want: "warden.db is empty, not a Warden database",
		},
		{
			name: "not a database",
			setup: func(t *testing.T, dir string) []string {
				write(t, filepath.Join(dir, "warden.db"), []byte("these are not the bytes of a SQLite file\n"))
				return nil
			},
			want: "warden.db is not a SQLite database",
		},
		{
			name: "truncated database",
			setup: func(t *testing.T, dir string) []string {
				moveBootstrapped(t, dir)
				db := filepath.Join(dir, "warden.db")
				fi, _ := os.Stat(db)
				if err := os.Truncate(db, fi.Size()/2/4096*4096); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			want: "warden.db is truncated",
		},
		{
			name: "corrupt pages",
			setup: func(t *testing.T, dir string) []string {
				moveBootstrapped(t, dir)
				overwrite(t, filepath.Join(dir, "warden.db"), 2*4096, 3*4096)
				return nil
			},
			want: "warden.db is corrupt",
		},
		{
			name: "SQLite database that is not Warden's",
			setup: func(t *testing.T, dir string) []string {
				db, err := sql.Open("sqlite", filepath.Join(dir, "warden.db"))
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				os.MkdirAll(dir, 0o700)
				if _, err := db.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			want: "warden.db is not a Warden database",
		},
		{
			name: "missing master key beside a bootstrapped database",
			setup: func(t *testing.T, dir string) []string {
				moveBootstrapped(t, dir)
				os.Remove(filepath.Join(dir, "master.key"))
				return nil
			},
			want: "no master key at",
		},
		{
			name: "another master key",
			setup: func(t *testing.T, dir string) []string {
				moveBootstrapped(t, dir)
				write(t, filepath.Join(dir, "master.key"), []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n"))
				return nil
			},
			want: "the master key does not open this database's signing keys",
		},
		{
			name:  "short admin password on a first start",
			setup: func(*testing.T, string) []string { return nil },
			env:   []string{"WARDEN_ADMIN_PASSWORD=short"},
			want:  "WARDEN_ADMIN_PASSWORD: password: must be 8 to 1024 characters long",
		},
		{
			name:  "long admin password on a first start into an existing empty dir",
			setup: func(t *testing.T, dir string) []string { os.MkdirAll(dir, 0o700); return nil },
			env:   []string{"WARDEN_ADMIN_PASSWORD=" + strings.Repeat("p", 1025)},
			want:  "WARDEN_ADMIN_PASSWORD: password: must be 8 to 1024 characters long",
		},
		{
			name: "unreadable roles file on a first start",
			setup: func(t *testing.T, dir string) []string {
				return []string{"--roles-file", filepath.Join(filepath.Dir(dir), "no-such-roles.json")}
			},
			want: "roles file",
		},
		{
			name: "route file with a misspelt field",
			setup: func(t *testing.T, dir string) []string {
				f := filepath.Join(filepath.Dir(dir), "routes.yaml")
				write(t, f, []byte("routes:\n  - method: GET\n    path: /{folder}\n    permission: storage.objects.get\n    resource: \"{folder}\"\n  - method: PUT\n    path: /{folder}\n    permision: storage.objects.put\n"))
				return []string{"--forward-auth-routes", f}
			},
			want: `line 6: routes[1]: unknown field "permision"`,
		},
		{
			name:  "trusted proxy that is no address",
			setup: func(*testing.T, string) []string { return []string{"--trusted-proxies", "10.0.0.0/8,proxy.local"} },
			want:  `--trusted-proxies: forwardauth: trusted proxy "proxy.local"`,
		},
		{
			name: "data dir inside a file",
			setup: func(t *testing.T, dir string) []string {
				write(t, filepath.Join(dir, "file"), []byte("x"))
				return []string{"--data-dir", filepath.Join(dir, "file", "data")}
			},
			want: "not a directory",
		},
		{
			name: "unwritable data dir",
			setup: func(t *testing.T, dir string) []string {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				// The unprivileged user must reach the dir but not write to it.
				os.Chmod(filepath.Dir(dir), 0o755)
				os.Chmod(filepath.Dir(filepath.Dir(dir)), 0o755)
				os.Chmod(dir, 0o555)
				t.Cleanup(func() { os.Chmod(dir, 0o755) })
				return nil
			},
			cred: nobody(unprivileged),
			want: "permission denied",
		},
		{
			name: "PostgreSQL down",
			setup: func(t *testing.T, dir string) []string {
				return []string{"--database", "postgres://warden@127.0.0.1:1/warden?sslmode=disable&connect_timeout=5"}
			},
			want: "postgres: connect: failed to connect",
		},
		{
			name:  "more connections than file descriptors",
			setup: func(*testing.T, string) []string { return []string{"--max-connections", "1000000000"} },
			want:  "needs more file descriptors than",
		},
		{
			name: "invalid database URL",
			setup: func(t *testing.T, dir string) []string {
				return []string{"--database", "mysql://warden@127.0.0.1/warden"}
			},
			want: "--database must be postgres://… or sqlite://PATH",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			args := append([]string{"--listen", "127.0.0.1:0", "--data-dir", dir}, tt.setup(t, dir)...)
			before := hashDir(t, dir)
			got := run(t, tt.env, tt.cred, args...)
			assertRefused(t, got, tt.want)
			if after := hashDir(t, dir); after != before {
				t.Errorf("the data dir changed (hash %s, was %s)", after, before)
			}
		})
	}
}

// TestFailCleanlyPostgres refuses a bootstrapped PostgreSQL database whose
// master key is missing, and writes no new key.
func TestFailCleanlyPostgres(t *testing.T) {
	dsn := freshPostgres(t)
	dir := filepath.Join(t.TempDir(), "data")
	m, err := server.Open(t.Context(), server.Config{Listen: "127.0.0.1:0", DataDir: dir, Database: dsn, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	os.Remove(filepath.Join(dir, "master.key"))
	before := hashDir(t, dir)
	got := run(t, nil, nil, "--listen", "127.0.0.1:0", "--data-dir", dir, "--database", dsn)
	assertRefused(t, got, "no master key at")
	if after := hashDir(t, dir); after != before {
		t.Errorf("the data dir changed")
	}
}

// assertRefused checks that wardend exited non-zero with exactly one line
// that names the cause.
func assertRefused(t *testing.T, got result, want string) {
	t.Helper()
	if got.code == 0 {
		t.Fatalf("exit code 0, want non-zero; stderr:\n%s", got.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(got.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "wardend: ") || !strings.Contains(lines[0], want) {
		t.Errorf("stderr:\n%s\nwant one line \"wardend: …%s…\"", got.stderr, want)
	}
	for _, bad := range []string{"panic", "goroutine ", "nil pointer"} {
		if strings.Contains(got.stderr, bad) {
			t.Errorf("stderr holds %q:\n%s", bad, got.stderr)
		}
	}
}

// moveBootstrapped makes dir a freshly bootstrapped data dir.
func moveBootstrapped(t *testing.T, dir string) {
	t.Helper()
	if err := os.Rename(bootstrapped(t), dir); err != nil {
		t.Fatal(err)
	}
}

// nobody returns the credential of an unprivileged user when the tests run
// as root (who writes anywhere), nil otherwise: then the chmod alone does.
func nobody(root bool) *syscall.Credential {
	if !root {
		return nil
	}
	return &syscall.Credential{Uid: 65534, Gid: 65534}
}

// freshPostgres creates an empty database on WARDEN_TEST_POSTGRES, dropped
// when the test ends, and returns its DSN; it skips the test without it.
func freshPostgres(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("WARDEN_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("WARDEN_TEST_POSTGRES is not set")
	}
	name := "warden_wardend_" + hex.EncodeToString(randomBytes(6))
	pgExec(t, dsn, "CREATE DATABASE "+name)
	t.Cleanup(func() { pgExec(t, dsn, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse WARDEN_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// pgExec runs one statement on the WARDEN_TEST_POSTGRES database.
func pgExec(t *testing.T, dsn, stmt string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to WARDEN_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// serveInProcess runs wardend on dataDir until the test ends and returns
// its base URL.
func serveInProcess(t *testing.T, cfg server.Config) string {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.ShutdownTimeout = 5 * time.Second
	m, err := server.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("start wardend: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		m.Close()
	})
	return "http://" + m.Addr()
}

// status is the HTTP status of GET url (0 when the request fails).
func status(url string) int {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// eventually polls /readyz until it answers want, for at most 10 s.
func eventually(t *testing.T, base string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := status(base + "/readyz")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz answers %d, want %d", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReadyzSQLite: /readyz notices that the database file was removed or
// replaced, which the open file alone never tells.
func TestReadyzSQLite(t *testing.T) {
	for _, tt := range []struct {
		name    string
		breakIt func(t *testing.T, db string)
	}{
		{"removed", func(t *testing.T, db string) { os.Rename(db, db+".moved") }},
		{"replaced", func(t *testing.T, db string) {
			b, _ := os.ReadFile(db)
			os.Rename(db, db+".old")
			write(t, db, b)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := bootstrapped(t)
			base := serveInProcess(t, server.Config{DataDir: dir})
			eventually(t, base, http.StatusOK)
			db := filepath.Join(dir, "warden.db")
			tt.breakIt(t, db)
			eventually(t, base, http.StatusServiceUnavailable)
		})
	}
}

// TestReadyzPostgres: /readyz answers 503 as soon as the database refuses
// connections, and 200 again when it is back.
func TestReadyzPostgres(t *testing.T) {
	dsn := freshPostgres(t)
	u, _ := url.Parse(dsn)
	name := strings.TrimPrefix(u.Path, "/")
	base := serveInProcess(t, server.Config{DataDir: t.TempDir(), Database: dsn})
	eventually(t, base, http.StatusOK)
	root := os.Getenv("WARDEN_TEST_POSTGRES")
	pgExec(t, root, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false")
	pgExec(t, root, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+name+"'")
	eventually(t, base, http.StatusServiceUnavailable)
	pgExec(t, root, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
	eventually(t, base, http.StatusOK)
}

// TestIssueToken: `wardend admin issue-token` writes a working OAuth token for
// the admin into a new 0600 file, without a server and without a
// credential, and refuses when there is no database or master key.
func TestIssueToken(t *testing.T) {
	dir := bootstrapped(t)
	out := filepath.Join(t.TempDir(), "token")
	got := run(t, nil, nil, "admin", "issue-token", "--data-dir", dir, "--output", out)
	if got.code != 0 {
		t.Fatalf("issue-token: exit %d: %s", got.code, got.stderr)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	tok, _ := os.ReadFile(out)
	if bytes.Equal(bytes.TrimSpace(tok), bytes.TrimSpace(mustRead(t, filepath.Join(dir, server.AdminTokenFile)))) {
		t.Error("issue-token returned the bootstrap token, want a new one")
	}
	base := serveInProcess(t, server.Config{DataDir: dir})
	body, _ := json.Marshal(map[string]string{"yandexPassportOauthToken": string(bytes.TrimSpace(tok))})
	resp, err := http.Post(base+"/iam/v1/tokens", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct{ IamToken string }
	json.NewDecoder(resp.Body).Decode(&answer)
	if resp.StatusCode != http.StatusOK || answer.IamToken == "" {
		t.Errorf("exchange the issued token: %s, iamToken %q", resp.Status, answer.IamToken)
	}

	t.Run("to standard output", func(t *testing.T) {
		cmd := exec.Command(bin, "admin", "issue-token", "--data-dir", dir, "--user", "admin")
		cmd.Env = cleanEnv()
		stdout, err := cmd.Output()
		if err != nil || !strings.HasPrefix(string(stdout), "y0_") || strings.Count(string(stdout), "\n") != 1 {
			t.Errorf("stdout %q, err %v; want one token line", stdout, err)
		}
	})
	for _, tt := range []struct {
		name  string
		dir   func(t *testing.T) string
		extra []string
		want  string
	}{
		{"no database", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none") }, nil, "no Warden database in"},
		{"no master key", func(t *testing.T) string {
			d := bootstrapped(t)
			os.Remove(filepath.Join(d, "master.key"))
			return d
		}, nil, "no master key at"},
		{"unknown user", func(*testing.T) string { return dir }, []string{"--user", "nobody"}, `no user account with the ID or login "nobody"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.dir(t)
			before := hashDir(t, d)
			got := run(t, nil, nil, append([]string{"admin", "issue-token", "--data-dir", d}, tt.extra...)...)
			assertRefused(t, got, tt.want)
			if tt.name != "unknown user" && hashDir(t, d) != before {
				t.Error("the data dir changed")
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startBinary runs the built wardend on dataDir and returns it once it
// serves, with its address.
func startBinary(t *testing.T, dataDir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	serving := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "wardend serving" {
				serving <- line.Addr
			}
		}
	}()
	select {
	case addr := <-serving:
		return cmd, addr
	case <-time.After(time.Minute):
		t.Fatal("wardend did not start within a minute")
		return nil, ""
	}
}

// TestSignalStops: the README's first command runs the built binary, which a
// SIGTERM (kill) stops cleanly; `go run` would leave its child running.
func TestSignalStops(t *testing.T) {
	cmd, addr := startBinary(t, filepath.Join(t.TempDir(), "data"))
	if got := status("http://" + addr + "/healthz"); got != http.StatusOK {
		t.Fatalf("/healthz: %d", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("wardend after SIGTERM: %v, want exit 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("wardend still runs 30 s after SIGTERM")
	}
}

// TestStartsAfterCrash: a database left by a killed wardend, its last
// transactions only in the write-ahead log, is not mistaken for a damaged
// one: the next start recovers it and keeps the bootstrap.
func TestStartsAfterCrash(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cmd, _ := startBinary(t, dir)
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, "warden.db-wal")); err != nil {
		t.Fatalf("the killed wardend left no write-ahead log, so this test shows nothing: %v", err)
	}
	token := mustRead(t, filepath.Join(dir, server.AdminTokenFile))
	base := serveInProcess(t, server.Config{DataDir: dir})
	if got := status(base + "/readyz"); got != http.StatusOK {
		t.Errorf("/readyz after the restart: %d", got)
	}
	if !bytes.Equal(mustRead(t, filepath.Join(dir, server.AdminTokenFile)), token) {
		t.Error("the restart bootstrapped again: the admin token file changed")
	}
}
