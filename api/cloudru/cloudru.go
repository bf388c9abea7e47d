// Package cloudru serves API keys the way Cloud.ru's IAM API does: products
// to bind a key to, and keys with IP and time-window restrictions, an
// enabled flag and an expiry. Requests are camelCase JSON and responses
// snake_case, field for field as Cloud.ru documents them; errors are
// google.rpc.Status JSON like the rest of Warden's REST API. The keys are
// the same ones the Yandex ApiKeyService serves.
package cloudru

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"warden"
	"warden/api/grpcapi"
	"warden/api/jsonbody"
	"warden/api/restapi"
	"warden/apikey"
	"warden/service"
)

// Method names under which requests are logged, counted and listed in the
// permission table.
const (
	MethodListProducts = "/cloudru.iam.v1.ProductService/List"
	MethodCreate       = "/cloudru.iam.v1.ApiKeyService/Create"
	MethodGet          = "/cloudru.iam.v1.ApiKeyService/Get"
	MethodList         = "/cloudru.iam.v1.ApiKeyService/List"
	MethodUpdate       = "/cloudru.iam.v1.ApiKeyService/Update"
	MethodDelete       = "/cloudru.iam.v1.ApiKeyService/Delete"
)

const keysPath = "/api/v1/service-accounts/credentials/api-keys"

// Register adds the routes to mux. Requests run through srv's interceptor
// (authentication, request id, logs, metrics).
func Register(mux *http.ServeMux, svc *service.Service, srv *grpcapi.Server) {
	h := &handler{svc: svc, srv: srv}
	fns := map[string]func(context.Context, *http.Request) (any, error){
		MethodListProducts: h.listProducts, MethodCreate: h.create, MethodList: h.list,
		MethodGet: h.get, MethodUpdate: h.update, MethodDelete: h.remove,
	}
	for _, rt := range Routes {
		mux.HandleFunc(rt.Pattern, restapi.HandlerFunc(srv, rt.Method, fns[rt.Method]))
	}
}

// Route is an HTTP route and the method name it runs under.
type Route struct {
	Pattern string // net/http pattern: "VERB /path"
	Method  string
}

// Routes are the API's routes.
var Routes = []Route{
	{"GET /api/v1/products", MethodListProducts},
	{"POST " + keysPath, MethodCreate},
	{"GET " + keysPath, MethodList},
	{"GET " + keysPath + "/{id}", MethodGet},
	{"PATCH " + keysPath + "/{id}", MethodUpdate},
	{"PUT " + keysPath + "/{id}", MethodUpdate},
	{"DELETE " + keysPath + "/{id}", MethodDelete},
}

type handler struct {
	svc *service.Service
	srv *grpcapi.Server
}

// Wire shapes. Requests are camelCase, responses snake_case (as Cloud.ru).

type slotIn struct {
	Start *float64 `json:"start"`
	End   *float64 `json:"end"`
}

type restrictionsIn struct {
	IPAddresses *struct {
		IPAddresses []string `json:"ipAddresses"`
	} `json:"ipAddresses"`
	TimeRange *struct {
		TimeSlots []slotIn `json:"timeSlots"`
		Timezone  *float64 `json:"timezone"`
	} `json:"timeRange"`
}

type keyIn struct {
	Name             *string         `json:"name"`
	Description      *string         `json:"description"`
	ServiceAccountID *string         `json:"serviceAccountId"`
	Products         *[]string       `json:"products"`
	Scopes           *[]string       `json:"scopes"` // a Warden extension: Yandex-style scopes
	Restrictions     *restrictionsIn `json:"restrictions"`
	Enabled          *bool           `json:"enabled"`
	ExpiresAt        *string         `json:"expiresAt"`

	// Output-only fields: accepted so that a key read with GET can be
	// sent back as it is, and ignored, except that id must name the key
	// of the path and secret must be empty.
	ID           *string         `json:"id"`
	Secret       *string         `json:"secret"`
	MaskedSecret json.RawMessage `json:"maskedSecret"`
	CreatedAt    json.RawMessage `json:"createdAt"`
	UpdatedAt    json.RawMessage `json:"updatedAt"`
	LastUsedAt   json.RawMessage `json:"lastUsedAt"`
}

