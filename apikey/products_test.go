package apikey_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"warden/apikey"
)

// uuidV5 is the shape of a name-based UUID: version 5, RFC 4122 variant.
var uuidV5 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestDefaultCatalog(t *testing.T) {
	c := apikey.DefaultCatalog()
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		endpoints []string
		scopes    []string
	}{
		{"postbox", []string{"postbox.cloud.local"}, []string{"yc.postbox.send"}},
		{"monaas", []string{"monitoring.cloud.local"}, []string{"yc.monitoring.read", "yc.monitoring.write"}},
		{"logaas", []string{"logging.cloud.local"}, []string{"yc.logging.read", "yc.logging.write"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := c.Product(tt.name)
			if !ok {
				t.Fatalf("Product(%q) not found", tt.name)
			}
			if p.Name != tt.name {
				t.Errorf("Product(%q).Name = %q", tt.name, p.Name)
			}
			if !uuidV5.MatchString(p.ID) {
				t.Errorf("Product(%q).ID = %q, not a version 5 UUID", tt.name, p.ID)
			}
			if p.Description == "" {
				t.Errorf("Product(%q) has no description", tt.name)
			}
			if diff := cmp.Diff(tt.endpoints, p.Endpoints); diff != "" {
				t.Errorf("Product(%q).Endpoints (-want +got):\n%s", tt.name, diff)
			}
			if diff := cmp.Diff(tt.scopes, p.Scopes); diff != "" {
				t.Errorf("Product(%q).Scopes (-want +got):\n%s", tt.name, diff)
			}
			if !p.CreatedAt.Equal(created) || !p.UpdatedAt.Equal(created) {
				t.Errorf("Product(%q) created %v, updated %v; want both %v", tt.name, p.CreatedAt, p.UpdatedAt, created)
			}
			for _, s := range tt.scopes {
				if !c.HasScope(s) {
					t.Errorf("HasScope(%q) = false, want true", s)
				}
			}
		})
	}
	for _, name := range []string{"", "Postbox", "iam", "postbox "} {
		if p, ok := c.Product(name); ok {
			t.Errorf("Product(%q) = %+v, want none", name, p)
		}
	}
}

