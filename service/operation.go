package service

import (
	"context"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"

	"warden"
)

// Operations implements operation OperationService.
type Operations struct {
	operation.UnimplementedOperationServiceServer
	s *Service
}

// Operations returns the OperationService server.
func (s *Service) Operations() *Operations { return &Operations{s: s} }

// Get implements OperationService.Get.
func (o *Operations) Get(ctx context.Context, req *operation.GetOperationRequest) (*operation.Operation, error) {
	var op *warden.Operation
	err := o.s.store.View(ctx, func(tx warden.Tx) (err error) {
		op, err = tx.GetOperation(ctx, req.OperationId)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := o.s.authorizeOperation(ctx, op); err != nil {
		return nil, err
	}
	return operationProto(op)
}

// readPermission is the permission that lets a caller read a resource of a
// type, and so its operations.
var readPermission = map[warden.ResourceType]string{
	warden.TypeOrganization:   "organization-manager.organizations.get",
	warden.TypeCloud:          "resource-manager.clouds.get",
	warden.TypeFolder:         "resource-manager.folders.get",
	warden.TypeServiceAccount: "iam.serviceAccounts.get",
	warden.TypeUserAccount:    "iam.userAccounts.get",
	warden.TypeUserpool:       "organization-manager.userpools.get",
	warden.TypeGroup:          permGroupsGet,
}

// authorizeOperation lets the operation's creator read it, and anyone who
// may read the resource it changed.
func (s *Service) authorizeOperation(ctx context.Context, op *warden.Operation) error {
	sub := SubjectFrom(ctx)
	if sub.ID != "" && op.CreatedBy == sub.ID {
		return nil
	}
	if len(op.ResourceID) >= 3 {
		if c, ok := credentialReadPermission[op.ResourceID[:3]]; ok {
			return s.authorizeCredentialOperation(ctx, op, c.kind, c.permission)
		}
	}
	typ := warden.TypeServiceAccount
	if n, ok := s.authz.snap.Load().Node(op.ResourceID); ok {
		typ = n.Type
	} else if ref := resourceTypeByPrefix(op.ResourceID); ref != "" {
		typ = ref
	}
	perm, ok := readPermission[typ]
	if !ok {
		return errDenied("read access", op.ID)
	}
	if err := s.authorize(ctx, perm, op.ResourceID); err != nil {
		return errDenied(perm, op.ResourceID)
	}
	return nil
}

// credentialReadPermission is, by ID prefix, the kind of credential an
// operation may be about and the permission on its service account that
// reads it.
var credentialReadPermission = map[string]struct {
	kind       warden.CredentialKind
	permission string
}{
	warden.PrefixKey:    {warden.CredKey, permKeysGet},
	warden.PrefixAPIKey: {warden.CredAPIKey, permAPIKeysGet},
}

// authorizeCredentialOperation lets a caller read an operation on a key
// when they may read the key, on its service account. A credential is not
// a resource of the hierarchy: once deleted, nothing says whose it was, so
// its operations are then the creator's alone.
func (s *Service) authorizeCredentialOperation(ctx context.Context, op *warden.Operation, kind warden.CredentialKind, permission string) error {
	var c *warden.Credential
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		c, err = tx.GetCredential(ctx, op.ResourceID)
		return err
	})
	if warden.IsCode(err, warden.NotFound) || (err == nil && c.Kind != kind) {
		return errDenied(permission, op.ResourceID)
	}
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, permission, c.SubjectID); err != nil {
		return errDenied(permission, c.SubjectID)
	}
	return nil
}

// resourceTypeByPrefix tells a resource's type from its ID prefix.
func resourceTypeByPrefix(id string) warden.ResourceType {
	if len(id) < 3 {
		return ""
	}
	return map[string]warden.ResourceType{
		warden.PrefixOrganization: warden.TypeOrganization, warden.PrefixCloud: warden.TypeCloud,
		warden.PrefixFolder: warden.TypeFolder, warden.PrefixServiceAccount: warden.TypeServiceAccount,
		warden.PrefixUserAccount: warden.TypeUserAccount, warden.PrefixUserpool: warden.TypeUserpool,
		warden.PrefixGroup: warden.TypeGroup,
	}[id[:3]]
}

// Cancel implements OperationService.Cancel. Warden finishes every operation
// before answering, so there is never one left to cancel.
func (o *Operations) Cancel(ctx context.Context, req *operation.CancelOperationRequest) (*operation.Operation, error) {
	op, err := o.Get(ctx, &operation.GetOperationRequest{OperationId: req.OperationId})
	if err != nil {
		return nil, err
	}
	if op.Done {
		return nil, warden.Errorf(warden.FailedPrecondition, "operation %s is already done and cannot be cancelled", op.Id)
	}
	return nil, warden.Errorf(warden.FailedPrecondition, "operation %s cannot be cancelled", op.Id)
}