type restrictionsOut struct {
	IPAddresses struct {
		IPAddresses []string `json:"ip_addresses"`
	} `json:"ip_addresses"`
	TimeRange struct {
		TimeSlots []apikey.Slot `json:"time_slots"`
		Timezone  int           `json:"timezone"`
	} `json:"time_range"`
}

type keyOut struct {
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	Description      string          `json:"description"`
	ServiceAccountID string          `json:"service_account_id"`
	Products         []string        `json:"products"`
	Scopes           []string        `json:"scopes"`
	Secret           string          `json:"secret"`
	Restrictions     restrictionsOut `json:"restrictions"`
	Enabled          bool            `json:"enabled"`
	MaskedSecret     string          `json:"masked_secret"`
	CreatedAt        string          `json:"created_at"`
	UpdatedAt        string          `json:"updated_at"`
	ExpiresAt        *string         `json:"expires_at"`
	LastUsedAt       *string         `json:"last_used_at"`
}

func timeOut(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

func keyJSON(k *service.APIKey, secret string) keyOut {
	out := keyOut{
		ID: k.ID, Name: k.Name, Description: k.Description, ServiceAccountID: k.ServiceAccountID,
		Products: nonNil(k.Products), Scopes: nonNil(k.Scopes), Secret: secret, Enabled: k.Enabled,
		MaskedSecret: k.MaskedSecret, CreatedAt: *timeOut(k.CreatedAt), UpdatedAt: *timeOut(k.UpdatedAt),
		ExpiresAt: timeOut(k.ExpiresAt), LastUsedAt: timeOut(k.LastUsedAt),
	}
	out.Restrictions.IPAddresses.IPAddresses = nonNil(k.Addresses)
	out.Restrictions.TimeRange.TimeSlots = k.Slots
	if out.Restrictions.TimeRange.TimeSlots == nil {
		out.Restrictions.TimeRange.TimeSlots = []apikey.Slot{}
	}
	out.Restrictions.TimeRange.Timezone = k.Timezone
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// fields names the request fields in errors.
var fields = service.APIKeyFields{
	Description: "description", Scopes: "scopes", Products: "products",
	Addresses: "restrictions.ipAddresses.ipAddresses", Slots: "restrictions.timeRange.timeSlots",
	Timezone: "restrictions.timeRange.timezone",
}

var (
	namePattern = regexp.MustCompile(`^[a-zA-Z0-9._\- ]{1,256}$`)
	// idPattern admits Warden IDs (and UUID-shaped ones); the errors it
	// causes never repeat the value, which may be a secret pasted by
	// mistake where an ID belongs.
	idPattern = regexp.MustCompile(`^[a-z0-9-]{1,50}$`)
)

// checkID refuses a malformed ID without repeating it.
func checkID(field, id string) error {
	if !idPattern.MatchString(id) {
		return invalid("%s: must be an ID of 1 to 50 lowercase letters, digits and '-'", field)
	}
	return nil
}

// keyID is the key ID of the request path.
func keyID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	return id, checkID("id", id)
}

// Expiry bounds: from one day to one year ahead; a year when unset. A
// minute of slack lets a client send exactly "now + 1 day".
const expirySlack = time.Minute

func invalid(format string, args ...any) error {
	return warden.Errorf(warden.InvalidArgument, format, args...)
}

// decode reads a JSON body strictly: unknown fields (a typo) are refused
// rather than silently ignored. Field names may be camelCase, as Cloud.ru's
// requests are, or snake_case, as its responses are, so that an answer can
// be sent back; one field named both ways is refused.
func decode(r *http.Request, v any) error {
	b, err := jsonbody.Read(r.Body, 64<<10)
	if err != nil {
		return err
	}
	if b, err = camelCaseKeys(b); err != nil {
		return err
	}
	err = jsonbody.Decode(bytes.NewReader(b), int64(len(b))+1, v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return invalid("%s: must be a JSON %s, not %s", te.Field, te.Type.Kind(), te.Value)
	}
	return err
}

// camelCaseKeys rewrites the snake_case object keys of a JSON document to
// camelCase. Numbers keep their text.
func camelCaseKeys(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, &warden.Error{Code: warden.InvalidArgument, Message: "invalid JSON body: " + err.Error(), Cause: err}
	}
	if err := renameKeys(doc, ""); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

func renameKeys(v any, path string) error {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			camel := snakeToCamel(k)
			if camel != k {
				if _, both := v[camel]; both {
					return invalid("%s%s: given twice, as %s and %s", path, camel, camel, k)
				}
				delete(v, k)
				v[camel] = child
			}
			if err := renameKeys(child, path+camel+"."); err != nil {
				return err
			}
		}
	case []any:
		for _, child := range v {
			if err := renameKeys(child, path); err != nil {
				return err
			}
		}
	}
	return nil
}

