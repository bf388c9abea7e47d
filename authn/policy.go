package authn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Policy narrows what a credential may do below what its subject holds: an
// ephemeral access key's session policy. It never widens anything: a check
// passes only when the subject's bindings allow it and a statement of the
// policy does. The JSON form follows AWS's policy documents, with Warden's
// permission names as actions and Warden's resource IDs as resources:
//
//	{"Statement": [{"Effect": "Allow",
//	                "Action": ["postbox.configurationSets.list", "postbox.emails.*"],
//	                "Resource": ["b1g…"]}]}
//
// An action ending in "*" matches every permission with that prefix ("*"
// alone: any); a resource is a resource ID and covers its descendants;
// "Resource" absent or "*": anywhere. Only "Allow" statements exist: a
// policy lists what remains allowed.
type Policy struct {
	Statements []Statement
}

// Statement is one Allow statement of a Policy.
type Statement struct {
	Actions   []string
	Resources []string // nil: anywhere
}

type policyJSON struct {
	Version   string          `json:"Version,omitempty"`
	Statement json.RawMessage `json:"Statement"`
}

type statementJSON struct {
	Effect   string          `json:"Effect"`
	Action   json.RawMessage `json:"Action"`
	Resource json.RawMessage `json:"Resource,omitempty"`
}

var (
	actionPattern   = regexp.MustCompile(`^(\*|[a-z][a-zA-Z0-9-]*(\.[a-zA-Z][a-zA-Z0-9-]*){0,4}(\.\*)?)$`)
	resourcePattern = regexp.MustCompile(`^[a-z0-9]{20}$`)
)

// ParsePolicy reads and checks a policy document; the error names what is
// wrong, for an InvalidArgument answer.
func ParsePolicy(doc string) (*Policy, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	var p policyJSON
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not a policy document: %v", err)
	}
	var raw []statementJSON
	if len(bytes.TrimSpace(p.Statement)) > 0 && p.Statement[0] == '{' {
		var one statementJSON
		if err := json.Unmarshal(p.Statement, &one); err != nil {
			return nil, fmt.Errorf("Statement: %v", err)
		}
		raw = []statementJSON{one}
	} else if err := json.Unmarshal(p.Statement, &raw); err != nil {
		return nil, fmt.Errorf("Statement: must be a statement or a list of them")
	}
	if len(raw) == 0 || len(raw) > 10 {
		return nil, errors.New("Statement: between 1 and 10 statements are required")
	}
	out := &Policy{}
	for i, st := range raw {
		if st.Effect != "Allow" {
			return nil, fmt.Errorf(`Statement[%d].Effect: must be "Allow": a policy lists what remains allowed`, i)
		}
		actions, err := stringOrList(st.Action)
		if err != nil || len(actions) == 0 {
			return nil, fmt.Errorf("Statement[%d].Action: one permission or a list of them is required", i)
		}
		for _, a := range actions {
			if !actionPattern.MatchString(a) {
				return nil, fmt.Errorf("Statement[%d].Action: %q is not a permission name or a prefix ending in .*", i, a)
			}
		}
		var resources []string
		if len(st.Resource) > 0 {
			if resources, err = stringOrList(st.Resource); err != nil {
				return nil, fmt.Errorf("Statement[%d].Resource: a resource ID or a list of them", i)
			}
			for _, r := range resources {
				if r == "*" {
					resources = nil
					break
				}
				if !resourcePattern.MatchString(r) {
					return nil, fmt.Errorf("Statement[%d].Resource: %q is not a resource ID", i, r)
				}
			}
		}
		out.Statements = append(out.Statements, Statement{Actions: actions, Resources: resources})
	}
	return out, nil
}

func stringOrList(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var list []string
	err := json.Unmarshal(raw, &list)
	return list, err
}

// Allows reports whether a statement allows permission on a resource;
// within(id) reports whether the checked resource is id or below it.
func (p *Policy) Allows(permission string, within func(resourceID string) bool) bool {
	for _, st := range p.Statements {
		if !st.matchesAction(permission) {
			continue
		}
		if st.Resources == nil {
			return true
		}
		for _, r := range st.Resources {
			if within(r) {
				return true
			}
		}
	}
	return false
}

func (st Statement) matchesAction(permission string) bool {
	for _, a := range st.Actions {
		if a == "*" || a == permission {
			return true
		}
		if prefix, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(permission, prefix) {
			return true
		}
	}
	return false
}
