package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// Login exchanges a local user's login and password for an OAuth token
// (POST /warden/v1/login). The endpoint is as in Config: https:// selects
// TLS. A wrong login or password is an *Error with code Unauthenticated.
func Login(ctx context.Context, endpoint, login, password string) (string, error) {
	return Config{Endpoint: endpoint}.Login(ctx, login, password)
}

// Login is the package-level Login with the endpoint, TLS setting and HTTP
// client of c.
func (c Config) Login(ctx context.Context, login, password string) (string, error) {
	_, base, _, err := c.target()
	if err != nil {
		return "", err
	}
	var resp struct {
		OAuthToken string `json:"oauthToken"`
	}
	body := map[string]string{"login": login, "password": password}
	if err := postJSON(ctx, c.httpClient(), base+"/warden/v1/login", "", body, &resp); err != nil {
		return "", err
	}
	if resp.OAuthToken == "" {
		return "", fmt.Errorf("client: login: the server returned no token")
	}
	return resp.OAuthToken, nil
}

// SetPassword sets a user account's password
// (POST /warden/v1/userAccounts/{id}:setPassword) as the client's subject.
// current is the account's current password, needed when it is the
// caller's own; "" otherwise.
func (c *Client) SetPassword(ctx context.Context, userAccountID, current, password string) error {
	tok, err := c.Token(ctx)
	if err != nil {
		return err
	}
	u := c.baseURL + "/warden/v1/userAccounts/" + url.PathEscape(userAccountID) + ":setPassword"
	return postJSON(ctx, c.cfg.httpClient(), u, tok.Value, map[string]string{"password": password, "currentPassword": current}, nil)
}

// SetServiceAccountPassword sets a service account's password, which
// Keystone's password method accepts (by the account's ID, or its name in
// its cloud). With generate, Warden makes a random one and it is returned,
// shown this once; password is then ignored.
func (c *Client) SetServiceAccountPassword(ctx context.Context, serviceAccountID, password string, generate bool) (string, error) {
	tok, err := c.Token(ctx)
	if err != nil {
		return "", err
	}
	u := c.baseURL + "/warden/v1/serviceAccounts/" + url.PathEscape(serviceAccountID) + ":setPassword"
	body := map[string]any{"password": password}
	if generate {
		body = map[string]any{"generate": true}
	}
	var out struct {
		Password string `json:"password"`
	}
	err = postJSON(ctx, c.cfg.httpClient(), u, tok.Value, body, &out)
	return out.Password, err
}

// RemoveServiceAccountPassword removes a service account's password; the
// Keystone tokens issued through it stop working.
func (c *Client) RemoveServiceAccountPassword(ctx context.Context, serviceAccountID string) error {
	tok, err := c.Token(ctx)
	if err != nil {
		return err
	}
	u := c.baseURL + "/warden/v1/serviceAccounts/" + url.PathEscape(serviceAccountID) + ":removePassword"
	return postJSON(ctx, c.cfg.httpClient(), u, tok.Value, map[string]any{}, nil)
}

// postJSON posts body as JSON and decodes a 2xx answer into out (when not
// nil); other answers are google.rpc.Status JSON, returned as *Error.
func postJSON(ctx context.Context, hc *http.Client, url, bearer string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return &Error{Code: codes.Unavailable, Message: fmt.Sprintf("cannot reach Warden: %v", err), status: status.New(codes.Unavailable, err.Error())}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("client: read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return httpError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("client: decode response: %w", err)
	}
	return nil
}

// httpError reads a google.rpc.Status body; anything else is reported with
// the HTTP status.
func httpError(code int, body []byte) error {
	var sp spb.Status
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, &sp); err == nil && sp.Message != "" {
		return newError(status.FromProto(&sp), "")
	}
	c := codes.Unknown
	switch code {
	case http.StatusUnauthorized:
		c = codes.Unauthenticated
	case http.StatusForbidden:
		c = codes.PermissionDenied
	case http.StatusNotFound:
		c = codes.NotFound
	}
	msg := fmt.Sprintf("HTTP %d %s", code, http.StatusText(code))
	return &Error{Code: c, Message: msg, status: status.New(c, msg)}
}
