// Command bench measures wardend against the least a Go server does for the
// same requests, in one run: a closed-loop load generator (keep-alive, c
// requests in flight) drives the built wardend (SQLite, JSON request log as
// shipped) and a limit server (minimal net/http JSON, minimal grpc-go),
// interleaved, N times, and prints requests/s, p50/p99, the server's CPU
// per request and Warden's ratio to the limit (medians of the runs).
//
//	go run ./bench                                   # every ratio scenario, 3 runs of 5 s
//	go run ./bench -scenario authorize-rest -runs 5 -duration 10s
//	go run ./bench -scenario apikeys -keys 1000000   # start-to-ready, CPU and RSS with 1M API keys
//	go run ./bench -scenario apikeys -postgres 'postgres://…'   # the same on PostgreSQL
//
// Scenarios: authorize-rest, authorize-grpc, sa-list, keystone-validate
// (all of them by default), and apikeys. Both servers share the machine's
// cores with the load generator, as in production they share it with
// other work: the ratio, not the absolute rate, is what carries over.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"warden/api/accesspb"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	scenarios []string
	runs      int
	conc      int
	duration  time.Duration
	warmup    time.Duration
	wardend   string
	keys      int
	work      string
	logFlush  string
	database  string // wardend's --database; empty: SQLite in its data dir
}

func run() error {
	var o options
	var scenarios, limitDir string
	flag.StringVar(&scenarios, "scenario", "authorize-rest,authorize-grpc,sa-list,keystone-validate", "comma-separated scenarios: authorize-rest, authorize-grpc, sa-list, keystone-validate, apikeys")
	flag.IntVar(&o.runs, "runs", 3, "interleaved runs per scenario; medians are reported")
	flag.IntVar(&o.conc, "c", 32, "requests in flight")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "measured time of one run against one server")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each run")
	flag.StringVar(&o.wardend, "wardend", "", "wardend binary; built from ./cmd/wardend when empty")
	flag.IntVar(&o.keys, "keys", 1_000_000, "API keys of the apikeys scenario")
	flag.StringVar(&o.logFlush, "log-flush", "100ms", "wardend's --log-flush (the shipped default is 100ms; 0 writes each line at once)")
	var postgres string
	flag.StringVar(&postgres, "postgres", "", "run wardend on PostgreSQL: a fresh database is created on this server (postgres://…), and dropped at the end; SQLite in the data dir when empty")
	flag.StringVar(&limitDir, "limit-server", "", "serve the limit servers with the answers in this directory (used by bench itself)")
	flag.Parse()
	if limitDir != "" {
		return runLimitServer(limitDir)
	}
	o.scenarios = strings.Split(scenarios, ",")
	var err error
	if o.work, err = os.MkdirTemp("", "warden-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(o.work)
	if postgres != "" {
		var drop func()
		if o.database, drop, err = freshDatabase(postgres); err != nil {
			return err
		}
		defer drop()
	}
	if o.wardend == "" {
		o.wardend = filepath.Join(o.work, "wardend")
		fmt.Fprintln(os.Stderr, "building wardend…")
		if out, err := exec.Command("go", "build", "-o", o.wardend, "./cmd/wardend").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/wardend: %v\n%s", err, out)
		}
	}
	fmt.Printf("# %s, GOMAXPROCS of the servers: the machine's; c=%d, %d runs of %v (+%v warm-up), wardend --log-flush=%s\n\n",
		time.Now().UTC().Format(time.RFC3339), o.conc, o.runs, o.duration, o.warmup, o.logFlush)
	var ratioScenarios []string
	for _, s := range o.scenarios {
		if s == "apikeys" {
			if err := runAPIKeys(&o); err != nil {
				return err
			}
			continue
		}
		ratioScenarios = append(ratioScenarios, s)
	}
	if len(ratioScenarios) > 0 {
		return runRatios(&o, ratioScenarios)
	}
	return nil
}

// wardend is a running wardend process.
type wardend struct {
	cmd     *exec.Cmd
	addr    string
	dataDir string
	logPath string
	http    *http.Client
}

// startWardend starts wardend on a free port with its data in dataDir,
// and waits until it serves.
func startWardend(o *options, dataDir string) (*wardend, error) {
	w := &wardend{dataDir: dataDir, logPath: dataDir + ".log", http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	logf, err := os.Create(w.logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	w.cmd = exec.Command(o.wardend, "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-flush", o.logFlush)
	if o.database != "" {
		w.cmd.Args = append(w.cmd.Args, "--database", o.database)
	}
	w.cmd.Stderr = logf
	if err := w.cmd.Start(); err != nil {
		return nil, err
	}
	line, err := w.waitLog(`"wardend serving"`, 2*time.Minute)
	if err != nil {
		w.stop()
		return nil, err
	}
	var rec struct{ Addr string }
	json.Unmarshal([]byte(line), &rec)
	w.addr = rec.Addr
	return w, nil
}

// waitLog polls wardend's log until a line holds s.
func (w *wardend) waitLog(s string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(w.logPath)
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), s) {
				return sc.Text(), nil
			}
		}
		if w.cmd.ProcessState != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(w.logPath)
	return "", fmt.Errorf("wardend did not log %s in %v; its log ends:\n%s", s, timeout, tail(b, 2000))
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (w *wardend) pid() int { return w.cmd.Process.Pid }

func (w *wardend) stop() {
	w.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { w.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		w.cmd.Process.Kill()
		<-done
	}
}

