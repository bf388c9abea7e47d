package postbox

import (
	"errors"
	"net/http"
	"strings"
)

// createConfigurationSet stores the set as the client described it; Get
// returns that description.
func (h *Handler) createConfigurationSet(w http.ResponseWriter, r *request) error {
	var in map[string]any
	if err := decode(r, &in); err != nil {
		return err
	}
	name, _ := in["ConfigurationSetName"].(string)
	if !validName(kindConfigurationSets, name) {
		return badRequest("ConfigurationSetName: 1 to 64 letters, digits, '_' or '-' are required")
	}
	if err := h.store.Create(r.folder, kindConfigurationSets, name, in); errors.Is(err, errExists) {
		return alreadyExists("configuration set %s already exists", name)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (h *Handler) getConfigurationSet(w http.ResponseWriter, r *request) error {
	name := r.PathValue("name")
	var set map[string]any
	if !validName(kindConfigurationSets, name) {
		return notFound("configuration set %s does not exist", name)
	}
	if err := h.store.Get(r.folder, kindConfigurationSets, name, &set); errors.Is(err, errNotFound) {
		return notFound("configuration set %s does not exist", name)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, set)
	return nil
}

func (h *Handler) deleteConfigurationSet(w http.ResponseWriter, r *request) error {
	name := r.PathValue("name")
	if !validName(kindConfigurationSets, name) {
		return notFound("configuration set %s does not exist", name)
	}
	if err := h.store.Delete(r.folder, kindConfigurationSets, name); errors.Is(err, errNotFound) {
		return notFound("configuration set %s does not exist", name)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (h *Handler) listConfigurationSets(w http.ResponseWriter, r *request) error {
	p, err := pageOf(r, map[string]bool{"CONFIGURATION_SET_NAME_CONTAINS": true})
	if err != nil {
		return err
	}
	contains := p.filter["CONFIGURATION_SET_NAME_CONTAINS"]
	names, next, err := p.list(h.store, r.folder, kindConfigurationSets, func(name string) bool { return strings.Contains(name, contains) })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, withNextToken(map[string]any{"ConfigurationSets": nonNil(names)}, next))
	return nil
}
