package forwardauth

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Routes is an operator's route file: which permission, on which resource,
// a request needs, by method and path. The first route that matches a
// request decides; a request no route matches is denied.
//
// The file is YAML or JSON (JSON is read as YAML):
//
//	signingRegion: ru-central1   # defaults for every route; each may override them
//	signingService: s3
//	routes:
//	  - method: GET,HEAD         # "*" for any method
//	    path: /folders/{folder}/objects/{key...}
//	    permission: storage.objects.get
//	    resource: "{folder}"     # a path variable, "header:X-Folder-Id", or a literal id
//	    service: storage         # the product an API key must be bound to (optional)
//	    scope: yc.storage.read   # the scope an API key must have (optional)
type Routes struct {
	routes []Route
}

// Route is one entry of a route file.
type Route struct {
	// Methods the route matches, upper case; nil for any.
	Methods []string
	// Pattern is the path pattern as written.
	Pattern string
	// Permission and Resource are what a matching request needs: Resource
	// is a literal id, "{name}" (a path variable) or "header:Name".
	Permission, Resource string
	// Service and Scope are the product and scope an API key is checked
	// against, as the access service's callers declare them.
	Service, Scope string
	// SigningRegion and SigningService are what a SigV4 signature must be
	// scoped to; SigV4 requests are refused on a route without them.
	SigningRegion, SigningService string
	// Line is the route's line in its file, for error messages.
	Line int

	segments []segment
}

// segment is one segment of a path pattern: a literal, a variable matching
// one segment ({name}), or a variable matching the rest ({name...}).
type segment struct {
	literal string
	name    string
	rest    bool
}

// routeFile is the document's shape; routes are decoded one by one to tell
// which entry is wrong.
type routeFile struct {
	SigningRegion  string      `yaml:"signingRegion"`
	SigningService string      `yaml:"signingService"`
	Service        string      `yaml:"service"`
	Scope          string      `yaml:"scope"`
	Routes         []yaml.Node `yaml:"routes"`
}

type routeEntry struct {
	Method         string `yaml:"method"`
	Path           string `yaml:"path"`
	Permission     string `yaml:"permission"`
	Resource       string `yaml:"resource"`
	Service        string `yaml:"service"`
	Scope          string `yaml:"scope"`
	SigningRegion  string `yaml:"signingRegion"`
	SigningService string `yaml:"signingService"`
}

var (
	permissionPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9-]*(\.[a-zA-Z][a-zA-Z0-9-]*)+$`)
	namePattern       = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	literalPattern    = regexp.MustCompile(`^[a-zA-Z0-9._~!$&'()*+,;=:@-]+$`)
	headerPattern     = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	methodPattern     = regexp.MustCompile(`^[A-Z]+$`)
	idPattern         = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
)

// LoadRoutes reads and validates a route file.
func LoadRoutes(path string) (*Routes, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("forwardauth: route file: %w", err)
	}
	rs, err := ParseRoutes(b)
	if err != nil {
		return nil, fmt.Errorf("forwardauth: route file %s: %w", path, err)
	}
	return rs, nil
}

// ParseRoutes validates a route file's content. An error names the line of
// the entry at fault.
func ParseRoutes(b []byte) (*Routes, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f routeFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("not a route document: %w", err)
	}
	if len(f.Routes) == 0 {
		return nil, errors.New("no routes: every request would be denied")
	}
	out := &Routes{}
	for i, n := range f.Routes {
		r, err := parseRoute(&n, f)
		if err != nil {
			return nil, fmt.Errorf("line %d: routes[%d]: %w", n.Line, i, err)
		}
		out.routes = append(out.routes, r)
	}
	return out, nil
}

