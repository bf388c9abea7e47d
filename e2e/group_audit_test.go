package e2e

// group creates an empty group in the walk's organization.
func (w *auditWalk) group() string {
	r := w.must("POST", "/organization-manager/v1/groups", map[string]any{"organizationId": w.org, "name": w.name("group")})
	return str(r.body, "metadata", "groupId")
}

// addGroupAuditCases adds the cases of GroupService's mutating methods.
func addGroupAuditCases(cases map[string]auditCase) {
	const groups = "/yandex.cloud.organizationmanager.v1.GroupService/"
	cases[groups+"Create"] = auditCase{ok: func(w *auditWalk) auditCall {
		return auditCall{verb: "POST", path: "/organization-manager/v1/groups", body: map[string]any{"organizationId": w.org, "name": w.name("group")}, token: w.admin, resource: w.org}
	}}
	cases[groups+"Update"] = auditCase{ok: func(w *auditWalk) auditCall {
		g := w.group()
		return auditCall{verb: "PATCH", path: "/organization-manager/v1/groups/" + g, body: map[string]any{"updateMask": "description", "description": "walked"}, token: w.admin, resource: g}
	}}
	cases[groups+"Delete"] = auditCase{ok: func(w *auditWalk) auditCall {
		g := w.group()
		return auditCall{verb: "DELETE", path: "/organization-manager/v1/groups/" + g, token: w.admin, resource: g}
	}}
	cases[groups+"UpdateMembers"] = auditCase{ok: func(w *auditWalk) auditCall {
		g := w.group()
		return auditCall{verb: "POST", path: "/organization-manager/v1/groups/" + g + ":updateMembers",
			body: map[string]any{"memberDeltas": []any{map[string]any{"action": "ADD", "subjectId": w.sa()}}}, token: w.admin, resource: g}
	}}
	cases[groups+"SetAccessBindings"] = auditCase{ok: func(w *auditWalk) auditCall {
		g := w.group()
		return auditCall{verb: "POST", path: "/organization-manager/v1/groups/" + g + ":setAccessBindings",
			body: map[string]any{"accessBindings": []any{binding("organization-manager.groups.memberAdmin", "serviceAccount", w.sa())}}, token: w.admin, resource: g}
	}}
	cases[groups+"UpdateAccessBindings"] = auditCase{ok: func(w *auditWalk) auditCall {
		g := w.group()
		return auditCall{verb: "POST", path: "/organization-manager/v1/groups/" + g + ":updateAccessBindings",
			body: map[string]any{"accessBindingDeltas": []any{map[string]any{"action": "ADD", "accessBinding": binding("viewer", "group", g)}}}, token: w.admin, resource: g}
	}}
	cases[groups+"CreateExternal"] = unimplementedCase(func(w *auditWalk) auditCall {
		return auditCall{verb: "POST", path: "/organization-manager/v1/external_groups", body: map[string]any{"organizationId": w.org, "name": w.name("ext"),
			"subjectContainerId": w.org, "externalId": "ext-1"}, token: w.admin, want: 501}
	})
}