// snakeToCamel is "ip_addresses" → "ipAddresses"; other names unchanged.
func snakeToCamel(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	var b strings.Builder
	upper := false
	for _, c := range s {
		switch {
		case c == '_':
			upper = true
		case upper && c >= 'a' && c <= 'z':
			b.WriteRune(c - 'a' + 'A')
			upper = false
		default:
			b.WriteRune(c)
			upper = false
		}
	}
	return b.String()
}

// apply copies the fields present in in onto k, checking the ones only
// this API has; the shared ones are checked by service.ValidateAPIKey.
func (h *handler) apply(in *keyIn, k *service.APIKey, creating bool) error {
	now := h.svc.Now()
	if in.Secret != nil && *in.Secret != "" {
		return invalid("secret: is output only: a key's secret cannot be set")
	}
	if in.ID != nil && (creating || *in.ID != k.ID) {
		return invalid("id: is output only: it must be left out or name the key being changed")
	}
	if in.ServiceAccountID != nil && !creating && *in.ServiceAccountID != k.ServiceAccountID {
		return invalid("serviceAccountId: a key cannot move to another service account")
	}
	if in.Name != nil {
		if !namePattern.MatchString(*in.Name) {
			return invalid("name: 1 to 256 Latin letters, digits, '-', '_', '.' and spaces")
		}
		k.Name = *in.Name
	} else if creating {
		return invalid("name: required")
	}
	if in.Description != nil {
		k.Description = *in.Description
	}
	if in.Products != nil {
		k.Products = *in.Products
	}
	if in.Scopes != nil {
		k.Scopes = *in.Scopes
	}
	if in.Enabled != nil {
		k.Enabled = *in.Enabled
	}
	if r := in.Restrictions; r != nil {
		if r.IPAddresses == nil && r.TimeRange == nil {
			k.Addresses, k.Slots, k.Timezone = nil, nil, 0 // {}: no restrictions
		}
		// Each part sent replaces that part; a part left out stays as it
		// is, so that two edits of different restrictions do not undo
		// each other.
		if r.IPAddresses != nil {
			k.Addresses = r.IPAddresses.IPAddresses
		}
		if tr := r.TimeRange; tr != nil {
			if tr.TimeSlots != nil {
				k.Slots = nil
				for i, s := range tr.TimeSlots {
					start, err := hour(fmt.Sprintf("%s[%d].start", fields.Slots, i), s.Start)
					if err != nil {
						return err
					}
					end, err := hour(fmt.Sprintf("%s[%d].end", fields.Slots, i), s.End)
					if err != nil {
						return err
					}
					k.Slots = append(k.Slots, apikey.Slot{Start: start, End: end})
				}
			}
			if tr.Timezone != nil {
				tz, err := integer(fields.Timezone, *tr.Timezone)
				if err != nil {
					return err
				}
				k.Timezone = tz
			}
		}
	}
	switch {
	case in.ExpiresAt != nil:
		t, err := time.Parse(time.RFC3339Nano, *in.ExpiresAt)
		if err != nil {
			return invalid("expiresAt: must be an RFC 3339 time such as 2025-01-31T09:00:00Z")
		}
		if t.Equal(k.ExpiresAt) {
			break // unchanged, as when a key read with GET is sent back
		}
		if t.Before(now.Add(24*time.Hour - expirySlack)) {
			return invalid("expiresAt: must be at least one day ahead")
		}
		if t.After(now.AddDate(1, 0, 0).Add(expirySlack)) {
			return invalid("expiresAt: must be at most one year ahead")
		}
		k.ExpiresAt = t.UTC()
	case creating:
		k.ExpiresAt = now.AddDate(1, 0, 0).UTC()
	}
	return nil
}

