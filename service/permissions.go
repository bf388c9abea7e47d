package service

import (
	"context"
	"sort"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"warden"
)

// MethodRule says which permission a method needs, on the resource whose ID
// the request carries in Field. docs/PERMISSIONS.md is generated from this
// table (go test ./server -run TestPermissionsDoc -update), so the code and
// the documentation cannot disagree.
type MethodRule struct {
	Method     string // full gRPC method name
	Permission string // "" with Check: the handler checks per item
	Field      string // request field with the resource ID
	// Check describes a check the handler makes itself (lists filtered per
	// item, resources found through another one).
	Check string
}

const (
	iamSvc = "/yandex.cloud.iam.v1."
	awsSvc = "/yandex.cloud.iam.v1.awscompatibility."
	rmSvc  = "/yandex.cloud.resourcemanager.v1."
	omSvc  = "/yandex.cloud.organizationmanager.v1."
	idpSvc = "/yandex.cloud.organizationmanager.v1.idp."
	// The Cloud.ru-style REST API (api/cloudru) logs and checks its
	// endpoints under these names.
	cloudruSvc = "/cloudru.iam.v1."
	// Keystone v3 (api/keystone) runs under these names.
	keystoneSvc = "/openstack.identity.v3."
)

func bindingRules(svc, perm, field string) []MethodRule {
	return []MethodRule{
		{Method: svc + "/ListAccessBindings", Permission: perm + ".listAccessBindings", Field: field},
		{Method: svc + "/SetAccessBindings", Permission: perm + ".setAccessBindings", Field: field},
		{Method: svc + "/UpdateAccessBindings", Permission: perm + ".updateAccessBindings", Field: field},
	}
}