func TestDefaultCatalogIDs(t *testing.T) {
	first, second := apikey.DefaultCatalog().Products(), apikey.DefaultCatalog().Products()
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("two parses of the built-in products differ (-first +second):\n%s", diff)
	}
	ids := map[string]string{}
	for _, p := range first {
		if !uuidV5.MatchString(p.ID) {
			t.Errorf("product %q: ID %q is not a version 5 UUID", p.Name, p.ID)
		}
		if other, ok := ids[p.ID]; ok {
			t.Errorf("products %q and %q share the ID %q", other, p.Name, p.ID)
		}
		ids[p.ID] = p.Name
	}
	// The ID depends on the name alone: the same product in another file,
	// alone and with other fields, has the same ID.
	c, err := apikey.ParseCatalog([]byte(`{"products": [{"name": "postbox", "description": "elsewhere"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	builtin, _ := apikey.DefaultCatalog().Product("postbox")
	other, _ := c.Product("postbox")
	if builtin.ID != other.ID {
		t.Errorf("postbox has ID %q in the built-in products, %q in another file", builtin.ID, other.ID)
	}
}

func TestParseCatalog(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	updated := created.AddDate(0, 1, 0)
	c, err := apikey.ParseCatalog([]byte(`{"products": [
		{"name": "zeta", "id": "given-id", "scopes": ["z.write", "a.read"],
		 "created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-02-02T03:04:05Z"},
		{"name": "alpha", "endpoints": ["alpha.local", "alpha2.local"], "scopes": ["a.read", "m.x_y-z"],
		 "created_at": "2026-01-02T03:04:05Z"},
		{"name": "b-2"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Products()
	want := []apikey.Product{
		{ID: "given-id", Name: "zeta", Endpoints: []string{}, Scopes: []string{"z.write", "a.read"}, CreatedAt: created, UpdatedAt: updated},
		{ID: got[1].ID, Name: "alpha", Endpoints: []string{"alpha.local", "alpha2.local"}, Scopes: []string{"a.read", "m.x_y-z"}, CreatedAt: created, UpdatedAt: created},
		{ID: got[2].ID, Name: "b-2", Endpoints: []string{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Products (-want +got):\n%s", diff)
	}
	for _, p := range got[1:] {
		if !uuidV5.MatchString(p.ID) {
			t.Errorf("product %q: ID %q is not a version 5 UUID", p.Name, p.ID)
		}
	}
	if diff := cmp.Diff([]string{"a.read", "m.x_y-z", "z.write"}, c.Scopes()); diff != "" {
		t.Errorf("Scopes (-want +got):\n%s", diff)
	}
	for _, p := range want {
		got, ok := c.Product(p.Name)
		if !ok {
			t.Errorf("Product(%q) not found", p.Name)
			continue
		}
		if diff := cmp.Diff(p, *got); diff != "" {
			t.Errorf("Product(%q) (-want +got):\n%s", p.Name, diff)
		}
	}
}

func TestParseCatalogEmpty(t *testing.T) {
	for _, in := range []string{`{}`, `{"products": []}`, `{"products": null}`} {
		c, err := apikey.ParseCatalog([]byte(in))
		if err != nil {
			t.Errorf("ParseCatalog(%s): %v", in, err)
			continue
		}
		if got := c.Products(); len(got) != 0 {
			t.Errorf("ParseCatalog(%s).Products() = %v, want none", in, got)
		}
		if got := c.Scopes(); len(got) != 0 {
			t.Errorf("ParseCatalog(%s).Scopes() = %v, want none", in, got)
		}
		if c.HasScope("") {
			t.Errorf("ParseCatalog(%s).HasScope(\"\") = true", in)
		}
	}
}

func TestParseCatalogRefuses(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // in the error
	}{
		{"not JSON", `products: []`, "products: "},
		{"empty input", ``, "products: "},
		{"truncated", `{"products": [{"name": "postbox"}`, "products: "},
		{"products not a list", `{"products": {"name": "postbox"}}`, "products: "},
		{"scopes not a list", `{"products": [{"name": "postbox", "scopes": "yc.postbox.send"}]}`, "products: "},
		{"bad time", `{"products": [{"name": "postbox", "created_at": "yesterday"}]}`, "products: "},

		{"no name", `{"products": [{"description": "nameless"}]}`, `products[0].name ""`},
		{"upper case name", `{"products": [{"name": "Postbox"}]}`, `products[0].name "Postbox"`},
		{"name starts with a digit", `{"products": [{"name": "1box"}]}`, `products[0].name "1box"`},
		{"name starts with a dash", `{"products": [{"name": "-box"}]}`, `products[0].name "-box"`},
		{"name with a dot", `{"products": [{"name": "post.box"}]}`, `products[0].name "post.box"`},
		{"name with a space", `{"products": [{"name": "post box"}]}`, `products[0].name "post box"`},
		{"name of 64 characters", `{"products": [{"name": "` + strings.Repeat("a", 64) + `"}]}`, `products[0].name "aaaa`},
		{"second name bad", `{"products": [{"name": "postbox"}, {"name": "Monaas"}]}`, `products[1].name "Monaas"`},

		{"empty scope", `{"products": [{"name": "postbox", "scopes": [""]}]}`, `products[0].scopes: ""`},
		{"scope starts upper case", `{"products": [{"name": "postbox", "scopes": ["Yc.postbox"]}]}`, `products[0].scopes: "Yc.postbox"`},
		{"scope starts with a dot", `{"products": [{"name": "postbox", "scopes": [".yc"]}]}`, `products[0].scopes: ".yc"`},
		{"scope with a space", `{"products": [{"name": "postbox", "scopes": ["yc.post box"]}]}`, `products[0].scopes: "yc.post box"`},
		{"scope with a slash", `{"products": [{"name": "postbox", "scopes": ["yc/postbox"]}]}`, `products[0].scopes: "yc/postbox"`},
		{"scope of 257 characters", `{"products": [{"name": "postbox", "scopes": ["` + strings.Repeat("y", 257) + `"]}]}`, `products[0].scopes: "yyyy`},
		{"second product's scope bad", `{"products": [{"name": "postbox"}, {"name": "monaas", "scopes": ["ok", "not ok"]}]}`, `products[1].scopes: "not ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := apikey.ParseCatalog([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseCatalog(%s) = %+v, nil; want an error", tt.in, c.Products())
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseCatalog(%s): %v, want it to say %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseCatalogRefusesDuplicateNames(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"adjacent", `{"products": [{"name": "postbox"}, {"name": "postbox"}]}`},
		{"apart", `{"products": [{"name": "postbox"}, {"name": "monaas"}, {"name": "postbox", "id": "other"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := apikey.ParseCatalog([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseCatalog(%s) = %+v, nil; want an error", tt.in, c.Products())
			}
			if want := "listed twice"; !strings.Contains(err.Error(), want) {
				t.Errorf("ParseCatalog(%s): %v, want it to say %q", tt.in, err, want)
			}
		})
	}
}

func TestParseCatalogAcceptsLongestNames(t *testing.T) {
	name, scope := "a"+strings.Repeat("-", 62), "y"+strings.Repeat("Z", 255)
	c, err := apikey.ParseCatalog([]byte(`{"products": [{"name": "` + name + `", "scopes": ["` + scope + `"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Product(name); !ok {
		t.Errorf("Product(%q) not found", name)
	}
	if !c.HasScope(scope) {
		t.Errorf("HasScope(%q) = false, want true", scope)
	}
}

func TestCatalogScopes(t *testing.T) {
	c := apikey.DefaultCatalog()
	got := c.Scopes()
	if !slices.IsSorted(got) {
		t.Errorf("Scopes() = %q, not sorted", got)
	}
	if len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("Scopes() = %q, has duplicates", got)
	}
	for _, p := range c.Products() {
		for _, s := range p.Scopes {
			if _, ok := slices.BinarySearch(got, s); !ok {
				t.Errorf("Scopes() = %q, lacks %q of %s", got, s, p.Name)
			}
		}
	}
	want := []string{
		"yc.logging.read", "yc.logging.write",
		"yc.monitoring.read", "yc.monitoring.write",
		"yc.postbox.send",
		"yc.storage.read", "yc.storage.write",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scopes (-want +got):\n%s", diff)
	}

	// A scope two products share is listed once.
	shared, err := apikey.ParseCatalog([]byte(`{"products": [
		{"name": "b", "scopes": ["s.read", "s.write"]},
		{"name": "a", "scopes": ["s.write", "a.read"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a.read", "s.read", "s.write"}, shared.Scopes()); diff != "" {
		t.Errorf("shared scopes (-want +got):\n%s", diff)
	}
}

func TestCatalogHasScope(t *testing.T) {
	c := apikey.DefaultCatalog()
	tests := []struct {
		scope string
		want  bool
	}{
		{"yc.postbox.send", true},
		{"yc.logging.read", true},
		{"yc.storage.write", true},
		{"", false},
		{"yc", false},
		{"yc.postbox", false},
		{"yc.postbox.send ", false},
		{"YC.POSTBOX.SEND", false},
		{"yc.postbox.receive", false},
		{"zz", false},
	}
	for _, tt := range tests {
		if got := c.HasScope(tt.scope); got != tt.want {
			t.Errorf("HasScope(%q) = %v, want %v", tt.scope, got, tt.want)
		}
	}
}

// What a catalog returns cannot change the catalog.
func TestCatalogReturnsCopies(t *testing.T) {
	c := apikey.DefaultCatalog()
	products := c.Products()
	products[0] = apikey.Product{Name: "changed"}
	if got := c.Products()[0].Name; got == "changed" {
		t.Errorf("changing the slice Products returned changed the catalog")
	}
	scopes := c.Scopes()
	scopes[0] = "zzz"
	if got := c.Scopes()[0]; got == "zzz" {
		t.Errorf("changing the slice Scopes returned changed the catalog")
	}
	if !c.HasScope(c.Scopes()[0]) {
		t.Errorf("changing the slice Scopes returned broke HasScope")
	}
}

func TestLoadCatalog(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "products.json")
	if err := os.WriteFile(good, []byte(`{"products": [{"name": "only", "scopes": ["only.use"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := apikey.LoadCatalog(good)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range c.Products() {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"only"}, names); diff != "" {
		t.Errorf("products of %s (-want +got):\n%s", good, diff)
	}
	if _, ok := c.Product("postbox"); ok {
		t.Errorf("a loaded catalog kept the built-in product postbox")
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"products": [{"name": "Bad"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := apikey.LoadCatalog(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("LoadCatalog(%s): %v, want an error naming the file", bad, err)
	}

	missing := filepath.Join(dir, "missing.json")
	if _, err := apikey.LoadCatalog(missing); !os.IsNotExist(err) {
		t.Errorf("LoadCatalog(%s): %v, want a does-not-exist error", missing, err)
	}
}
