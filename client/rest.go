package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxResponse bounds a REST answer read into memory: a full page of a list
// method is well below it.
const maxResponse = 16 << 20

// DoJSON calls one of Warden's REST/JSON methods that have no gRPC
// counterpart (the Cloud.ru-style API keys, for one) with the client's
// endpoint, TLS setting, HTTP client and IAM token.
//
// path is the request path with its query, such as
// "/api/v1/service-accounts/credentials/api-keys?pageSize=10"; escaping
// its parts is the caller's job. body, when not nil, is sent as JSON. A 2xx
// answer is decoded into out, when not nil. Any other answer is a
// google.rpc.Status, returned as an *Error just as the gRPC methods return
// theirs; an unreachable server is an *Error with code Unavailable, a
// client without credentials ErrNoCredentials.
func (c *Client) DoJSON(ctx context.Context, method, path string, body, out any) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("client: REST path %q does not start with /", path)
	}
	tok, err := c.Token(ctx)
	if err != nil {
		return err
	}
	var reqBody io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("client: encode request: %w", err)
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, reqBody)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tok.Value)
	req.Header.Set("User-Agent", "warden-client")
	return c.roundTrip(req, out)
}

// roundTrip sends req and decodes its answer as DoJSON documents.
func (c *Client) roundTrip(req *http.Request, out any) error {
	resp, err := c.cfg.httpClient().Do(req)
	if err != nil {
		return transportError(req.Context(), req.URL.Host, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("client: read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		err := httpError(resp.StatusCode, data)
		// Servers that do not put the request id into the status details
		// still send it as a header.
		if e, ok := err.(*Error); ok && e.RequestID == "" {
			e.RequestID = resp.Header.Get("X-Request-Id")
		}
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("client: decode response of %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// transportError reports a request that got no answer as the gRPC path
// does: Canceled or DeadlineExceeded when ctx ended, else Unavailable
// naming the endpoint.
func transportError(ctx context.Context, host string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		st := status.FromContextError(ctxErr)
		return &Error{Code: st.Code(), Message: st.Message(), status: st}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its Op and URL repeat what the message says already
	}
	st := status.New(codes.Unavailable, err.Error())
	return &Error{Code: codes.Unavailable, Message: fmt.Sprintf("cannot reach Warden at %s: %s", host, explainTransport(err.Error())), status: st}
}