func parseRoute(n *yaml.Node, f routeFile) (Route, error) {
	if n.Kind != yaml.MappingNode {
		return Route{}, errors.New("a route is a mapping of method, path, permission and resource")
	}
	// Node.Decode ignores unknown fields: a misspelt one would silently
	// widen the route, so each key is checked here.
	for i := 0; i < len(n.Content); i += 2 {
		switch k := n.Content[i].Value; k {
		case "method", "path", "permission", "resource", "service", "scope", "signingRegion", "signingService":
		default:
			return Route{}, fmt.Errorf("unknown field %q", k)
		}
	}
	var e routeEntry
	if err := n.Decode(&e); err != nil {
		return Route{}, err
	}
	r := Route{
		Pattern: e.Path, Permission: e.Permission, Resource: e.Resource, Line: n.Line,
		Service: or(e.Service, f.Service), Scope: or(e.Scope, f.Scope),
		SigningRegion: or(e.SigningRegion, f.SigningRegion), SigningService: or(e.SigningService, f.SigningService),
	}
	switch {
	case e.Method == "":
		return Route{}, errors.New(`method is required ("*" for any)`)
	case e.Method != "*":
		for _, m := range strings.Split(e.Method, ",") {
			m = strings.TrimSpace(m)
			if !methodPattern.MatchString(m) {
				return Route{}, fmt.Errorf("method %q: an upper-case HTTP method, a comma-separated list of them, or *", m)
			}
			r.Methods = append(r.Methods, m)
		}
	}
	if !permissionPattern.MatchString(e.Permission) {
		return Route{}, fmt.Errorf("permission %q: a permission such as storage.objects.get is required", e.Permission)
	}
	var err error
	if r.segments, err = parsePattern(e.Path); err != nil {
		return Route{}, fmt.Errorf("path %q: %w", e.Path, err)
	}
	if err := r.checkResource(); err != nil {
		return Route{}, fmt.Errorf("resource %q: %w", e.Resource, err)
	}
	if (r.SigningRegion == "") != (r.SigningService == "") {
		return Route{}, errors.New("signingRegion and signingService go together")
	}
	return r, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func parsePattern(p string) ([]segment, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, errors.New("a path pattern starts with /")
	}
	parts := strings.Split(p[1:], "/")
	out := make([]segment, 0, len(parts))
	seen := map[string]bool{}
	for i, s := range parts {
		if !strings.HasPrefix(s, "{") {
			if s == "." || s == ".." {
				return nil, errors.New("dot segments never match: requests with them are refused")
			}
			if s != "" && !literalPattern.MatchString(s) {
				return nil, fmt.Errorf("segment %q: letters, digits and unreserved characters, or {name}", s)
			}
			out = append(out, segment{literal: s})
			continue
		}
		name, ok := strings.CutSuffix(s[1:], "}")
		if !ok {
			return nil, fmt.Errorf("segment %q: a variable is {name} or {name...}", s)
		}
		name, rest := strings.CutSuffix(name, "...")
		if rest && i != len(parts)-1 {
			return nil, fmt.Errorf("{%s...} must be the last segment", name)
		}
		if !namePattern.MatchString(name) || seen[name] {
			return nil, fmt.Errorf("variable {%s}: a name of letters, digits and _, once per pattern", name)
		}
		seen[name] = true
		out = append(out, segment{name: name, rest: rest})
	}
	return out, nil
}

func (r *Route) checkResource() error {
	switch {
	case r.Resource == "":
		return errors.New(`required: a resource id, "{name}" of the path or "header:Name"`)
	case strings.HasPrefix(r.Resource, "{"):
		name, ok := strings.CutSuffix(r.Resource[1:], "}")
		for _, s := range r.segments {
			if ok && s.name == name && !s.rest {
				return nil
			}
		}
		return errors.New("not a one-segment variable of the route's path")
	case strings.HasPrefix(r.Resource, "header:"):
		if !headerPattern.MatchString(strings.TrimPrefix(r.Resource, "header:")) {
			return errors.New("header:Name names a header")
		}
		return nil
	case !idPattern.MatchString(r.Resource):
		return errors.New("a literal resource is an id of letters and digits")
	}
	return nil
}

// Match returns the first route for method and the escaped path, with
// the values of its path variables (unescaped).
func (rs *Routes) Match(method string, segs []string) (*Route, map[string]string, bool) {
	for i := range rs.routes {
		r := &rs.routes[i]
		if r.Methods != nil && !contains(r.Methods, method) {
			continue
		}
		if vars, ok := r.match(segs); ok {
			return r, vars, true
		}
	}
	return nil, nil, false
}

func contains(ms []string, m string) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

func (r *Route) match(segs []string) (map[string]string, bool) {
	var vars map[string]string
	for i, s := range r.segments {
		if s.rest {
			if vars == nil {
				vars = map[string]string{}
			}
			vars[s.name] = strings.Join(segs[i:], "/")
			return vars, true
		}
		if i >= len(segs) {
			return nil, false
		}
		switch {
		case s.name == "":
			if segs[i] != s.literal {
				return nil, false
			}
		case segs[i] == "":
			return nil, false // a variable never matches an empty segment
		default:
			if vars == nil {
				vars = map[string]string{}
			}
			vars[s.name] = segs[i]
		}
	}
	return vars, len(segs) == len(r.segments)
}

// splitPath unescapes the segments of an escaped path. It refuses what an
// upstream could read as another path than the one checked: dot segments
// (an upstream that normalises "/a/../b" serves /b) and escaped slashes or
// backslashes (one that decodes "%2F" sees more segments).
func splitPath(escaped string) ([]string, error) {
	if !strings.HasPrefix(escaped, "/") {
		return nil, errors.New("the path does not start with /")
	}
	parts := strings.Split(escaped[1:], "/")
	for i, p := range parts {
		s, err := url.PathUnescape(p)
		if err != nil {
			return nil, errors.New("the path is not validly escaped")
		}
		if s == "." || s == ".." || strings.ContainsAny(s, "/\\") {
			return nil, errors.New("the path has a dot segment or an escaped slash")
		}
		parts[i] = s
	}
	return parts, nil
}