// Rules is the permission table of every authenticated method.
var Rules = func() []MethodRule {
	rs := []MethodRule{
		{Method: omSvc + "OrganizationService/Get", Permission: "organization-manager.organizations.get", Field: "organization_id"},
		{Method: omSvc + "OrganizationService/List", Check: "lists the organizations on which the caller has organization-manager.organizations.get"},
		{Method: omSvc + "OrganizationService/Update", Permission: "organization-manager.organizations.update", Field: "organization_id"},
		{Method: omSvc + "OrganizationService/ListOperations", Permission: "organization-manager.organizations.get", Field: "organization_id"},

		{Method: omSvc + "UserService/ListMembers", Permission: permUsersList, Field: "organization_id"},
		{Method: omSvc + "UserService/DeleteMembership", Check: permUsersDelete + " on the user's userpool: a local user belongs to one organization, so leaving it deletes the user; not oneself"},

		{Method: idpSvc + "UserpoolService/Get", Permission: "organization-manager.userpools.get", Field: "userpool_id"},
		{Method: idpSvc + "UserpoolService/List", Permission: "organization-manager.userpools.list", Field: "organization_id"},
		{Method: idpSvc + "UserpoolService/Create", Permission: "organization-manager.userpools.create", Field: "organization_id"},
		{Method: idpSvc + "UserpoolService/Update", Permission: "organization-manager.userpools.update", Field: "userpool_id"},
		{Method: idpSvc + "UserpoolService/Delete", Permission: "organization-manager.userpools.delete", Field: "userpool_id"},
		{Method: idpSvc + "UserpoolService/ListOperations", Permission: "organization-manager.userpools.get", Field: "userpool_id"},
		{Method: idpSvc + "UserpoolService/GetDomain", Check: "not implemented (Unimplemented): a Warden userpool has one domain, its default_subdomain"},
		{Method: idpSvc + "UserpoolService/ListDomains", Check: "not implemented (Unimplemented): as GetDomain"},
		{Method: idpSvc + "UserpoolService/AddDomain", Check: "not implemented (Unimplemented): as GetDomain"},
		{Method: idpSvc + "UserpoolService/ValidateDomain", Check: "not implemented (Unimplemented): as GetDomain"},
		{Method: idpSvc + "UserpoolService/DeleteDomain", Check: "not implemented (Unimplemented): as GetDomain"},

		{Method: idpSvc + "UserService/Get", Check: "a user reads their own; others need " + permUsersGet + " on the user's userpool"},
		{Method: idpSvc + "UserService/List", Permission: permUsersList, Field: "userpool_id"},
		{Method: idpSvc + "UserService/Create", Permission: permUsersCreate, Field: "userpool_id"},
		{Method: idpSvc + "UserService/Update", Check: permUsersUpdate + " on the user's userpool"},
		{Method: idpSvc + "UserService/Delete", Check: permUsersDelete + " on the user's userpool; not oneself"},
		{Method: idpSvc + "UserService/Suspend", Check: permUsersSuspend + " on the user's userpool; not oneself"},
		{Method: idpSvc + "UserService/Reactivate", Check: permUsersReactivate + " on the user's userpool"},
		{Method: idpSvc + "UserService/SetOwnPassword", Check: "any user, for their own password, giving old_password when they have one"},
		{Method: idpSvc + "UserService/SetOthersPassword", Check: permUsersSetPassword + " on the user's userpool, and the escalation guard (the caller holds all the user holds)"},
		{Method: idpSvc + "UserService/GeneratePassword", Check: "any authenticated caller: it reads nothing"},
		{Method: idpSvc + "UserService/GetSelfPasswordMetadata", Check: "any authenticated caller, about their own password"},
		{Method: idpSvc + "UserService/ConvertToExternal", Check: "not implemented (Unimplemented): Warden has no external identity sources yet"},
		{Method: idpSvc + "UserService/SetPasswordHash", Check: "not implemented (Unimplemented): password hashes are not imported"},
		{Method: idpSvc + "UserService/ResolveExternalIds", Check: "not implemented (Unimplemented): as ConvertToExternal"},
		{Method: idpSvc + "UserService/GetPasswordChanges", Check: "not implemented (Unimplemented): as ConvertToExternal"},
		{Method: idpSvc + "UserService/CommitPassword", Check: "not implemented (Unimplemented): as ConvertToExternal"},

		{Method: iamSvc + "AccessAnalyzerService/ListSubjectAccessBindings", Permission: permAnalyzeSubject, Field: "organization_id"},
		{Method: "/warden.analyzer.v1.ResourceAccessService/ListResourceAccessBindings", Permission: permAnalyzeResource, Field: "resource_id"},

		{Method: omSvc + "GroupService/Get", Permission: permGroupsGet, Field: "group_id"},
		{Method: omSvc + "GroupService/List", Permission: permGroupsList, Field: "organization_id"},
		{Method: omSvc + "GroupService/Create", Permission: permGroupsCreate, Field: "organization_id"},
		{Method: omSvc + "GroupService/Update", Permission: permGroupsUpdate, Field: "group_id"},
		{Method: omSvc + "GroupService/Delete", Permission: permGroupsDelete, Field: "group_id"},
		{Method: omSvc + "GroupService/ListOperations", Permission: permGroupsGet, Field: "group_id"},
		{Method: omSvc + "GroupService/ListMembers", Permission: permGroupsGet, Field: "group_id"},
		{Method: omSvc + "GroupService/UpdateMembers", Permission: permGroupsUpdateMembers, Field: "group_id",
			Check: "adding a member also needs the escalation guard: the caller holds everything the group holds (a place in it hands all of that out)"},
		{Method: omSvc + "GroupService/ListEffective", Check: "a subject lists its own groups; another's need " + permGroupsList + " on organization_id (the subject's organization when empty)"},
		{Method: omSvc + "GroupService/ResolveExternal", Check: "not implemented (Unimplemented): Warden has no external identity sources yet"},
		{Method: omSvc + "GroupService/ListExternal", Check: "not implemented (Unimplemented): as ResolveExternal"},
		{Method: omSvc + "GroupService/CreateExternal", Check: "not implemented (Unimplemented): as ResolveExternal"},
		{Method: omSvc + "GroupService/ConvertToExternal", Check: "not implemented (Unimplemented): as ResolveExternal"},
		{Method: omSvc + "GroupService/ConvertAllToBasic", Check: "not implemented (Unimplemented): as ResolveExternal"},

		{Method: iamSvc + "YandexPassportUserAccountService/GetByLogin", Check: "a user reads their own; others need iam.userAccounts.get on the account (an unknown login is NotFound only to who may read accounts somewhere)"},

		{Method: rmSvc + "CloudService/Get", Permission: "resource-manager.clouds.get", Field: "cloud_id"},
		{Method: rmSvc + "CloudService/List", Check: "lists the clouds on which the caller has resource-manager.clouds.get"},
		{Method: rmSvc + "CloudService/Create", Permission: "resource-manager.clouds.create", Field: "organization_id"},
		{Method: rmSvc + "CloudService/Update", Permission: "resource-manager.clouds.update", Field: "cloud_id"},
		{Method: rmSvc + "CloudService/Delete", Permission: "resource-manager.clouds.delete", Field: "cloud_id"},
		{Method: rmSvc + "CloudService/ListOperations", Permission: "resource-manager.clouds.get", Field: "cloud_id"},

		{Method: rmSvc + "FolderService/Get", Permission: "resource-manager.folders.get", Field: "folder_id"},
		{Method: rmSvc + "FolderService/List", Check: "all folders of the cloud with resource-manager.folders.list on it; otherwise those with resource-manager.folders.get"},
		{Method: rmSvc + "FolderService/Create", Permission: "resource-manager.folders.create", Field: "cloud_id"},
		{Method: rmSvc + "FolderService/Update", Permission: "resource-manager.folders.update", Field: "folder_id"},
		{Method: rmSvc + "FolderService/Delete", Permission: "resource-manager.folders.delete", Field: "folder_id"},
		{Method: rmSvc + "FolderService/ListOperations", Permission: "resource-manager.folders.get", Field: "folder_id"},

		{Method: iamSvc + "ServiceAccountService/Get", Permission: "iam.serviceAccounts.get", Field: "service_account_id"},
		{Method: iamSvc + "ServiceAccountService/List", Permission: "iam.serviceAccounts.list", Field: "folder_id"},
		{Method: iamSvc + "ServiceAccountService/Create", Permission: "iam.serviceAccounts.create", Field: "folder_id"},
		{Method: iamSvc + "ServiceAccountService/Update", Permission: "iam.serviceAccounts.update", Field: "service_account_id"},
		{Method: iamSvc + "ServiceAccountService/Delete", Permission: "iam.serviceAccounts.delete", Field: "service_account_id"},
		{Method: iamSvc + "ServiceAccountService/Suspend", Permission: "iam.serviceAccounts.suspend", Field: "service_account_id"},
		{Method: iamSvc + "ServiceAccountService/Reactivate", Permission: "iam.serviceAccounts.reactivate", Field: "service_account_id"},
		{Method: iamSvc + "ServiceAccountService/ListOperations", Permission: "iam.serviceAccounts.get", Field: "service_account_id"},

		{Method: "/warden.iam.v1.UserAccountService/SetPassword", Check: "POST /warden/v1/userAccounts/{id}:setPassword: a user sets their own giving current_password; another's needs iam.userAccounts.setPassword on the user"},
		{Method: iamSvc + "UserAccountService/Get", Check: "a user may read their own account; others need iam.userAccounts.get on it"},
		{Method: iamSvc + "RefreshTokenService/List", Check: "a user lists their own OAuth tokens (subject_id empty or theirs); others need " + permRefreshTokensList + " on subject_id"},
		{Method: iamSvc + "RefreshTokenService/Revoke", Check: "whoever holds refresh_token may revoke it; a user revokes their own tokens; others need " + permRefreshTokensRevoke + " on the tokens' user account"},
		{Method: iamSvc + "IamTokenService/CreateForServiceAccount", Permission: "iam.serviceAccounts.tokens.create", Field: "service_account_id"},
		{Method: iamSvc + "KeyService/Get", Check: "iam.serviceAccounts.keys.get on the key's service account"},
		{Method: iamSvc + "KeyService/List", Check: "iam.serviceAccounts.keys.list on service_account_id (default: the calling service account)"},
		{Method: iamSvc + "KeyService/Create", Check: "iam.serviceAccounts.keys.create on service_account_id (default: the calling service account)"},
		{Method: iamSvc + "KeyService/Update", Check: "iam.serviceAccounts.keys.update on the key's service account"},
		{Method: iamSvc + "KeyService/Delete", Check: "iam.serviceAccounts.keys.delete on the key's service account"},
		{Method: iamSvc + "KeyService/ListOperations", Check: "iam.serviceAccounts.keys.get on the key's service account"},
		{Method: awsSvc + "TemporaryAccessKeyService/CreateEphemeral", Check: "for the caller itself: any authenticated caller; for subject_id: iam.serviceAccounts.tokens.create on it, and the escalation guard"},
		{Method: awsSvc + "AccessKeyService/Get", Check: "iam.serviceAccounts.accessKeys.get on the key's service account"},
		{Method: awsSvc + "AccessKeyService/List", Check: "iam.serviceAccounts.accessKeys.list on service_account_id (default: the calling service account)"},
		{Method: awsSvc + "AccessKeyService/Create", Check: "iam.serviceAccounts.accessKeys.create on service_account_id (default: the calling service account), and the escalation guard"},
		{Method: awsSvc + "AccessKeyService/Update", Check: "iam.serviceAccounts.accessKeys.update on the key's service account"},
		{Method: awsSvc + "AccessKeyService/Delete", Check: "iam.serviceAccounts.accessKeys.delete on the key's service account"},
		{Method: awsSvc + "AccessKeyService/ListOperations", Check: "iam.serviceAccounts.accessKeys.get on the key's service account"},
		{Method: iamSvc + "ApiKeyService/Get", Check: "iam.serviceAccounts.apiKeys.get on the key's service account"},
		{Method: iamSvc + "ApiKeyService/List", Check: "iam.serviceAccounts.apiKeys.list on service_account_id (default: the calling service account)"},
		{Method: iamSvc + "ApiKeyService/Create", Check: "iam.serviceAccounts.apiKeys.create on service_account_id (default: the calling service account)"},
		{Method: iamSvc + "ApiKeyService/Update", Check: "iam.serviceAccounts.apiKeys.update on the key's service account"},
		{Method: iamSvc + "ApiKeyService/Delete", Check: "iam.serviceAccounts.apiKeys.delete on the key's service account"},
		{Method: iamSvc + "ApiKeyService/ListOperations", Check: "iam.serviceAccounts.apiKeys.get on the key's service account"},
		{Method: iamSvc + "ApiKeyService/ListScopes", Check: "any authenticated caller: the scope catalog is public"},
		{Method: cloudruSvc + "ApiKeyService/Get", Check: "GET /api/v1/service-accounts/credentials/api-keys/{id}: as ApiKeyService/Get"},
		{Method: cloudruSvc + "ApiKeyService/List", Check: "GET /api/v1/service-accounts/credentials/api-keys?serviceAccountId=: as ApiKeyService/List"},
		{Method: cloudruSvc + "ApiKeyService/Create", Check: "POST /api/v1/service-accounts/credentials/api-keys: as ApiKeyService/Create"},
		{Method: cloudruSvc + "ApiKeyService/Update", Check: "PATCH /api/v1/service-accounts/credentials/api-keys/{id}: as ApiKeyService/Update"},
		{Method: cloudruSvc + "ApiKeyService/Delete", Check: "DELETE /api/v1/service-accounts/credentials/api-keys/{id}: as ApiKeyService/Delete"},
		{Method: cloudruSvc + "ProductService/List", Check: "GET /api/v1/products: any authenticated caller"},
		{Method: "/warden.iam.v1.ServiceAccountService/SetPassword", Check: "POST /warden/v1/serviceAccounts/{id}:setPassword: " + permSetServiceAccountPassword + " on the service account, and the escalation guard (the caller holds all the account holds)"},
		{Method: "/warden.iam.v1.ServiceAccountService/RemovePassword", Check: "POST /warden/v1/serviceAccounts/{id}:removePassword: " + permSetServiceAccountPassword + " on the service account"},
		{Method: "/warden.iam.v1.StaticTokenService/Create", Check: "POST /warden/v1/staticTokens: an account creates its own (subjectId empty or its own); another's needs " + permSAStaticTokensCreate + " or " + permUserStaticTokensCreate + " on it; always the escalation guard (the caller holds all the account holds, within the caller's scope)"},
		{Method: "/warden.iam.v1.StaticTokenService/List", Check: "GET /warden/v1/staticTokens?subjectId=: an account lists its own; another's need " + permSAStaticTokensList + " or " + permUserStaticTokensList + " on it"},
		{Method: "/warden.iam.v1.StaticTokenService/Get", Check: "GET /warden/v1/staticTokens/{id}: an account reads its own; another's need " + permSAStaticTokensGet + " or " + permUserStaticTokensGet + " on the token's account"},
		{Method: "/warden.iam.v1.StaticTokenService/Delete", Check: "DELETE /warden/v1/staticTokens/{id}: an account revokes its own; another's need " + permSAStaticTokensDelete + " or " + permUserStaticTokensDelete + " on the token's account"},
		{Method: "/warden.iam.v1.UserAccountService/RevokeTokens", Check: "POST /warden/v1/userAccounts/{id}:revokeTokens: a user revokes their own tokens (IAM, Keystone, ephemeral keys); another's need " + permUserAccountTokensRevoke + " on the user"},
		{Method: "/warden.iam.v1.ServiceAccountService/RevokeTokens", Check: "POST /warden/v1/serviceAccounts/{id}:revokeTokens: " + permServiceAccountTokensRevoke + " on the service account (or the account itself)"},
		{Method: keystoneSvc + "TokenService/Validate", Check: "GET/HEAD /v3/auth/tokens: any authenticated caller (X-Auth-Token); holding the X-Subject-Token is the proof needed to read it"},
		{Method: keystoneSvc + "TokenService/Revoke", Check: "DELETE /v3/auth/tokens: any authenticated caller; holding the X-Subject-Token is the proof needed to revoke it"},
		{Method: keystoneSvc + "AuthService/ListProjects", Check: "the folders the caller's subject holds a role on (where it may scope a token)"},
		{Method: keystoneSvc + "AuthService/ListDomains", Check: "the clouds the caller's subject holds a role on"},
		{Method: keystoneSvc + "AuthService/GetCatalog", Check: "any authenticated caller"},
		{Method: keystoneSvc + "CatalogService/ListServices", Check: "any authenticated caller: the services of the catalog every token carries"},
		{Method: keystoneSvc + "CatalogService/GetService", Check: "any authenticated caller: as ListServices"},
		{Method: keystoneSvc + "CatalogService/ListEndpoints", Check: "any authenticated caller: the endpoints of the catalog every token carries"},
		{Method: keystoneSvc + "CatalogService/GetEndpoint", Check: "any authenticated caller: as ListEndpoints"},
		{Method: keystoneSvc + "ProjectService/List", Check: "the folders with resource-manager.folders.get, within the token's scope"},
		{Method: keystoneSvc + "ProjectService/Get", Check: "resource-manager.folders.get on the folder, within the token's scope"},
		{Method: keystoneSvc + "DomainService/List", Check: "the clouds with resource-manager.clouds.get, within the token's scope"},
		{Method: keystoneSvc + "DomainService/Get", Check: "resource-manager.clouds.get on the cloud, within the token's scope"},
		{Method: keystoneSvc + "UserService/List", Check: "one's own account, and those with iam.serviceAccounts.get or iam.userAccounts.get, within the token's scope"},
		{Method: keystoneSvc + "UserService/Get", Check: "one's own account; others need iam.serviceAccounts.get or iam.userAccounts.get on it"},
		{Method: keystoneSvc + "UserService/ListProjects", Check: "as UserService/Get; another's projects only where the caller has resource-manager.folders.get"},
		{Method: keystoneSvc + "RoleService/List", Check: "any authenticated caller: the catalog is public"},
		{Method: keystoneSvc + "RoleAssignmentService/List", Check: "bindings on the clouds and folders with .listAccessBindings, within the token's scope"},
		{Method: iamSvc + "RoleService/Get", Check: "any authenticated caller: the catalog is public"},
		{Method: iamSvc + "RoleService/List", Check: "any authenticated caller: the catalog is public"},
		{Method: "/yandex.cloud.operation.OperationService/Get", Check: "the .get permission of the operation's resource (…serviceAccounts.get on a service account)"},
		{Method: "/yandex.cloud.operation.OperationService/Cancel", Check: "as Get"},
		{Method: "/warden.audit.v1.AuditService/ListEvents", Permission: permAuditList, Field: "organization_id"},
		{Method: "/warden.audit.v1.AuditService/Verify", Permission: permAuditList, Field: "organization_id"},
	}
	rs = append(rs, bindingRules(omSvc+"OrganizationService", "organization-manager.organizations", "resource_id")...)
	rs = append(rs, bindingRules(rmSvc+"CloudService", "resource-manager.clouds", "resource_id")...)
	rs = append(rs, bindingRules(rmSvc+"FolderService", "resource-manager.folders", "resource_id")...)
	rs = append(rs, bindingRules(iamSvc+"ServiceAccountService", "iam.serviceAccounts", "resource_id")...)
	rs = append(rs, bindingRules(idpSvc+"UserpoolService", "organization-manager.userpools", "resource_id")...)
	rs = append(rs, bindingRules(omSvc+"GroupService", "organization-manager.groups", "resource_id")...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Method < rs[j].Method })
	return rs
}()

var rulesByMethod = func() map[string]MethodRule {
	m := map[string]MethodRule{}
	for _, r := range Rules {
		m[r.Method] = r
	}
	return m
}()

// AuthorizeCall enforces the permission table before a method runs. A
// method with no rule is refused: new methods are closed until someone
// decides who may call them.
func (s *Service) AuthorizeCall(ctx context.Context, method string, req proto.Message) error {
	rule, ok := rulesByMethod[method]
	if !ok {
		return warden.Errorf(warden.PermissionDenied, "permission denied: %s has no access rule", method)
	}
	if rule.Permission == "" {
		return nil // checked by the handler
	}
	id := stringField(req, rule.Field)
	if id == "" {
		// Nothing to authorize on: say so, rather than deny on "".
		return warden.Errorf(warden.InvalidArgument, "%s: required", rule.Field)
	}
	return s.authorize(ctx, rule.Permission, id)
}

func stringField(m proto.Message, name string) string {
	fd := m.ProtoReflect().Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil || fd.Kind() != protoreflect.StringKind {
		return ""
	}
	return m.ProtoReflect().Get(fd).String()
}
