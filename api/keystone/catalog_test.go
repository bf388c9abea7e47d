package keystone

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadCatalog(t *testing.T) {
	write := func(content string) string {
		p := filepath.Join(t.TempDir(), "catalog.json")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write(`{"services": [{"type": "object-store", "name": "swift",
	  "endpoints": [{"interface": "public", "region": "ru-1", "url": "https://swift.example/v1"}, {"interface": "internal", "url": "http://swift.internal/v1"}]}]}`)
	svcs, err := LoadCatalog(good)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := LoadCatalog(good)
	if len(svcs) != 1 || svcs[0].ID == "" || svcs[0].ID != again[0].ID || svcs[0].Endpoints[1].Region != DefaultRegion || svcs[0].Endpoints[0].RegionID != "ru-1" {
		t.Errorf("loaded %+v", svcs)
	}
	for name, c := range map[string]struct{ content, want string }{
		"identity is Warden's": {`{"services": [{"type": "identity", "endpoints": [{"interface": "public", "url": "x"}]}]}`, "identity"},
		"bad interface":        {`{"services": [{"type": "dns", "endpoints": [{"interface": "outside", "url": "x"}]}]}`, "interface"},
		"no URL":               {`{"services": [{"type": "dns", "endpoints": [{"interface": "public"}]}]}`, "url"},
		"no endpoints":         {`{"services": [{"type": "dns"}]}`, "endpoint"},
		"unknown field":        {`{"services": [{"type": "dns", "urls": []}]}`, "unknown field"},
	} {
		if _, err := LoadCatalog(write(c.content)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %s", name, err, c.want)
		}
	}
	if _, err := LoadCatalog(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("a missing file loaded")
	}
}
