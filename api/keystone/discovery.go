package keystone

import (
	"context"
	"net/http"
)

// Version discovery as keystoneauth reads it: GET /v3 answers the version
// document; the unversioned root answers 300 Multiple Choices with the
// list, whose links lead to /v3.

// apiVersion is the Identity API microversion Warden answers as.
const apiVersion = "v3.14"

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

type mediaType struct {
	Base string `json:"base"`
	Type string `json:"type"`
}

type versionDoc struct {
	ID         string      `json:"id"`
	Status     string      `json:"status"`
	Updated    string      `json:"updated"`
	Links      []link      `json:"links"`
	MediaTypes []mediaType `json:"media-types"`
}

func (h *handler) versionDoc(r *http.Request) versionDoc {
	return versionDoc{
		ID: apiVersion, Status: "stable", Updated: "2020-04-07T00:00:00Z",
		Links:      []link{{Rel: "self", Href: h.root(r) + "/v3/"}},
		MediaTypes: []mediaType{{Base: "application/json", Type: "application/vnd.openstack.identity-v3+json"}},
	}
}

// versions answers GET / and GET /identity.
func (h *handler) versions(_ context.Context, r *http.Request) (result, error) {
	return result{status: http.StatusMultipleChoices, body: map[string]any{
		"versions": map[string]any{"values": []versionDoc{h.versionDoc(r)}},
	}}, nil
}

// version answers GET /v3.
func (h *handler) version(_ context.Context, r *http.Request) (result, error) {
	return result{body: map[string]any{"version": h.versionDoc(r)}}, nil
}
