package service

import (
	"context"
	"slices"
	"strconv"
	"time"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"warden"
)

// APIKeys implements iam ApiKeyService: the Yandex face of API keys. Keys
// made here have no products or network restrictions; the Cloud.ru-style
// API (CloudRu) sets those on the same keys.
type APIKeys struct {
	iam.UnimplementedApiKeyServiceServer
	s *Service
}

// APIKeys returns the ApiKeyService server.
func (s *Service) APIKeys() *APIKeys { return &APIKeys{s: s} }

// yandexAPIKeyFields names the ApiKeyService request fields.
var yandexAPIKeyFields = APIKeyFields{Description: "description", Scopes: "scopes"}

// Get implements ApiKeyService.Get.
func (a *APIKeys) Get(ctx context.Context, req *iam.GetApiKeyRequest) (*iam.ApiKey, error) {
	k, err := a.s.GetAPIKey(ctx, req.ApiKeyId)
	if err != nil {
		return nil, err
	}
	return apiKeyProto(k), nil
}

// List implements ApiKeyService.List.
func (a *APIKeys) List(ctx context.Context, req *iam.ListApiKeysRequest) (*iam.ListApiKeysResponse, error) {
	ks, next, err := a.s.ListAPIKeys(ctx, req.ServiceAccountId, page(req.PageSize, req.PageToken))
	if err != nil {
		return nil, err
	}
	out := &iam.ListApiKeysResponse{NextPageToken: next}
	for _, k := range ks {
		out.ApiKeys = append(out.ApiKeys, apiKeyProto(k))
	}
	return out, nil
}

// Create implements ApiKeyService.Create. It is synchronous in the Yandex
// API: the key and its secret come back at once, the secret never again.
// An unset expires_at makes a key that never expires, as in Yandex Cloud.
func (a *APIKeys) Create(ctx context.Context, req *iam.CreateApiKeyRequest) (*iam.CreateApiKeyResponse, error) {
	scopes := req.Scopes
	//lint:ignore SA1019 the deprecated single scope still arrives from old clients
	if len(scopes) == 0 && req.Scope != "" {
		//lint:ignore SA1019 as above
		scopes = []string{req.Scope}
	}
	k := &APIKey{ServiceAccountID: req.ServiceAccountId, Description: req.Description, Scopes: scopes, Enabled: true}
	if req.ExpiresAt != nil {
		if err := a.checkExpiry(req.ExpiresAt); err != nil {
			return nil, err
		}
		k.ExpiresAt = req.ExpiresAt.AsTime()
	}
	if err := a.s.ValidateAPIKey(k, yandexAPIKeyFields); err != nil {
		return nil, err
	}
	out, sec, err := a.s.CreateAPIKey(ctx, k, nil)
	if err != nil {
		return nil, err
	}
	return &iam.CreateApiKeyResponse{ApiKey: apiKeyProto(out), Secret: sec.Reveal()}, nil
}

// checkExpiry refuses an expires_at that is malformed or not in the future.
func (a *APIKeys) checkExpiry(t *timestamppb.Timestamp) error {
	if err := t.CheckValid(); err != nil {
		return warden.Errorf(warden.InvalidArgument, "expires_at: %v", err)
	}
	if !t.AsTime().After(a.s.now()) {
		return warden.Errorf(warden.InvalidArgument, "expires_at: must be in the future")
	}
	return nil
}

