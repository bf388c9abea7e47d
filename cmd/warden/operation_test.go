package main

import (
	"context"
	"strings"
	"testing"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"

	"warden/client"
)

func TestOperationGet(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	var folder map[string]any
	decode(t, "json", c.ok("resource-manager", "folder", "get", "default", "--format", "json"), &folder)

	// The CLI prints what an operation produced, not the operation, so
	// make one with the client.
	ctx := context.Background()
	api, err := client.Dial(ctx, client.Config{Endpoint: w.addr, OAuthToken: w.adminToken(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	op, err := api.ServiceAccounts.Create(ctx, &iam.CreateServiceAccountRequest{FolderId: folder["id"].(string), Name: "op-robot"})
	if err != nil {
		t.Fatal(err)
	}

	for _, format := range []string{"json", "yaml", "text"} {
		var got map[string]any
		decode(t, format, c.ok("operation", "get", op.Id, "--format", format), &got)
		meta, _ := got["metadata"].(map[string]any)
		resp, _ := got["response"].(map[string]any)
		if got["id"] != op.Id || got["done"] != true || got["description"] != "Create service account" || got["created_by"] != w.adminID {
			t.Errorf("%s: operation = %v", format, got)
		}
		if meta["@type"] != "type.googleapis.com/yandex.cloud.iam.v1.CreateServiceAccountMetadata" || meta["service_account_id"] == nil {
			t.Errorf("%s: metadata = %v", format, meta)
		}
		if resp["@type"] != "type.googleapis.com/yandex.cloud.iam.v1.ServiceAccount" || resp["name"] != "op-robot" || resp["id"] != meta["service_account_id"] {
			t.Errorf("%s: response = %v", format, resp)
		}
	}
	if msg := c.fail("operation", "get", "op1nosuchoperation00"); !strings.Contains(msg, "not found") {
		t.Errorf("unknown operation: %q", msg)
	}
}