// rest calls wardend's REST API and decodes the JSON answer.
func (w *wardend) rest(method, path, token string, body any) (map[string]any, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+w.addr+path, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return nil, nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, nil, fmt.Errorf("%s %s: %v", method, path, err)
	}
	return out, resp.Header, nil
}

// str digs a string out of decoded JSON.
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

// world is what the scenarios use: a folder, a service account ("robot",
// viewer on the folder, editor on the cloud, with a password) with an IAM
// token and a Keystone token, and ten service accounts in the folder.
type world struct {
	admin, folder, cloud, cloudName, robot, robotToken, keystoneToken string
}

func newWorld(w *wardend) (*world, error) {
	oauth, err := os.ReadFile(filepath.Join(w.dataDir, "admin-oauth-token"))
	if err != nil {
		return nil, err
	}
	x := &world{}
	tok, _, err := w.rest("POST", "/iam/v1/tokens", "", map[string]string{"yandexPassportOauthToken": strings.TrimSpace(string(oauth))})
	if err != nil {
		return nil, err
	}
	x.admin = str(tok, "iamToken")
	clouds, _, err := w.rest("GET", "/resource-manager/v1/clouds", x.admin, nil)
	if err != nil {
		return nil, err
	}
	cloud := clouds["clouds"].([]any)[0].(map[string]any)
	x.cloud, x.cloudName = cloud["id"].(string), cloud["name"].(string)
	folders, _, err := w.rest("GET", "/resource-manager/v1/folders?cloudId="+x.cloud+"&filter="+url.QueryEscape(`name="default"`), x.admin, nil)
	if err != nil {
		return nil, err
	}
	x.folder = folders["folders"].([]any)[0].(map[string]any)["id"].(string)
	for i := range 10 {
		sa, _, err := w.rest("POST", "/iam/v1/serviceAccounts", x.admin, map[string]any{"folderId": x.folder, "name": fmt.Sprintf("robot-%d", i), "description": "bench"})
		if err != nil {
			return nil, err
		}
		if i == 0 {
			x.robot = str(sa, "response", "id")
		}
	}
	for _, b := range []struct{ path, role string }{
		{"/resource-manager/v1/folders/" + x.folder, "viewer"},
		{"/resource-manager/v1/clouds/" + x.cloud, "editor"},
	} {
		if _, _, err := w.rest("POST", b.path+":updateAccessBindings", x.admin, map[string]any{"accessBindingDeltas": []any{
			map[string]any{"action": "ADD", "accessBinding": map[string]any{"roleId": b.role, "subject": map[string]string{"type": "serviceAccount", "id": x.robot}}},
		}}); err != nil {
			return nil, err
		}
	}
	rt, _, err := w.rest("POST", "/iam/v1/tokens:createForServiceAccount", x.admin, map[string]any{"serviceAccountId": x.robot})
	if err != nil {
		return nil, err
	}
	x.robotToken = str(rt, "iamToken")
	const password = "bench-password-0123456789"
	if _, _, err := w.rest("POST", "/warden/v1/serviceAccounts/"+x.robot+":setPassword", x.admin, map[string]string{"password": password}); err != nil {
		return nil, err
	}
	auth := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"robot-0","domain":{"name":"` + x.cloudName +
		`"},"password":"` + password + `"}}},"scope":{"project":{"id":"` + x.folder + `"}}}}`
	_, h, err := w.rest("POST", "/v3/auth/tokens", "", json.RawMessage(auth))
	if err != nil {
		return nil, err
	}
	x.keystoneToken = h.Get("X-Subject-Token")
	return x, nil
}

// httpCall returns a call of one REST request expecting status 200.
func httpCall(client *http.Client, method, url string, headers map[string]string, body []byte) func() error {
	return func() error {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, url, rd)
		if err != nil {
			return err
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s %s: status %d", method, url, resp.StatusCode)
		}
		return nil
	}
}

// grpcAuthorize returns a call of Authorize over one gRPC connection.
func grpcAuthorize(addr string, req *accesspb.AuthorizeRequest) (func() error, func(), error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	client := accesspb.NewAccessServiceClient(cc)
	return func() error {
		resp, err := client.Authorize(context.Background(), req)
		if err == nil && (len(resp.Results) == 0 || !resp.Results[0].Allowed) {
			err = errors.New("Authorize: denied")
		}
		return err
	}, func() { cc.Close() }, nil
}

// authorizeBody is the REST Authorize request for an Authorization header.
func authorizeBody(authorization, folder string) []byte {
	b, _ := json.Marshal(map[string]any{
		"request": map[string]any{"method": "GET", "path": "/", "headers": map[string][]string{"Authorization": {authorization}}},
		"checks":  []any{map[string]any{"permission": "iam.serviceAccounts.list", "resource": map[string]string{"type": "resource-manager.folder", "id": folder}}},
	})
	return b
}

func authorizeRequest(authorization, folder string) *accesspb.AuthorizeRequest {
	v, _ := structpb.NewList([]any{authorization})
	return &accesspb.AuthorizeRequest{
		Request: &accesspb.Request{Method: "GET", Path: "/", Headers: map[string]*structpb.ListValue{"authorization": v}},
		Checks:  []*accesspb.Check{{Permission: "iam.serviceAccounts.list", Resource: &accesspb.Resource{Type: "resource-manager.folder", Id: folder}}},
	}
}
