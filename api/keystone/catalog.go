package keystone

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"

	"warden"
)

// The service catalog: Warden itself as the identity service, at the
// unversioned root of the prefix the request came through (keystoneauth
// discovers /v3 from there), plus the services an operator lists in a
// catalog file.

// Service is one entry of the catalog.
type Service struct {
	ID        string     `json:"id"`
	Type      string     `json:"type"`
	Name      string     `json:"name"`
	Endpoints []Endpoint `json:"endpoints"`
}

// Endpoint is one URL of a service.
type Endpoint struct {
	ID        string `json:"id"`
	Interface string `json:"interface"` // public, internal or admin
	Region    string `json:"region"`
	RegionID  string `json:"region_id"`
	URL       string `json:"url"`
}

// DefaultRegion is the region of Warden's own identity endpoints.
const DefaultRegion = "RegionOne"

var (
	serviceTypePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`)
	interfaces         = []string{"public", "internal", "admin"}
)

// LoadCatalog reads an operator's catalog file:
//
//	{"services": [{"type": "object-store", "name": "swift",
//	  "endpoints": [{"interface": "public", "region": "ru-1", "url": "https://…"}]}]}
//
// IDs are derived from the content when not given, so every wardend answers
// the same ones.
func LoadCatalog(path string) ([]Service, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Services []Service `json:"services"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("keystone: catalog %s: %w", path, err)
	}
	for i := range f.Services {
		s := &f.Services[i]
		if !serviceTypePattern.MatchString(s.Type) || s.Type == "identity" {
			return nil, fmt.Errorf("keystone: catalog %s: services[%d].type %q: must match %s and not be identity (Warden's own)", path, i, s.Type, serviceTypePattern)
		}
		if s.Name == "" {
			s.Name = s.Type
		}
		if s.ID == "" {
			s.ID = derivedID(s.Type, s.Name)
		}
		if len(s.Endpoints) == 0 {
			return nil, fmt.Errorf("keystone: catalog %s: services[%d]: at least one endpoint is required", path, i)
		}
		for j := range s.Endpoints {
			e := &s.Endpoints[j]
			if !slices.Contains(interfaces, e.Interface) {
				return nil, fmt.Errorf("keystone: catalog %s: services[%d].endpoints[%d].interface %q: one of %v", path, i, j, e.Interface, interfaces)
			}
			if e.URL == "" {
				return nil, fmt.Errorf("keystone: catalog %s: services[%d].endpoints[%d].url: required", path, i, j)
			}
			if e.Region == "" {
				e.Region = DefaultRegion
			}
			e.RegionID = e.Region
			if e.ID == "" {
				e.ID = derivedID(s.ID, e.Interface, e.Region, e.URL)
			}
		}
	}
	return f.Services, nil
}

func derivedID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// identityID is the catalog ID of Warden's identity service.
var identityID = derivedID("identity", "warden")

// catalog is the catalog for a request.
func (h *handler) catalog(r *http.Request) []Service {
	root := h.root(r)
	id := Service{ID: identityID, Type: "identity", Name: "keystone"}
	for _, i := range interfaces {
		id.Endpoints = append(id.Endpoints, Endpoint{ID: derivedID(identityID, i, root), Interface: i, Region: DefaultRegion, RegionID: DefaultRegion, URL: root})
	}
	return append([]Service{id}, h.cfg.Catalog...)
}

// authCatalog answers GET /v3/auth/catalog.
func (h *handler) authCatalog(_ context.Context, r *http.Request) (result, error) {
	return result{body: map[string]any{"catalog": h.catalog(r), "links": selfLinks(h, r)}}, nil
}

// serviceDoc is a catalog service as GET /v3/services answers it.
type serviceDoc struct {
	ID      string   `json:"id"`
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Enabled bool     `json:"enabled"`
	Links   selfLink `json:"links"`
}

// endpointDoc is a catalog endpoint as GET /v3/endpoints answers it.
type endpointDoc struct {
	ID        string   `json:"id"`
	ServiceID string   `json:"service_id"`
	Interface string   `json:"interface"`
	Region    string   `json:"region"`
	RegionID  string   `json:"region_id"`
	URL       string   `json:"url"`
	Enabled   bool     `json:"enabled"`
	Links     selfLink `json:"links"`
}

// listServices answers GET /v3/services[?type=&name=]: the catalog's
// services, which every token's catalog shows already.
func (h *handler) listServices(_ context.Context, r *http.Request) (result, error) {
	q := r.URL.Query()
	out := []serviceDoc{}
	for _, s := range h.catalog(r) {
		if (q.Get("type") == "" || s.Type == q.Get("type")) && (q.Get("name") == "" || s.Name == q.Get("name")) {
			out = append(out, serviceDoc{ID: s.ID, Type: s.Type, Name: s.Name, Enabled: true, Links: selfLink{h.v3(r) + "/services/" + s.ID}})
		}
	}
	return result{body: map[string]any{"services": out, "links": selfLinks(h, r)}}, nil
}

// getService answers GET /v3/services/{id}.
func (h *handler) getService(_ context.Context, r *http.Request) (result, error) {
	for _, s := range h.catalog(r) {
		if s.ID == r.PathValue("id") {
			return result{body: map[string]any{"service": serviceDoc{ID: s.ID, Type: s.Type, Name: s.Name, Enabled: true, Links: selfLink{h.v3(r) + "/services/" + s.ID}}}}, nil
		}
	}
	return result{}, warden.Errorf(warden.NotFound, "Could not find service: %s.", r.PathValue("id"))
}

// endpoints are the catalog's endpoints with their services' IDs.
func (h *handler) endpoints(r *http.Request) []endpointDoc {
	var out []endpointDoc
	for _, s := range h.catalog(r) {
		for _, e := range s.Endpoints {
			out = append(out, endpointDoc{ID: e.ID, ServiceID: s.ID, Interface: e.Interface, Region: e.Region, RegionID: e.RegionID,
				URL: e.URL, Enabled: true, Links: selfLink{h.v3(r) + "/endpoints/" + e.ID}})
		}
	}
	return out
}

// listEndpoints answers GET /v3/endpoints[?service_id=&interface=&region_id=].
func (h *handler) listEndpoints(_ context.Context, r *http.Request) (result, error) {
	q := r.URL.Query()
	out := []endpointDoc{}
	for _, e := range h.endpoints(r) {
		if (q.Get("service_id") == "" || e.ServiceID == q.Get("service_id")) && (q.Get("interface") == "" || e.Interface == q.Get("interface")) &&
			(q.Get("region_id") == "" || e.RegionID == q.Get("region_id")) {
			out = append(out, e)
		}
	}
	return result{body: map[string]any{"endpoints": out, "links": selfLinks(h, r)}}, nil
}

// getEndpoint answers GET /v3/endpoints/{id}.
func (h *handler) getEndpoint(_ context.Context, r *http.Request) (result, error) {
	for _, e := range h.endpoints(r) {
		if e.ID == r.PathValue("id") {
			return result{body: map[string]any{"endpoint": e}}, nil
		}
	}
	return result{}, warden.Errorf(warden.NotFound, "Could not find endpoint: %s.", r.PathValue("id"))
}