// hour reads a slot bound: a whole number of hours (range checked later,
// with the slot).
func hour(field string, v *float64) (int, error) {
	if v == nil {
		return 0, invalid("%s: required", field)
	}
	return integer(field, *v)
}

func integer(field string, v float64) (int, error) {
	if v != math.Trunc(v) || math.Abs(v) > 1e6 {
		return 0, invalid("%s: must be a whole number, not %v", field, v)
	}
	return int(v), nil
}

func (h *handler) create(ctx context.Context, r *http.Request) (any, error) {
	var in keyIn
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	k := &service.APIKey{Enabled: true}
	if in.ServiceAccountID != nil {
		if err := checkID("serviceAccountId", *in.ServiceAccountID); err != nil {
			return nil, err
		}
		k.ServiceAccountID = *in.ServiceAccountID
	}
	if err := h.apply(&in, k, true); err != nil {
		return nil, err
	}
	if err := h.svc.ValidateAPIKey(k, fields); err != nil {
		return nil, err
	}
	out, sec, err := h.svc.CreateAPIKey(ctx, k, nil)
	if err != nil {
		return nil, withField(err, "serviceAccountId")
	}
	return keyJSON(out, sec.Reveal()), nil
}

// withField names the request field in an InvalidArgument from the
// service, which speaks of the Yandex field name.
func withField(err error, field string) error {
	var we *warden.Error
	if errors.As(err, &we) && we.Code == warden.InvalidArgument && strings.HasPrefix(we.Message, "service_account_id:") {
		return invalid("%s: required unless the caller is a service account", field)
	}
	return err
}

func (h *handler) get(ctx context.Context, r *http.Request) (any, error) {
	id, err := keyID(r)
	if err != nil {
		return nil, err
	}
	k, err := h.svc.GetAPIKey(ctx, id)
	if err != nil {
		return nil, err
	}
	return keyJSON(k, ""), nil
}

func (h *handler) list(ctx context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	if sa := q.Get("serviceAccountId"); sa != "" {
		if err := checkID("serviceAccountId", sa); err != nil {
			return nil, err
		}
	}
	size := 0
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			return nil, invalid("pageSize: a whole number from 0 to 1000")
		}
		size = n
	}
	ks, next, err := h.svc.ListAPIKeys(ctx, q.Get("serviceAccountId"), warden.Page{Size: size, Token: q.Get("pageToken")})
	if err != nil {
		return nil, withField(err, "serviceAccountId")
	}
	out := struct {
		APIKeys       []keyOut `json:"api_keys"`
		NextPageToken string   `json:"next_page_token"`
	}{APIKeys: []keyOut{}, NextPageToken: next}
	for _, k := range ks {
		out.APIKeys = append(out.APIKeys, keyJSON(k, ""))
	}
	return out, nil
}

func (h *handler) update(ctx context.Context, r *http.Request) (any, error) {
	id, err := keyID(r)
	if err != nil {
		return nil, err
	}
	var in keyIn
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	k, err := h.svc.UpdateAPIKey(ctx, id, fields, func(k *service.APIKey) error {
		return h.apply(&in, k, false)
	}, nil)
	if err != nil {
		return nil, err
	}
	return keyJSON(k, ""), nil
}

func (h *handler) remove(ctx context.Context, r *http.Request) (any, error) {
	id, err := keyID(r)
	if err != nil {
		return nil, err
	}
	if err := h.svc.DeleteAPIKey(ctx, id, nil); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *handler) listProducts(ctx context.Context, r *http.Request) (any, error) {
	return struct {
		Products []apikey.Product `json:"products"`
	}{h.svc.Products().Products()}, nil
}
