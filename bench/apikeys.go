package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for PostgreSQL
	_ "modernc.org/sqlite"             // the driver wardend's SQLite store uses

	"warden"
	"warden/apikey"
	"warden/secret"
)

// runAPIKeys measures a node holding o.keys API keys against a small one:
// how long it takes from start to serving an API key and to holding every
// key in memory (o.runs starts; wall time and wardend's CPU, which a busy
// machine changes less), its memory, and the CPU of Authorize with an API
// key (REST, c=o.conc), at the default GOGC.
func runAPIKeys(o *options) error {
	dataDir := filepath.Join(o.work, "keys")
	w, err := startWardend(o, dataDir)
	if err != nil {
		return err
	}
	x, err := newWorld(w)
	if err != nil {
		w.stop()
		return fmt.Errorf("set up wardend: %w", err)
	}
	key, _, err := w.rest("POST", "/iam/v1/apiKeys", x.admin, map[string]any{"serviceAccountId": x.robot, "description": "bench"})
	if err != nil {
		w.stop()
		return err
	}
	keyID, keySecret := str(key, "apiKey", "id"), str(key, "secret")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.conc * 2}}
	small := measureAPIKeyAuthorize(o, w, client, x.folder, []string{keySecret})
	smallRSS, _ := processRSS(w.pid())
	w.stop()

	fmt.Fprintf(os.Stderr, "inserting %d API keys…\n", o.keys-1)
	t0 := time.Now()
	secrets, err := cloneAPIKey(o, filepath.Join(dataDir, "warden.db"), keyID, o.keys-1)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "inserted in %v\n", time.Since(t0).Round(time.Millisecond))

	fmt.Printf("| API keys | run | load average at start | start → listening | → first API key served | → every key in memory | wardend CPU, start → every key in memory | the load alone (wardend's log) |\n")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	var walls, cpus []float64
	for run := range max(o.runs, 1) {
		if run > 0 {
			w.stop()
		}
		var st startFigures
		if w, st, err = startWithKeys(o, dataDir, client, x.folder, secrets); err != nil {
			return err
		}
		walls, cpus = append(walls, st.loaded.Seconds()), append(cpus, st.cpu.Seconds())
		fmt.Printf("| %d | %d | %s | %v | %v | **%v** | %.2f s | %v |\n", o.keys, run+1, st.loadAvg,
			st.listening.Round(time.Millisecond), st.ready.Round(time.Millisecond), st.loaded.Round(time.Millisecond), st.cpu.Seconds(), st.load)
	}
	defer w.stop()
	fmt.Printf("\nmedian start → every key in memory: **%.2f s** (%.2f–%.2f), wardend CPU %.2f s (%.2f–%.2f)\n\n",
		median(walls), slices.Min(walls), slices.Max(walls), median(cpus), slices.Min(cpus), slices.Max(cpus))
	rss, peak := processRSS(w.pid())
	big := measureAPIKeyAuthorize(o, w, client, x.folder, secrets)
	fmt.Printf("| API keys | RSS after load (peak) | Authorize (REST, c=%d, Api-Key) CPU/req | req/s |\n", o.conc)
	fmt.Println("|---|---|---|---|")
	fmt.Printf("| 1 | %s | %s | %.0f |\n", smallRSS, small.cpu, small.rate)
	fmt.Printf("| %d | %s (%s) | %s (**%.2f×** the small node's) | %.0f |\n", o.keys, rss, peak,
		big.cpu, float64(big.cpu)/float64(small.cpu), big.rate)
	return nil
}

// startFigures are what one start of a node with many keys took.
type startFigures struct {
	loadAvg                  string        // of the machine, at start
	listening, ready, loaded time.Duration // from start: serving, the first API key accepted, every key in memory
	cpu                      time.Duration // wardend's CPU from its start until every key was in memory
	load                     time.Duration // the load alone, as wardend logs it
}

