package apikey

import (
	"crypto/sha1"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"time"
)

// Product is a service an API key can be bound to (the Cloud.ru
// "products"), with the Yandex-style scopes its operations ask for.
type Product struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Endpoints   []string  `json:"endpoints"`
	Scopes      []string  `json:"scopes,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Catalog is the configured products, in file order.
type Catalog struct {
	products []Product
	byName   map[string]*Product
	scopes   []string
}

//go:embed products.json
var defaultProducts []byte

var (
	productName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	scopeName   = regexp.MustCompile(`^[a-z][a-zA-Z0-9.\-_]{0,255}$`)
)

// DefaultCatalog returns the built-in products.
func DefaultCatalog() *Catalog {
	c, err := ParseCatalog(defaultProducts)
	if err != nil {
		panic("apikey: built-in products: " + err.Error())
	}
	return c
}

// LoadCatalog reads a products file ({"products": [...]}, as the built-in
// one) that replaces the built-in products.
func LoadCatalog(path string) (*Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseCatalog(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseCatalog parses a products file. A product's ID, unless given, is
// derived from its name, so every wardend answers the same one.
func ParseCatalog(b []byte) (*Catalog, error) {
	var f struct {
		Products []Product `json:"products"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("products: %w", err)
	}
	c := &Catalog{byName: map[string]*Product{}}
	for i := range f.Products {
		p := f.Products[i]
		if !productName.MatchString(p.Name) {
			return nil, fmt.Errorf("products[%d].name %q: must match %s", i, p.Name, productName)
		}
		if slices.ContainsFunc(c.products, func(q Product) bool { return q.Name == p.Name }) {
			return nil, fmt.Errorf("products[%d].name %q: listed twice", i, p.Name)
		}
		for _, s := range p.Scopes {
			if !scopeName.MatchString(s) {
				return nil, fmt.Errorf("products[%d].scopes: %q must match %s", i, s, scopeName)
			}
			if !slices.Contains(c.scopes, s) {
				c.scopes = append(c.scopes, s)
			}
		}
		if p.ID == "" {
			p.ID = nameUUID(p.Name)
		}
		if p.Endpoints == nil {
			p.Endpoints = []string{}
		}
		if p.UpdatedAt.IsZero() {
			p.UpdatedAt = p.CreatedAt
		}
		c.products = append(c.products, p)
	}
	for i := range c.products {
		c.byName[c.products[i].Name] = &c.products[i]
	}
	slices.Sort(c.scopes)
	return c, nil
}

// nameUUID is a name-based (version 5 form) UUID of a product name.
func nameUUID(name string) string {
	h := sha1.Sum([]byte("warden/product/" + name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// Products returns every product.
func (c *Catalog) Products() []Product { return slices.Clone(c.products) }

// Product returns a product by name.
func (c *Catalog) Product(name string) (*Product, bool) {
	p, ok := c.byName[name]
	return p, ok
}

// Scopes returns every scope of every product, sorted.
func (c *Catalog) Scopes() []string { return slices.Clone(c.scopes) }

// HasScope reports whether a scope belongs to some product.
func (c *Catalog) HasScope(s string) bool {
	_, ok := slices.BinarySearch(c.scopes, s)
	return ok
}

// Intern replaces product names and scopes in place by the catalog's own
// copies, so that a million keys naming "postbox" share one string.
func (c *Catalog) Intern(products, scopes []string) {
	for i, p := range products {
		if cp, ok := c.byName[p]; ok {
			products[i] = cp.Name
		}
	}
	for i, s := range scopes {
		if j, ok := slices.BinarySearch(c.scopes, s); ok {
			scopes[i] = c.scopes[j]
		}
	}
}
