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
