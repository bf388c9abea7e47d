package keystone

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"warden"
	"warden/service"
)

// Read views of Warden's hierarchy, accounts, roles and bindings, in
// Keystone's shapes; the service filters them by what the caller may see.

type linksOut struct {
	Self     string  `json:"self"`
	Previous *string `json:"previous"`
	Next     *string `json:"next"`
}

func selfLinks(h *handler, r *http.Request) linksOut {
	return linksOut{Self: h.host(r) + r.URL.RequestURI()}
}

func (h *handler) v3(r *http.Request) string { return h.root(r) + "/v3" }

type selfLink struct {
	Self string `json:"self"`
}

type projectDoc struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	DomainID    string   `json:"domain_id"`
	ParentID    string   `json:"parent_id"`
	Description string   `json:"description"`
	Enabled     bool     `json:"enabled"`
	IsDomain    bool     `json:"is_domain"`
	Tags        []string `json:"tags"`
	Options     struct{} `json:"options"`
	Links       selfLink `json:"links"`
}

func (h *handler) project(r *http.Request, p service.KeystoneProject) projectDoc {
	return projectDoc{ID: p.ID, Name: p.Name, DomainID: p.DomainID, ParentID: p.DomainID, Enabled: p.Enabled,
		Tags: []string{}, Links: selfLink{h.v3(r) + "/projects/" + p.ID}}
}

func (h *handler) projects(r *http.Request, ps []service.KeystoneProject) result {
	out := make([]projectDoc, 0, len(ps))
	for _, p := range ps {
		out = append(out, h.project(r, p))
	}
	return result{body: map[string]any{"projects": out, "links": selfLinks(h, r)}}
}

type domainDoc struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Enabled     bool     `json:"enabled"`
	Tags        []string `json:"tags"`
	Options     struct{} `json:"options"`
	Links       selfLink `json:"links"`
}

func (h *handler) domain(r *http.Request, d service.KeystoneDomain) domainDoc {
	return domainDoc{ID: d.ID, Name: d.Name, Enabled: d.Enabled, Tags: []string{}, Links: selfLink{h.v3(r) + "/domains/" + d.ID}}
}

func (h *handler) domains(r *http.Request, ds []service.KeystoneDomain) result {
	out := make([]domainDoc, 0, len(ds))
	for _, d := range ds {
		out = append(out, h.domain(r, d))
	}
	return result{body: map[string]any{"domains": out, "links": selfLinks(h, r)}}
}

// authProjects answers GET /v3/auth/projects.
func (h *handler) authProjects(ctx context.Context, r *http.Request) (result, error) {
	return h.projects(r, h.svc.KeystoneAuthProjects(ctx)), nil
}

// authDomains answers GET /v3/auth/domains.
func (h *handler) authDomains(ctx context.Context, r *http.Request) (result, error) {
	return h.domains(r, h.svc.KeystoneAuthDomains(ctx)), nil
}

// listProjects answers GET /v3/projects[?name=&domain_id=&parent_id=&enabled=&is_domain=].
// Warden has no project acting as a domain: is_domain=true lists none.
func (h *handler) listProjects(ctx context.Context, r *http.Request) (result, error) {
	f, err := filterOf(r)
	if err != nil {
		return result{}, err
	}
	isDomain, err := boolQuery(r, "is_domain")
	if err != nil {
		return result{}, err
	}
	if isDomain != nil && *isDomain {
		return h.projects(r, nil), nil
	}
	return h.projects(r, h.svc.KeystoneProjects(ctx, f)), nil
}

// filterOf reads Keystone's list filters from the query; a filter a list
// does not know is ignored, as Keystone ignores it.
func filterOf(r *http.Request) (service.KeystoneFilter, error) {
	q := r.URL.Query()
	enabled, err := boolQuery(r, "enabled")
	return service.KeystoneFilter{Name: q.Get("name"), DomainID: q.Get("domain_id"), ParentID: q.Get("parent_id"), Enabled: enabled}, err
}

// boolQuery reads a boolean filter as Keystone's oslo strutils does (1, t,
// true, on, y, yes; 0, f, false, off, n, no; any case): nil when absent.
func boolQuery(r *http.Request, key string) (*bool, error) {
	q := r.URL.Query()
	if !q.Has(key) {
		return nil, nil
	}
	var v bool
	switch strings.ToLower(q.Get(key)) {
	case "1", "t", "true", "on", "y", "yes":
		v = true
	case "0", "f", "false", "off", "n", "no":
	default:
		return nil, warden.Errorf(warden.InvalidArgument, "Invalid input for field '%s': %q is not a boolean.", key, q.Get(key))
	}
	return &v, nil
}

// getProject answers GET /v3/projects/{id}.
func (h *handler) getProject(ctx context.Context, r *http.Request) (result, error) {
	p, err := h.svc.KeystoneGetProject(ctx, r.PathValue("id"))
	if err != nil {
		return result{}, err
	}
	return result{body: map[string]any{"project": h.project(r, p)}}, nil
}

// listDomains answers GET /v3/domains[?name=&enabled=].
func (h *handler) listDomains(ctx context.Context, r *http.Request) (result, error) {
	f, err := filterOf(r)
	if err != nil {
		return result{}, err
	}
	return h.domains(r, h.svc.KeystoneDomains(ctx, service.KeystoneFilter{Name: f.Name, Enabled: f.Enabled})), nil
}

