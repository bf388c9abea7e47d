// Package e2e starts wardend in-process on port 0 and drives it with real
// clients: the Yandex Cloud Go SDK, gRPC and plain HTTP.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/metadata"

	"warden/server"
)

// backend is a database wardend can run on in a test.
type backend struct {
	name string
	// database returns the --database value for a fresh, empty database
	// ("" for SQLite in the data dir).
	database func(t testing.TB) string
}

// backends returns SQLite always and PostgreSQL when WARDEN_TEST_POSTGRES
// names a server (CI always sets it).
func backends(testing.TB) []backend {
	bs := []backend{{name: "sqlite", database: func(testing.TB) string { return "" }}}
	if dsn := os.Getenv("WARDEN_TEST_POSTGRES"); dsn != "" {
		bs = append(bs, backend{name: "postgres", database: func(t testing.TB) string { return freshPostgres(t, dsn) }})
	}
	return bs
}

// freshPostgres creates an empty database on the server of dsn and returns
// its DSN; the database is dropped when the test ends.
// postgresBackend returns the PostgreSQL backend, skipping the test when
// WARDEN_TEST_POSTGRES is not set: for tests of several wardend processes
// on one database.
func postgresBackend(t *testing.T) backend {
	t.Helper()
	for _, b := range backends(t) {
		if b.name == "postgres" {
			return b
		}
	}
	t.Skip("WARDEN_TEST_POSTGRES is not set")
	return backend{}
}

func freshPostgres(t testing.TB, dsn string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to WARDEN_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	name := "warden_e2e_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse WARDEN_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// node is one running wardend.
type node struct {
	t       testing.TB
	m       *server.Main
	addr    string
	dataDir string
	logs    *syncBuffer
	cancel  context.CancelFunc
	done    chan error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs wardend on dataDir and database until the test ends.
func start(t testing.TB, dataDir, database string, opts ...func(*server.Config)) *node {
	t.Helper()
	n := &node{t: t, dataDir: dataDir, logs: &syncBuffer{}, done: make(chan error, 1)}
	cfg := server.Config{
		Listen: "127.0.0.1:0", DataDir: dataDir, Database: database,
		Logger:          slog.New(slog.NewJSONHandler(n.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RefreshInterval: 100 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := server.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start wardend: %v", err)
	}
	n.m, n.addr = m, m.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- m.Run(ctx) }()
	t.Cleanup(n.stop)
	return n
}

// stop shuts the node down; calling it twice is harmless.
func (n *node) stop() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	<-n.done
	n.m.Close()
	n.cancel = nil
}

// adminOAuthToken reads the bootstrap token file.
func (n *node) adminOAuthToken() string {
	b, err := os.ReadFile(filepath.Join(n.dataDir, server.AdminTokenFile))
	if err != nil {
		n.t.Fatalf("read bootstrap token: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// response is a decoded REST answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// rest sends a JSON request to wardend's REST API. A 429 of the
// password-hashing limiter (every slot busy past its wait: tests logging
// in at once on two busy cores) is retried after its Retry-After, as a
// client honouring it would; every other answer is returned as it is.
func (n *node) rest(method, path, token string, body any) response {
	n.t.Helper()
	var enc []byte
	if body != nil {
		switch b := body.(type) {
		case string:
			enc = []byte(b)
		default:
			enc, _ = json.Marshal(b)
		}
	}
	for try := 0; ; try++ {
		r := n.restOnce(method, path, token, body != nil, enc)
		if r.status != http.StatusTooManyRequests || !strings.Contains(r.raw, "password checks in progress") || try == 30 {
			return r
		}
		wait, err := strconv.Atoi(r.header.Get("Retry-After"))
		if err != nil || wait < 1 {
			wait = 1
		}
		time.Sleep(time.Duration(wait) * time.Second) // the server's own backoff, not a synchronisation
	}
}

func (n *node) restOnce(method, path, token string, hasBody bool, body []byte) response {
	n.t.Helper()
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+n.addr+path, rd)
	if err != nil {
		n.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	switch {
	case strings.HasPrefix(token, "Api-Key "):
		req.Header.Set("Authorization", token) // an API key, as its holder sends it
	case token != "":
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

// iamToken exchanges the admin's OAuth token for an IAM token over REST.
func (n *node) iamToken() string {
	n.t.Helper()
	r := n.rest("POST", "/iam/v1/tokens", "", map[string]string{"yandexPassportOauthToken": n.adminOAuthToken()})
	if r.status != 200 {
		n.t.Fatalf("token exchange: %d %s", r.status, r.raw)
	}
	return r.body["iamToken"].(string)
}

// defaultFolder returns the id of the bootstrap folder "default".
func (n *node) defaultFolder(tok string) string {
	n.t.Helper()
	clouds := n.rest("GET", "/resource-manager/v1/clouds", tok, nil)
	if clouds.status != 200 {
		n.t.Fatalf("list clouds: %d %s", clouds.status, clouds.raw)
	}
	cloud := clouds.body["clouds"].([]any)[0].(map[string]any)["id"].(string)
	folders := n.rest("GET", "/resource-manager/v1/folders?cloudId="+cloud+"&filter="+url.QueryEscape(`name="default"`), tok, nil)
	if folders.status != 200 {
		n.t.Fatalf("list folders: %d %s", folders.status, folders.raw)
	}
	return folders.body["folders"].([]any)[0].(map[string]any)["id"].(string)
}

// str digs a string out of a decoded JSON object by path.
func str(v any, path ...string) string {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// bearerCtx returns a context that sends tok as gRPC bearer credentials.
func bearerCtx(tok string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

// startBench starts a quiet node for a benchmark.
func startBench(b *testing.B, be backend) *node {
	return start(b, b.TempDir(), be.database(b), startBenchConfig)
}

// startBenchConfig is how benchmarks start wardend: its logs discarded.
func startBenchConfig(c *server.Config) { c.Logger = slog.New(slog.DiscardHandler) }
