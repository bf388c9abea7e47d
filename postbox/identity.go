package postbox

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// identity is an email address or a domain mail may be sent from. There is
// no DNS or mailbox to verify here: an identity is verified once created.
type identity struct {
	IdentityName         string
	IdentityType         string              // EMAIL_ADDRESS or DOMAIN
	ConfigurationSetName string              `json:",omitempty"`
	Tags                 []map[string]string `json:",omitempty"`
	CreatedAt            time.Time
}

func identityType(name string) string {
	if strings.Contains(name, "@") {
		return "EMAIL_ADDRESS"
	}
	return "DOMAIN"
}

func (h *Handler) createEmailIdentity(w http.ResponseWriter, r *request) error {
	var in struct {
		EmailIdentity        string
		ConfigurationSetName string
		Tags                 []map[string]string
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if !validName(kindIdentities, in.EmailIdentity) {
		return badRequest("EmailIdentity: an email address or a domain is required")
	}
	if err := h.setExists(r.folder, in.ConfigurationSetName); err != nil {
		return err
	}
	id := identity{IdentityName: in.EmailIdentity, IdentityType: identityType(in.EmailIdentity),
		ConfigurationSetName: in.ConfigurationSetName, Tags: in.Tags, CreatedAt: h.now().UTC()}
	if err := h.store.Create(r.folder, kindIdentities, id.IdentityName, id); errors.Is(err, errExists) {
		return alreadyExists("email identity %s already exists", id.IdentityName)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"IdentityType": id.IdentityType, "VerifiedForSendingStatus": true})
	return nil
}

func (h *Handler) getEmailIdentity(w http.ResponseWriter, r *request) error {
	id, err := h.identity(r.folder, r.PathValue("name"))
	if err != nil {
		return err
	}
	out := map[string]any{
		"IdentityType": id.IdentityType, "VerifiedForSendingStatus": true, "VerificationStatus": "SUCCESS",
		"FeedbackForwardingStatus": true, "Tags": id.Tags, "Policies": map[string]string{},
	}
	if id.Tags == nil {
		out["Tags"] = []map[string]string{}
	}
	if id.ConfigurationSetName != "" {
		out["ConfigurationSetName"] = id.ConfigurationSetName
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) deleteEmailIdentity(w http.ResponseWriter, r *request) error {
	name := r.PathValue("name")
	err := errNotFound
	if validName(kindIdentities, name) {
		err = h.store.Delete(r.folder, kindIdentities, name)
	}
	if errors.Is(err, errNotFound) {
		return notFound("email identity %s does not exist", name)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (h *Handler) listEmailIdentities(w http.ResponseWriter, r *request) error {
	p, err := pageOf(r, map[string]bool{"IDENTITY_NAME_CONTAINS": true, "IDENTITY_TYPE": true, "VERIFICATION_STATUS": true})
	if err != nil {
		return err
	}
	keep := func(name string) bool {
		f := p.filter
		return strings.Contains(name, f["IDENTITY_NAME_CONTAINS"]) &&
			(f["IDENTITY_TYPE"] == "" || f["IDENTITY_TYPE"] == identityType(name)) &&
			(f["VERIFICATION_STATUS"] == "" || f["VERIFICATION_STATUS"] == "SUCCESS")
	}
	names, next, err := p.list(h.store, r.folder, kindIdentities, keep)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(names))
	for i, n := range names {
		out[i] = map[string]any{"IdentityName": n, "IdentityType": identityType(n), "SendingEnabled": true, "VerificationStatus": "SUCCESS"}
	}
	writeJSON(w, http.StatusOK, withNextToken(map[string]any{"EmailIdentities": out}, next))
	return nil
}

// identity reads one identity; NotFoundException if it is not there.
func (h *Handler) identity(folder, name string) (*identity, error) {
	var id identity
	err := errNotFound
	if validName(kindIdentities, name) {
		err = h.store.Get(folder, kindIdentities, name, &id)
	}
	if errors.Is(err, errNotFound) {
		return nil, notFound("email identity %s does not exist", name)
	}
	return &id, err
}

// setExists is nil for "" or a configuration set of the folder.
func (h *Handler) setExists(folder, name string) error {
	if name == "" {
		return nil
	}
	var set map[string]any
	err := errNotFound
	if validName(kindConfigurationSets, name) {
		err = h.store.Get(folder, kindConfigurationSets, name, &set)
	}
	if errors.Is(err, errNotFound) {
		return notFound("configuration set %s does not exist", name)
	}
	return err
}
