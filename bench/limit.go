package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"google.golang.org/grpc"

	"warden/api/accesspb"
)

// The limit servers answer each scenario's request with the least a Go
// server does for it: a minimal net/http server decoding the same JSON and
// encoding an answer of the same shape, and a minimal grpc-go server of the
// access service. Warden's figures are given as a ratio to theirs.

// authorizeJSON is the REST Authorize request as the limit server decodes
// it.
type authorizeJSON struct {
	Request struct {
		Method        string              `json:"method"`
		Path          string              `json:"path"`
		Headers       map[string][]string `json:"headers"`
		ClientAddress string              `json:"clientAddress"`
	} `json:"request"`
	Checks []struct {
		Permission string `json:"permission"`
		Resource   struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"resource"`
	} `json:"checks"`
}

type checkResultJSON struct {
	Allowed    bool   `json:"allowed"`
	Permission string `json:"permission"`
	Resource   struct {
		Type string `json:"type,omitempty"`
		ID   string `json:"id"`
	} `json:"resource"`
}

type authorizeAnswerJSON struct {
	Subject struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"subject"`
	CredentialType string            `json:"credentialType"`
	Results        []checkResultJSON `json:"results"`
}

// serviceAccountJSON is one account of the list answer.
type serviceAccountJSON struct {
	ID          string            `json:"id"`
	FolderID    string            `json:"folderId"`
	CreatedAt   string            `json:"createdAt"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// runLimitServer serves the limit servers until killed, printing their
// addresses; dir holds answers captured from wardend (list.json,
// keystone.json).
func runLimitServer(dir string) error {
	var list struct {
		ServiceAccounts []serviceAccountJSON `json:"serviceAccounts"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "list.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	keystone, err := os.ReadFile(filepath.Join(dir, "keystone.json"))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /access/v1:authorize", func(w http.ResponseWriter, r *http.Request) {
		var req authorizeJSON
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil || len(req.Request.Headers["Authorization"])+len(req.Request.Headers["authorization"]) == 0 {
			http.Error(w, `{"code":3}`, http.StatusBadRequest)
			return
		}
		var out authorizeAnswerJSON
		out.Subject.Type, out.Subject.ID, out.CredentialType = "serviceAccount", "aje00000000000000000", "iam_token"
		for _, c := range req.Checks {
			res := checkResultJSON{Allowed: true, Permission: c.Permission}
			res.Resource.Type, res.Resource.ID = c.Resource.Type, c.Resource.ID
			out.Results = append(out.Results, res)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&out)
	})
	mux.HandleFunc("GET /iam/v1/serviceAccounts", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" || r.URL.Query().Get("folderId") == "" {
			http.Error(w, `{"code":16}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&list)
	})
	mux.HandleFunc("GET /v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Auth-Token") == "" || r.Header.Get("X-Subject-Token") == "" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Subject-Token", r.Header.Get("X-Subject-Token"))
		w.Write(keystone)
	})
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	gs := grpc.NewServer()
	accesspb.RegisterAccessServiceServer(gs, limitAccess{})
	go gs.Serve(gl)
	fmt.Printf("rest=%s grpc=%s\n", hl.Addr(), gl.Addr())
	return http.Serve(hl, mux)
}

// limitAccess is the minimal gRPC access service: every check allowed.
type limitAccess struct {
	accesspb.UnimplementedAccessServiceServer
}

func (limitAccess) Authorize(_ context.Context, req *accesspb.AuthorizeRequest) (*accesspb.AuthorizeResponse, error) {
	out := &accesspb.AuthorizeResponse{
		Subject:        &accesspb.Subject{Type: "serviceAccount", Id: "aje00000000000000000"},
		CredentialType: "iam_token",
	}
	for _, c := range req.Checks {
		out.Results = append(out.Results, &accesspb.CheckResult{Allowed: true, Permission: c.Permission, Resource: c.Resource})
	}
	return out, nil
}