// getDomain answers GET /v3/domains/{id}.
func (h *handler) getDomain(ctx context.Context, r *http.Request) (result, error) {
	d, err := h.svc.KeystoneGetDomain(ctx, r.PathValue("id"))
	if err != nil {
		return result{}, err
	}
	return result{body: map[string]any{"domain": h.domain(r, d)}}, nil
}

type userDoc struct {
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	DomainID          string   `json:"domain_id"`
	Enabled           bool     `json:"enabled"`
	PasswordExpiresAt *string  `json:"password_expires_at"`
	Options           struct{} `json:"options"`
	Links             selfLink `json:"links"`
}

func (h *handler) user(r *http.Request, u service.KeystoneUser) userDoc {
	return userDoc{ID: u.ID, Name: u.Name, DomainID: u.DomainID, Enabled: u.Enabled, Links: selfLink{h.v3(r) + "/users/" + u.ID}}
}

// unmatchedUserFilters select users by a federated identity or by when their
// password expires; no Warden account has either, so a list filtered by
// one is empty (widening it instead would hand a client the wrong user).
var unmatchedUserFilters = []string{"idp_id", "protocol_id", "unique_id", "password_expires_at"}

// listUsers answers GET /v3/users[?name=&domain_id=&enabled=].
func (h *handler) listUsers(ctx context.Context, r *http.Request) (result, error) {
	f, err := filterOf(r)
	if err != nil {
		return result{}, err
	}
	out := []userDoc{}
	if !slices.ContainsFunc(unmatchedUserFilters, r.URL.Query().Has) {
		for _, u := range h.svc.KeystoneUsers(ctx, service.KeystoneFilter{Name: f.Name, DomainID: f.DomainID, Enabled: f.Enabled}) {
			out = append(out, h.user(r, u))
		}
	}
	return result{body: map[string]any{"users": out, "links": selfLinks(h, r)}}, nil
}

// getUser answers GET /v3/users/{id}.
func (h *handler) getUser(ctx context.Context, r *http.Request) (result, error) {
	u, err := h.svc.KeystoneGetUser(ctx, r.PathValue("id"))
	if err != nil {
		return result{}, err
	}
	return result{body: map[string]any{"user": h.user(r, u)}}, nil
}

// userProjects answers GET /v3/users/{id}/projects.
func (h *handler) userProjects(ctx context.Context, r *http.Request) (result, error) {
	ps, err := h.svc.KeystoneUserProjects(ctx, r.PathValue("id"))
	if err != nil {
		return result{}, err
	}
	return h.projects(r, ps), nil
}

type roleDoc struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	DomainID    *string  `json:"domain_id"`
	Description string   `json:"description,omitempty"`
	Options     struct{} `json:"options"`
	Links       selfLink `json:"links"`
}

// listRoles answers GET /v3/roles[?name=&domain_id=]: Warden's role
// catalog, a role's ID serving as its Keystone ID and name. Every role is
// global, so a list of one domain's own roles is empty, as Keystone's is
// for a domain that defines none.
func (h *handler) listRoles(_ context.Context, r *http.Request) (result, error) {
	name := r.URL.Query().Get("name")
	out := []roleDoc{}
	if r.URL.Query().Get("domain_id") != "" {
		return result{body: map[string]any{"roles": out, "links": selfLinks(h, r)}}, nil
	}
	for _, id := range h.svc.KeystoneRoles() {
		if name == "" || id == name {
			out = append(out, roleDoc{ID: id, Name: id, Links: selfLink{h.v3(r) + "/roles/" + id}})
		}
	}
	return result{body: map[string]any{"roles": out, "links": selfLinks(h, r)}}, nil
}

// roleAssignments answers GET /v3/role_assignments[?user.id=&scope.project.id=&scope.domain.id=].
func (h *handler) roleAssignments(ctx context.Context, r *http.Request) (result, error) {
	q := r.URL.Query()
	scope := q.Get("scope.project.id")
	if d := q.Get("scope.domain.id"); d != "" {
		if scope != "" {
			return result{}, warden.Errorf(warden.InvalidArgument, "scope.project.id and scope.domain.id: one or the other")
		}
		scope = d
	}
	// ?effective alone means true, as in Keystone.
	effective := q.Has("effective")
	if q.Get("effective") != "" {
		b, err := boolQuery(r, "effective")
		if err != nil {
			return result{}, err
		}
		effective = *b
	}
	out := []map[string]any{}
	filter := service.KeystoneAssignmentFilter{UserID: q.Get("user.id"), GroupID: q.Get("group.id"), ScopeID: scope, Effective: effective}
	for _, a := range h.svc.KeystoneRoleAssignments(ctx, filter) {
		kind := "project"
		if a.Domain {
			kind = "domain"
		}
		subject := "user"
		if a.Group {
			subject = "group"
		}
		links := map[string]string{"assignment": h.v3(r) + "/" + kind + "s/" + a.ScopeID + "/" + subject + "s/" + a.SubjectID + "/roles/" + a.RoleID}
		if a.ViaGroup != "" {
			links["assignment"] = h.v3(r) + "/" + kind + "s/" + a.ScopeID + "/groups/" + a.ViaGroup + "/roles/" + a.RoleID
			links["membership"] = h.v3(r) + "/groups/" + a.ViaGroup + "/users/" + a.SubjectID
		}
		out = append(out, map[string]any{
			"role":  map[string]string{"id": a.RoleID, "name": a.RoleID},
			subject: map[string]string{"id": a.SubjectID},
			"scope": map[string]any{kind: map[string]string{"id": a.ScopeID}},
			"links": links,
		})
	}
	return result{body: map[string]any{"role_assignments": out, "links": selfLinks(h, r)}}, nil
}