// startWithKeys starts wardend on a database of many keys and waits until
// it holds every key in memory.
func startWithKeys(o *options, dataDir string, client *http.Client, folder string, secrets []string) (*wardend, startFigures, error) {
	var st startFigures
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		st.loadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	start := time.Now()
	w, err := startWardend(o, dataDir)
	if err != nil {
		return nil, st, err
	}
	st.listening = time.Since(start)
	call := apiKeyAuthorize(client, w.addr, folder, secrets)
	for deadline := time.Now().Add(time.Minute); ; {
		if err := call(); err == nil {
			st.ready = time.Since(start)
			break
		} else if time.Now().After(deadline) {
			w.stop()
			return nil, st, fmt.Errorf("no API key accepted within a minute: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	line, err := w.waitLog(`"API keys loaded"`, 10*time.Minute)
	if err != nil {
		w.stop()
		return nil, st, err
	}
	st.loaded, st.cpu = time.Since(start), processCPU(w.pid())
	var logged struct {
		Keys       int   `json:"keys"`
		DurationMS int64 `json:"duration_ms"`
	}
	json.Unmarshal([]byte(line), &logged)
	if logged.Keys != o.keys {
		w.stop()
		return nil, st, fmt.Errorf("wardend loaded %d API keys, want %d", logged.Keys, o.keys)
	}
	st.load = time.Duration(logged.DurationMS) * time.Millisecond
	return w, st, nil
}

// apiKeyFigures are the medians of Authorize runs with API keys.
type apiKeyFigures struct {
	cpu  time.Duration
	rate float64
}

func measureAPIKeyAuthorize(o *options, w *wardend, client *http.Client, folder string, secrets []string) apiKeyFigures {
	call := apiKeyAuthorize(client, w.addr, folder, secrets)
	var cpu, rate []float64
	for range o.runs {
		r := closedLoop(w.pid(), o.conc, o.warmup, o.duration, call)
		if r.errs > 0 {
			fmt.Fprintf(os.Stderr, "Authorize with API keys: %d errors, the first: %v\n", r.errs, r.firstError)
		}
		cpu = append(cpu, float64(r.cpuPerReq()))
		rate = append(rate, r.rate())
	}
	return apiKeyFigures{time.Duration(median(cpu)).Round(time.Microsecond), median(rate)}
}

// apiKeyAuthorize returns a call of REST Authorize with the API keys in
// turn.
func apiKeyAuthorize(client *http.Client, addr, folder string, secrets []string) func() error {
	bodies := make([][]byte, len(secrets))
	for i, s := range secrets {
		bodies[i] = authorizeBody("Api-Key "+s, folder)
	}
	var next atomic.Int64
	url := "http://" + addr + "/access/v1:authorize"
	json := map[string]string{"Content-Type": "application/json"}
	return func() error {
		i := int(next.Add(1)) % len(bodies)
		return httpCall(client, "POST", url, json, bodies[i])()
	}
}

// cloneAPIKey inserts n copies of a stored API key under new IDs and
// secrets, in one transaction, straight into wardend's database (SQLite at
// path, or o.database): through the service they would cost one durable
// commit each. It returns the secrets of up to 100 of them.
func cloneAPIKey(o *options, path, id string, n int) ([]string, error) {
	driver, dsn := "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)"
	if o.database != "" {
		driver, dsn = "pgx", o.database
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ctx := context.Background()
	var kind, subject, description string
	var data []byte
	var created, expires, used int64
	err = db.QueryRowContext(ctx, `SELECT kind, subject_id, data, description, created_at, expires_at, last_used_at FROM credentials WHERE id = $1`, id).
		Scan(&kind, &subject, &data, &description, &created, &expires, &used)
	if err != nil {
		return nil, fmt.Errorf("read the API key to clone: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO credentials (id, kind, subject_id, hash, data, description, created_at, expires_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`)
	if err != nil {
		return nil, err
	}
	var secrets []string
	for i := range n {
		cid := warden.NewID(warden.PrefixAPIKey)
		s := apikey.NewSecret(cid)
		if i%max(n/100, 1) == 0 {
			secrets = append(secrets, s)
		}
		if _, err := stmt.ExecContext(ctx, cid, kind, subject, secret.Hash(s), data, description, created, expires, used); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if o.database != "" { // the planner's statistics, as autovacuum would have them
		if _, err := db.ExecContext(ctx, `ANALYZE credentials`); err != nil {
			return nil, err
		}
	}
	return secrets, nil
}

// freshDatabase creates an empty database on the PostgreSQL server of
// dsn, and returns its URL and a function that drops it.
func freshDatabase(dsn string) (string, func(), error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("connect to -postgres: %w", err)
	}
	defer conn.Close(ctx)
	name := "warden_bench_" + strings.ToLower(warden.NewID("tmp")[3:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			fmt.Fprintf(os.Stderr, "drop database %s: %v\n", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "drop database %s: %v\n", name, err)
		}
	}, nil
}
