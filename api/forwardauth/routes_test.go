package forwardauth

import (
	"strings"
	"testing"
)

const testRoutes = `
signingRegion: ru-central1
signingService: s3
routes:
  - method: GET,HEAD
    path: /folders/{folder}/objects/{key...}
    permission: storage.objects.get
    resource: "{folder}"
    service: storage
  - method: PUT
    path: /folders/{folder}/objects/{key...}
    permission: storage.objects.put
    resource: "{folder}"
  - method: "*"
    path: /by-header/{x}
    permission: storage.objects.get
    resource: header:X-Folder-Id
  - method: POST
    path: /fixed
    permission: storage.objects.put
    resource: b1gfixedfolder00000a
`

func TestRoutesMatch(t *testing.T) {
	rs, err := ParseRoutes([]byte(testRoutes))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		wantLine     int
		wantVars     string
	}{
		{"GET", "/folders/f1/objects/a/b%20c", 5, "folder=f1 key=a/b c"},
		{"HEAD", "/folders/f1/objects/", 5, "folder=f1 key="},
		{"PUT", "/folders/f1/objects/k", 10, "folder=f1 key=k"},
		{"DELETE", "/folders/f1/objects/k", 0, ""},
		{"GET", "/folders//objects/k", 0, ""},
		{"PATCH", "/by-header/z", 14, "x=z"},
		{"POST", "/fixed", 18, ""},
		{"POST", "/fixed/more", 0, ""},
		{"GET", "/nothing", 0, ""},
	} {
		segs, err := splitPath(c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		r, vars, ok := rs.Match(c.method, segs)
		line := 0
		if ok {
			line = r.Line
		}
		var got []string
		for _, k := range []string{"folder", "key", "x"} {
			if v, ok := vars[k]; ok {
				got = append(got, k+"="+v)
			}
		}
		if line != c.wantLine || strings.Join(got, " ") != c.wantVars {
			t.Errorf("%s %s: line %d, vars %q; want line %d, vars %q", c.method, c.path, line, got, c.wantLine, c.wantVars)
		}
	}
}

func TestSplitPathRefusesConfusion(t *testing.T) {
	for _, p := range []string{"/a/../b", "/a/./b", "/a/%2e%2E/b", "/a%2Fb", "/a%5cb", "/a/%zz", "relative"} {
		if _, err := splitPath(p); err == nil {
			t.Errorf("splitPath(%q) accepted", p)
		}
	}
}

func TestParseRoutesErrorsNameTheEntry(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"routes: []", "no routes"},
		{"routes:\n  - method: GET\n    path: /a\n    permission: x.y.z\n    resource: r1\n    resurce: r2\n", `line 2: routes[0]: unknown field "resurce"`},
		{"routes:\n  - {method: GET, path: /a, permission: x.y.z, resource: r}\n  - {method: get, path: /a, permission: x.y.z, resource: r}\n", "line 3: routes[1]: method"},
		{"routes:\n  - {method: GET, path: a, permission: x.y.z, resource: r}\n", "path \"a\""},
		{"routes:\n  - {method: GET, path: \"/a/{k...}/b\", permission: x.y.z, resource: r}\n", "must be the last"},
		{"routes:\n  - {method: GET, path: \"/a/{f}\", permission: x.y.z, resource: \"{g}\"}\n", "resource \"{g}\""},
		{"routes:\n  - {method: GET, path: \"/a/{f}\", permission: nope, resource: \"{f}\"}\n", "permission \"nope\""},
		{"routes:\n  - {method: GET, path: /a, permission: x.y.z}\n", "resource \"\""},
		{"routes:\n  - {method: GET, path: /a, permission: x.y.z, resource: r, signingRegion: ru}\n", "go together"},
		{`{"routes": [{"method": "GET", "path": "/a", "permission": "x.y.z", "resource": "r"}], "extra": 1}`, "extra"},
	} {
		_, err := ParseRoutes([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseRoutes(%q) = %v, want an error with %q", c.doc, err, c.want)
		}
	}
	if _, err := ParseRoutes([]byte(`{"routes": [{"method": "GET", "path": "/a/{f}", "permission": "x.y.z", "resource": "{f}"}]}`)); err != nil {
		t.Errorf("JSON route file: %v", err)
	}
}

func TestClientAddress(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	c := &Checker{cfg: Config{TrustedProxies: proxies}}
	for _, tc := range []struct {
		name   string
		chain  []string
		realIP string
		want   string
	}{
		{"untrusted peer: its forwarded-for is ignored", []string{"203.0.113.9:4000", "198.51.100.1"}, "198.51.100.2", "203.0.113.9"},
		{"trusted peer: the hop it reports", []string{"192.0.2.1:80", "198.51.100.1"}, "", "198.51.100.1"},
		{"through two trusted proxies", []string{"10.1.1.1:80", "10.2.2.2", "198.51.100.1", "6.6.6.6"}, "", "198.51.100.1"},
		{"a spoofed hop left of an untrusted one stays unread", []string{"10.1.1.1:80", "198.51.100.1", "10.9.9.9"}, "", "198.51.100.1"},
		{"garbled hop: the last vouched-for address", []string{"10.1.1.1:80", "not-an-ip"}, "", "10.1.1.1"},
		{"X-Real-IP from a trusted proxy", []string{"10.1.1.1:80"}, "198.51.100.7", "198.51.100.7"},
		{"X-Real-IP from anyone else", []string{"203.0.113.9:80"}, "198.51.100.7", "203.0.113.9"},
		{"IPv6 with a port", []string{"[2001:db8::1]:443"}, "", "2001:db8::1"},
	} {
		if got := c.client(tc.chain, tc.realIP); got != tc.want {
			t.Errorf("%s: client(%v, %q) = %s, want %s", tc.name, tc.chain, tc.realIP, got, tc.want)
		}
	}
	if _, err := ParseTrustedProxies("10.0.0.0/33"); err == nil {
		t.Error("ParseTrustedProxies accepted 10.0.0.0/33")
	}
}
