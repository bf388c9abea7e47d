package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"warden/api/forwardauth"
	"warden/server"
)

// The proxies the forward-auth tests start, as Debian installs them.
const (
	nginxBin = "/usr/sbin/nginx"
	caddyBin = "/usr/bin/caddy"
)

// Addresses in the snippets of testdata/forwardauth (and the README): the
// tests put the real ones in their place.
const (
	snippetProxy    = "127.0.0.1:8000"
	snippetWarden   = "127.0.0.1:8080"
	snippetUpstream = "127.0.0.1:9000"
)

// proxyWorld is a wardend with the forward-auth route file of testdata,
// the robot of newWorld holding storage.uploader on folder A, its
// credentials, and a plain upstream that echoes what it received.
type proxyWorld struct {
	n        *node
	w        *world
	upstream *echoUpstream
	apiKey   string
	// ipKey is an API key of the robot valid only from 127.0.0.2.
	ipKey string
	s3Key awsKey
}

func newProxyWorld(t testing.TB, opts ...func(*server.Config)) *proxyWorld {
	t.Helper()
	dir := t.TempDir()
	roles := filepath.Join(dir, "roles.json")
	if err := os.WriteFile(roles, []byte(storageRoles), 0o600); err != nil {
		t.Fatal(err)
	}
	n := start(t, t.TempDir(), "", func(c *server.Config) {
		c.RolesFiles = []string{roles}
		c.ForwardAuthRoutes = "testdata/forwardauth/routes.yaml"
		c.TrustedProxies = mustTrusted(t, "127.0.0.1/32")
		for _, o := range opts {
			o(c)
		}
	})
	w := newBenchWorld(t, n)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "storage.uploader", "serviceAccount", w.robot)
	p := &proxyWorld{n: n, w: w, upstream: newEchoUpstream(t)}
	r := n.rest("POST", "/iam/v1/apiKeys", w.admin, map[string]any{"serviceAccountId": w.robot})
	if p.apiKey = str(r.body, "secret"); p.apiKey == "" {
		t.Fatalf("create API key: %s", r.raw)
	}
	r = n.rest("POST", "/api/v1/service-accounts/credentials/api-keys", w.admin, map[string]any{
		"name": "from-127-0-0-2", "serviceAccountId": w.robot,
		"restrictions": map[string]any{"ipAddresses": map[string]any{"ipAddresses": []string{"127.0.0.2"}}},
	})
	if p.ipKey = str(r.body, "secret"); p.ipKey == "" {
		t.Fatalf("create API key with an address restriction: %s", r.raw)
	}
	r = n.rest("POST", "/iam/aws-compatibility/v1/accessKeys", w.admin, map[string]any{"serviceAccountId": w.robot})
	if r.status != 200 {
		t.Fatalf("create access key: %s", r.raw)
	}
	p.s3Key = awsKey{name: "static key", id: str(r.body, "accessKey", "keyId"), secret: str(r.body, "secret")}
	return p
}

// echoUpstream is the guarded service: it answers every request with what
// it received, as JSON, and counts the requests that reached it.
type echoUpstream struct {
	addr string
	hits atomic.Int64
}

// echo is what the upstream received.
type echo struct {
	Method string      `json:"method"`
	URI    string      `json:"uri"`
	Header http.Header `json:"header"`
	Body   string      `json:"body"`
}

func newEchoUpstream(t testing.TB) *echoUpstream {
	u := &echoUpstream{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", "echo")
		json.NewEncoder(w).Encode(echo{Method: r.Method, URI: r.RequestURI, Header: r.Header, Body: string(body)})
	}))
	t.Cleanup(s.Close)
	u.addr = strings.TrimPrefix(s.URL, "http://")
	return u
}

// snippet returns a file of testdata/forwardauth with the test's addresses
// in place of the snippet's.
func snippet(t testing.TB, name, proxy, warden, upstream string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/forwardauth", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer(snippetProxy, proxy, snippetWarden, warden, snippetUpstream, upstream).Replace(string(b))
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// needBinary skips the test when a proxy is not installed here; CI
// installs both (.ci/run), so there they always run.
func needBinary(t testing.TB, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s is not installed (apt-get install %s): this test needs the real proxy", path, pkg)
	}
}

// startProcess runs a proxy until the test ends and waits until addr
// answers HTTP.
func startProcess(t testing.TB, addr string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("%s exited: %v\n%s", name, waitErr, out)
		default:
		}
		resp, err := http.Get("http://" + addr + "/.ready")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer on %s: %v\n%s", name, addr, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startNginx runs nginx with the README's server block in front of the
// upstream and returns its address.
func startNginx(t testing.TB, p *proxyWorld, extra string) string {
	t.Helper()
	needBinary(t, nginxBin, "nginx")
	dir := t.TempDir()
	addr := freeAddr(t)
	user := ""
	if os.Geteuid() == 0 {
		// Workers would run as nobody, who cannot enter the test's
		// temporary directory.
		user = "user root;\n"
	}
	conf := user + `daemon off;
worker_processes 1;
pid ` + dir + `/nginx.pid;
error_log ` + dir + `/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path ` + dir + `/client_body;
    proxy_temp_path ` + dir + `/proxy;
    fastcgi_temp_path ` + dir + `/fastcgi;
    uwsgi_temp_path ` + dir + `/uwsgi;
    scgi_temp_path ` + dir + `/scgi;
` + snippet(t, "nginx.conf", addr, p.n.addr, p.upstream.addr) + extra + `}
`
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, addr, nil, nginxBin, "-p", dir, "-c", path, "-e", dir+"/error.log")
	return addr
}

// startCaddy runs Caddy with the README's site block in front of the
// upstream and returns its address.
func startCaddy(t testing.TB, p *proxyWorld) string {
	t.Helper()
	needBinary(t, caddyBin, "caddy")
	dir := t.TempDir()
	addr := freeAddr(t)
	conf := "{\n\tadmin off\n\tauto_https off\n\tstorage file_system " + dir + "/data\n}\n\n" +
		snippet(t, "Caddyfile", addr, p.n.addr, p.upstream.addr)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + dir, "XDG_DATA_HOME=" + dir + "/data", "XDG_CONFIG_HOME=" + dir + "/config"}
	startProcess(t, addr, env, caddyBin, "run", "--config", path, "--adapter", "caddyfile")
	return addr
}

func mustTrusted(t testing.TB, s string) []netip.Prefix {
	t.Helper()
	ps, err := forwardauth.ParseTrustedProxies(s)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// proxied is one answer through a proxy.
type proxied struct {
	status   int
	header   http.Header
	body     string
	upstream *echo // what the upstream received; nil when it was not reached
}

// send sends a request through a proxy from the loopback address from
// ("" for the default).
func send(t testing.TB, from, method, url string, header map[string]string, body string) proxied {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := http.DefaultClient
	if from != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := proxied{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if resp.Header.Get("X-Upstream") == "echo" {
		out.upstream = &echo{}
		if err := json.Unmarshal(b, out.upstream); method != "HEAD" && err != nil {
			t.Fatalf("upstream's echo: %v", err)
		}
	}
	return out
}
