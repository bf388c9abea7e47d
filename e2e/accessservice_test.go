package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"warden/accessclient"
	"warden/api/accesspb"
)

func TestAccessServiceREST(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "postbox.viewer", "serviceAccount", w.robot)
	request := func(headers map[string][]string) map[string]any {
		return map[string]any{"method": "GET", "path": "/v2/email/configuration-sets", "headers": headers, "clientAddress": "192.0.2.7", "service": "postbox"}
	}
	checks := []any{
		map[string]any{"permission": "postbox.configurationSets.list", "resource": map[string]string{"type": "resource-manager.folder", "id": w.folderA}},
		map[string]any{"permission": "postbox.configurationSets.list", "resource": map[string]string{"type": "resource-manager.folder", "id": w.folderB}},
		map[string]any{"permission": "postbox.configurationSets.create", "resource": map[string]string{"type": "resource-manager.folder", "id": w.folderA}},
	}
	for name, headers := range map[string]map[string][]string{
		"bearer":        {"Authorization": {"Bearer " + w.robotToken}},
		"subject token": {"X-YaCloud-SubjectToken": {w.robotToken}},
	} {
		t.Run(name, func(t *testing.T) {
			a := n.rest("POST", "/access/v1:authenticate", "", map[string]any{"request": request(headers)})
			if a.status != 200 || str(a.body, "subject", "id") != w.robot || str(a.body, "subject", "type") != "serviceAccount" ||
				str(a.body, "subject", "folderId") != w.folderB || str(a.body, "credentialType") != "iamToken" {
				t.Fatalf("authenticate: %d %s", a.status, a.raw)
			}
			z := n.rest("POST", "/access/v1:authorize", "", map[string]any{"request": request(headers), "checks": checks})
			results, _ := z.body["results"].([]any)
			if z.status != 200 || len(results) != 3 {
				t.Fatalf("authorize: %d %s", z.status, z.raw)
			}
			for i, want := range []bool{true, false, false} {
				if got := results[i].(map[string]any)["allowed"] == true; got != want {
					t.Errorf("check %d allowed = %v, want %v", i, got, want)
				}
			}
		})
	}
	t.Run("bad credential", func(t *testing.T) {
		for _, headers := range []map[string][]string{{}, {"Authorization": {"Bearer t1.bad.token"}}} {
			z := n.rest("POST", "/access/v1:authorize", "", map[string]any{"request": request(headers), "checks": checks})
			if z.status != 401 {
				t.Errorf("authorize with %v: %d %s, want 401", headers, z.status, z.raw)
			}
		}
	})
	t.Run("subject form needs iam.access.check", func(t *testing.T) {
		body := map[string]any{"subject": map[string]string{"type": "serviceAccount", "id": w.robot}, "checks": checks[:1]}
		if z := n.rest("POST", "/access/v1:authorize", w.robotToken, body); z.status != 403 {
			t.Errorf("robot checking: %d %s, want 403", z.status, z.raw)
		}
		z := n.rest("POST", "/access/v1:authorize", w.admin, body)
		if results, _ := z.body["results"].([]any); z.status != 200 || len(results) != 1 || results[0].(map[string]any)["allowed"] != true {
			t.Errorf("admin checking: %d %s", z.status, z.raw)
		}
	})
}

func TestAccessServiceGRPC(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)
	c := accesspb.NewAccessServiceClient(sdkConn(t, n.addr))
	hdr := func(tok string) *accesspb.Request {
		v, _ := structpb.NewList([]any{"Bearer " + tok})
		return &accesspb.Request{Method: "GET", Path: "/", Headers: map[string]*structpb.ListValue{"authorization": v}}
	}
	resp, err := c.Authorize(context.Background(), &accesspb.AuthorizeRequest{Request: hdr(w.robotToken), Checks: []*accesspb.Check{
		{Permission: "iam.serviceAccounts.list", Resource: &accesspb.Resource{Id: w.folderA}},
		{Permission: "iam.serviceAccounts.list", Resource: &accesspb.Resource{Id: w.folderB}},
	}})
	if err != nil || !resp.Results[0].Allowed || resp.Results[1].Allowed || resp.Subject.Id != w.robot {
		t.Fatalf("authorize = %v, %v", resp, err)
	}
	if _, err := c.Authenticate(context.Background(), &accesspb.AuthenticateRequest{Request: hdr("t1.nope.nope")}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("bad token: %v, want Unauthenticated", err)
	}
}

// TestAccessClientMiddleware puts a fake Postbox behind accessclient.
func TestAccessClientMiddleware(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newWorld(t, n)
	w.bind(t, "/resource-manager/v1/folders/"+w.folderA, "ADD", "postbox.viewer", "serviceAccount", w.robot)
	ac, err := accessclient.New("http://"+n.addr, "postbox")
	if err != nil {
		t.Fatal(err)
	}
	postbox := httptest.NewServer(ac.Middleware(func(r *http.Request) accessclient.Check {
		return accessclient.Check{Permission: "postbox.configurationSets.list", Resource: accessclient.Resource{Type: "resource-manager.folder", ID: r.URL.Query().Get("folderId")}}
	}, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		sub, _ := accessclient.SubjectFrom(r.Context())
		io.WriteString(rw, sub.ID)
	})))
	defer postbox.Close()
	get := func(folder, header, value string) (int, string) {
		req, _ := http.NewRequest("GET", postbox.URL+"/v2/email/configuration-sets?folderId="+folder, nil)
		if header != "" {
			req.Header.Set(header, value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(w.folderA, "X-YaCloud-SubjectToken", w.robotToken); code != 200 || body != w.robot {
		t.Errorf("allowed request: %d %s", code, body)
	}
	if code, _ := get(w.folderB, "Authorization", "Bearer "+w.robotToken); code != 403 {
		t.Errorf("other folder: %d, want 403", code)
	}
	if code, _ := get(w.folderA, "", ""); code != 401 {
		t.Errorf("no credential: %d, want 401", code)
	}
}
