package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"warden"
	"warden/service"
)

// Static tokens and subject-wide token revocation run through the
// interceptor chain under these method names.
const (
	MethodCreateStaticToken          = "/warden.iam.v1.StaticTokenService/Create"
	MethodListStaticTokens           = "/warden.iam.v1.StaticTokenService/List"
	MethodGetStaticToken             = "/warden.iam.v1.StaticTokenService/Get"
	MethodDeleteStaticToken          = "/warden.iam.v1.StaticTokenService/Delete"
	MethodRevokeUserAccountTokens    = "/warden.iam.v1.UserAccountService/RevokeTokens"
	MethodRevokeServiceAccountTokens = "/warden.iam.v1.ServiceAccountService/RevokeTokens"
	staticTokensPath                 = "/warden/v1/staticTokens"
)

// staticTokenRoutes are the routes of static tokens and of revoking all of
// an account's tokens.
var staticTokenRoutes = []ownRoute{
	{Pattern: "POST " + staticTokensPath, Method: MethodCreateStaticToken},
	{Pattern: "GET " + staticTokensPath, Method: MethodListStaticTokens},
	{Pattern: "GET " + staticTokensPath + "/{id}", Method: MethodGetStaticToken},
	{Pattern: "DELETE " + staticTokensPath + "/{id}", Method: MethodDeleteStaticToken},
	{Pattern: "POST /warden/v1/userAccounts/{id}", Suffix: ":revokeTokens", Method: MethodRevokeUserAccountTokens},
	{Pattern: "POST /warden/v1/serviceAccounts/{id}", Suffix: ":revokeTokens", Method: MethodRevokeServiceAccountTokens},
}

// staticTokenHandlers serve staticTokenRoutes.
func (m *Main) staticTokenHandlers() map[string]func(context.Context, *http.Request) (any, error) {
	return map[string]func(context.Context, *http.Request) (any, error){
		MethodCreateStaticToken: m.createStaticToken, MethodListStaticTokens: m.listStaticTokens,
		MethodGetStaticToken: m.getStaticToken, MethodDeleteStaticToken: m.deleteStaticToken,
		MethodRevokeUserAccountTokens: func(ctx context.Context, r *http.Request) (any, error) {
			return m.revokeTokens(ctx, r, warden.TypeUserAccount)
		},
		MethodRevokeServiceAccountTokens: func(ctx context.Context, r *http.Request) (any, error) {
			return m.revokeTokens(ctx, r, warden.TypeServiceAccount)
		},
	}
}

// staticTokenJSON is a static token as the API answers it; Secret only in
// the answer to its creation.
type staticTokenJSON struct {
	ID           string `json:"id"`
	SubjectID    string `json:"subjectId"`
	SubjectType  string `json:"subjectType"`
	Description  string `json:"description"`
	MaskedSecret string `json:"maskedSecret"`
	CreatedAt    string `json:"createdAt"`
	ExpiresAt    string `json:"expiresAt,omitempty"`
	Secret       string `json:"secret,omitempty"`
}

func staticTokenOut(t *service.StaticToken) staticTokenJSON {
	out := staticTokenJSON{
		ID: t.ID, SubjectID: t.SubjectID, SubjectType: t.SubjectType(), Description: t.Description,
		MaskedSecret: t.MaskedSecret, CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339Nano),
	}
	if !t.ExpiresAt.IsZero() {
		out.ExpiresAt = t.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// createStaticToken creates a static token and answers it with its secret,
// shown once: POST /warden/v1/staticTokens
// {"subjectId": "...", "description": "...", "expiresAt": "RFC 3339"};
// every field may be left out (the caller's own token, never expiring).
func (m *Main) createStaticToken(ctx context.Context, r *http.Request) (any, error) {
	var req struct {
		SubjectID   string `json:"subjectId"`
		Description string `json:"description"`
		ExpiresAt   string `json:"expiresAt"`
	}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	var expires time.Time
	if req.ExpiresAt != "" {
		var err error
		if expires, err = time.Parse(time.RFC3339Nano, req.ExpiresAt); err != nil {
			return nil, warden.Errorf(warden.InvalidArgument, "expiresAt: not an RFC 3339 time like 2027-01-31T00:00:00Z")
		}
	}
	t, sec, err := m.svc.CreateStaticToken(ctx, req.SubjectID, req.Description, expires)
	if err != nil {
		return nil, err
	}
	out := staticTokenOut(t)
	out.Secret = sec.Reveal()
	return out, nil
}

// listStaticTokens lists an account's tokens, never their secrets:
// GET /warden/v1/staticTokens?subjectId=...&pageSize=...&pageToken=...
// (subjectId: the caller's own when left out).
func (m *Main) listStaticTokens(ctx context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	for name := range q {
		if name != "subjectId" && name != "pageSize" && name != "pageToken" {
			return nil, warden.Errorf(warden.InvalidArgument, "%s: unknown query parameter: subjectId, pageSize and pageToken are", strconv.Quote(name))
		}
	}
	size := 0
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			return nil, warden.Errorf(warden.InvalidArgument, "pageSize: a whole number from 0 to 1000")
		}
		size = n
	}
	ts, next, err := m.svc.ListStaticTokens(ctx, q.Get("subjectId"), warden.Page{Size: size, Token: q.Get("pageToken")})
	if err != nil {
		return nil, err
	}
	out := struct {
		StaticTokens  []staticTokenJSON `json:"staticTokens"`
		NextPageToken string            `json:"nextPageToken"`
	}{StaticTokens: []staticTokenJSON{}, NextPageToken: next}
	for _, t := range ts {
		out.StaticTokens = append(out.StaticTokens, staticTokenOut(t))
	}
	return out, nil
}

// getStaticToken answers one token, without its secret:
// GET /warden/v1/staticTokens/{id}.
func (m *Main) getStaticToken(ctx context.Context, r *http.Request) (any, error) {
	t, err := m.svc.GetStaticToken(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return staticTokenOut(t), nil
}

// deleteStaticToken revokes a token: DELETE /warden/v1/staticTokens/{id}.
func (m *Main) deleteStaticToken(ctx context.Context, r *http.Request) (any, error) {
	if err := m.svc.RevokeStaticToken(ctx, r.PathValue("id")); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// revokeTokens revokes every IAM and Keystone token of an account issued
// until now: POST /warden/v1/{userAccounts,serviceAccounts}/{id}:revokeTokens {}.
func (m *Main) revokeTokens(ctx context.Context, r *http.Request, typ warden.ResourceType) (any, error) {
	id, _ := strings.CutSuffix(r.PathValue("id"), ":revokeTokens")
	var req struct{}
	if err := readJSON(r, &req); err != nil {
		return nil, err
	}
	if err := m.svc.RevokeSubjectTokens(ctx, typ, id); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