// Update implements ApiKeyService.Update: description, scopes and
// expires_at, by update_mask (without one: the fields set).
func (a *APIKeys) Update(ctx context.Context, req *iam.UpdateApiKeyRequest) (*operationT, error) {
	paths := req.UpdateMask.GetPaths()
	if req.UpdateMask == nil {
		paths = presentFields(map[string]bool{"description": req.Description != "", "scopes": len(req.Scopes) > 0, "expires_at": req.ExpiresAt != nil})
	}
	for _, p := range paths {
		if !slices.Contains([]string{"description", "scopes", "expires_at"}, p) {
			return nil, warden.Errorf(warden.InvalidArgument, "update_mask: field %q cannot be updated", p)
		}
	}
	if slices.Contains(paths, "scopes") && len(req.Scopes) == 0 {
		// The proto's size 1-100 admits no empty list: a key is not
		// widened to every scope by an update.
		return nil, warden.Errorf(warden.InvalidArgument, "scopes: between 1 and %d scopes are required", maxAPIKeyScopes)
	}
	if slices.Contains(paths, "expires_at") && req.ExpiresAt != nil {
		if err := a.checkExpiry(req.ExpiresAt); err != nil {
			return nil, err
		}
	}
	var op *operationT
	edit := func(k *APIKey) error {
		for _, p := range paths {
			switch p {
			case "description":
				k.Description = req.Description
			case "scopes":
				k.Scopes = req.Scopes
			case "expires_at":
				k.ExpiresAt = time.Time{} // unset: never expires
				if req.ExpiresAt != nil {
					k.ExpiresAt = req.ExpiresAt.AsTime()
				}
			}
		}
		return nil
	}
	withOp := func(tx warden.Tx, k *APIKey) (err error) {
		op, err = a.s.newOperation(ctx, tx, k.ID, "Update API key", &iam.UpdateApiKeyMetadata{ApiKeyId: k.ID}, apiKeyProto(k))
		return err
	}
	if _, err := a.s.UpdateAPIKey(ctx, req.ApiKeyId, yandexAPIKeyFields, edit, withOp); err != nil {
		return nil, err
	}
	return op, nil
}

// Delete implements ApiKeyService.Delete.
func (a *APIKeys) Delete(ctx context.Context, req *iam.DeleteApiKeyRequest) (*operationT, error) {
	var op *operationT
	err := a.s.DeleteAPIKey(ctx, req.ApiKeyId, func(tx warden.Tx) (err error) {
		op, err = a.s.newOperation(ctx, tx, req.ApiKeyId, "Delete API key", &iam.DeleteApiKeyMetadata{ApiKeyId: req.ApiKeyId}, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return op, nil
}

// ListOperations implements ApiKeyService.ListOperations.
func (a *APIKeys) ListOperations(ctx context.Context, req *iam.ListApiKeyOperationsRequest) (*iam.ListApiKeyOperationsResponse, error) {
	if _, err := a.s.GetAPIKey(ctx, req.ApiKeyId); err != nil {
		return nil, err
	}
	ops, next, err := a.s.operationsOf(ctx, req.ApiKeyId, req, nil)
	if err != nil {
		return nil, err
	}
	return &iam.ListApiKeyOperationsResponse{Operations: ops, NextPageToken: next}, nil
}

// ListScopes implements ApiKeyService.ListScopes: the scopes of every
// configured product, paged.
func (a *APIKeys) ListScopes(ctx context.Context, req *iam.ListApiKeyScopesRequest) (*iam.ListApiKeyScopesResponse, error) {
	all := a.s.products.Scopes()
	start := 0
	if req.PageToken != "" {
		n, err := strconv.Atoi(req.PageToken)
		if err != nil || n < 0 || n > len(all) {
			return nil, warden.Errorf(warden.InvalidArgument, "page_token: invalid")
		}
		start = n
	}
	size := int(req.PageSize)
	if size <= 0 || size > 1000 {
		size = 100
	}
	end := min(start+size, len(all))
	out := &iam.ListApiKeyScopesResponse{Scopes: all[start:end]}
	if end < len(all) {
		out.NextPageToken = strconv.Itoa(end)
	}
	return out, nil
}

func apiKeyProto(k *APIKey) *iam.ApiKey {
	return &iam.ApiKey{
		Id: k.ID, ServiceAccountId: k.ServiceAccountID, CreatedAt: ts(k.CreatedAt), Description: k.Description,
		LastUsedAt: ts(k.LastUsedAt), Scopes: k.Scopes, ExpiresAt: ts(k.ExpiresAt), MaskedSecret: k.MaskedSecret,
	}
}
