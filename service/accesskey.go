package service

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	aws "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1/awscompatibility"
	"google.golang.org/protobuf/types/known/timestamppb"

	"warden"
	"warden/accesskey"
	"warden/authn"
	"warden/secret"
	"warden/token"
)

// AccessKeys implements iam.v1.awscompatibility.AccessKeyService: static
// access keys that AWS clients sign requests with (SigV4). SigV4 needs the
// secret itself to check a signature, so unlike every other machine secret
// it is kept — sealed with AES-256-GCM under the master key, bound to the
// key's id — and shown in clear once, at creation.
type AccessKeys struct {
	aws.UnimplementedAccessKeyServiceServer
	s *Service
}

// AccessKeys returns the AccessKeyService server.
func (s *Service) AccessKeys() *AccessKeys { return &AccessKeys{s: s} }

const (
	permAccessKeysGet    = "iam.serviceAccounts.accessKeys.get"
	permAccessKeysList   = "iam.serviceAccounts.accessKeys.list"
	permAccessKeysCreate = "iam.serviceAccounts.accessKeys.create"
	permAccessKeysUpdate = "iam.serviceAccounts.accessKeys.update"
	permAccessKeysDelete = "iam.serviceAccounts.accessKeys.delete"
)

// AccessKeyIndex returns the in-memory access key index for the
// authentication pipeline's SigV4 scheme.
func (s *Service) AccessKeyIndex() authn.AccessKeys { return s.accessKeys }

// accessKeyData is what a stored access key keeps beside its credential
// row: the AWS key id, and the secret sealed under the master key.
type accessKeyData struct {
	KeyID  string `json:"keyId"`
	Sealed []byte `json:"sealedSecret"`
}

// accessKeyHash is the lookup hash of a key id: the store finds a key by
// (kind, hash), so a signature check finds its key without a scan.
func accessKeyHash(keyID string) []byte { return secret.Hash("accessKey:" + keyID) }

// Create implements AccessKeyService.Create. The secret is in this answer
// only.
func (a *AccessKeys) Create(ctx context.Context, req *aws.CreateAccessKeyRequest) (*aws.CreateAccessKeyResponse, error) {
	sa, err := keyOwner(ctx, req.ServiceAccountId)
	if err != nil {
		return nil, err
	}
	if err := a.s.authorize(ctx, permAccessKeysCreate, sa); err != nil {
		return nil, err
	}
	if err := a.s.guardMint(ctx, sa); err != nil {
		return nil, err
	}
	id, keyID, sec := warden.NewID(warden.PrefixAccessKey), accesskey.NewKeyID(), accesskey.NewSecret()
	data, err := json.Marshal(accessKeyData{KeyID: keyID, Sealed: a.s.sealer.Seal([]byte(sec), []byte(id))})
	if err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	c := &warden.Credential{
		ID: id, Kind: warden.CredAccessKey, SubjectID: sa, Hash: accessKeyHash(keyID), Data: data,
		Description: req.Description, CreatedAt: a.s.now(),
	}
	err = a.s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		if _, err := a.s.getResource(ctx, tx, sa, warden.TypeServiceAccount); err != nil {
			return err
		}
		ch.credential(ctx, tx, c)
		return tx.CreateCredential(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	a.s.accessKeys.changed(ctx, id)
	k, err := accessKeyProto(c)
	if err != nil {
		return nil, err
	}
	return &aws.CreateAccessKeyResponse{AccessKey: k, Secret: sec}, nil
}

// Get implements AccessKeyService.Get.
func (a *AccessKeys) Get(ctx context.Context, req *aws.GetAccessKeyRequest) (*aws.AccessKey, error) {
	c, err := a.s.authorizeCredential(ctx, permAccessKeysGet, req.AccessKeyId, warden.CredAccessKey, "access key")
	if err != nil {
		return nil, err
	}
	return accessKeyProto(c)
}

// List implements AccessKeyService.List: one page of a service account's
// keys (the caller's, when it is a service account and names none).
func (a *AccessKeys) List(ctx context.Context, req *aws.ListAccessKeysRequest) (*aws.ListAccessKeysResponse, error) {
	sa, err := keyOwner(ctx, req.ServiceAccountId)
	if err != nil {
		return nil, err
	}
	if err := a.s.authorize(ctx, permAccessKeysList, sa); err != nil {
		return nil, err
	}
	var cs []*warden.Credential
	var next string
	err = a.s.store.View(ctx, func(tx warden.Tx) (err error) {
		if _, err := a.s.getResource(ctx, tx, sa, warden.TypeServiceAccount); err != nil {
			return err
		}
		cs, next, err = tx.ListCredentials(ctx, sa, warden.CredAccessKey, page(req.PageSize, req.PageToken))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &aws.ListAccessKeysResponse{NextPageToken: next}
	for _, c := range cs {
		k, err := accessKeyProto(c)
		if err != nil {
			return nil, err
		}
		out.AccessKeys = append(out.AccessKeys, k)
	}
	return out, nil
}

// Update implements AccessKeyService.Update: only the description changes.
func (a *AccessKeys) Update(ctx context.Context, req *aws.UpdateAccessKeyRequest) (*operationT, error) {
	if _, err := a.s.authorizeCredential(ctx, permAccessKeysUpdate, req.AccessKeyId, warden.CredAccessKey, "access key"); err != nil {
		return nil, err
	}
	paths := req.GetUpdateMask().GetPaths()
	for _, p := range paths {
		if p != "description" {
			return nil, warden.Errorf(warden.InvalidArgument, "update_mask: field %q cannot be updated", p)
		}
	}
	var op *operationT
	err := a.s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		c, err := getCredential(ctx, tx, req.AccessKeyId, warden.CredAccessKey, "access key")
		if err != nil {
			return err
		}
		ch.credential(ctx, tx, c)
		if len(paths) == 0 || slices.Contains(paths, "description") {
			c.Description = req.Description
		}
		if err := tx.UpdateCredential(ctx, c); err != nil {
			return err
		}
		k, err := accessKeyProto(c)
		if err != nil {
			return err
		}
		op, err = a.s.newOperation(ctx, tx, c.ID, "Update access key", &aws.UpdateAccessKeyMetadata{AccessKeyId: c.ID}, k)
		return err
	})
	return op, err
}

// Delete implements AccessKeyService.Delete. Signatures made with the key
// are refused on this wardend at once and on the others within the refresh
// interval.
func (a *AccessKeys) Delete(ctx context.Context, req *aws.DeleteAccessKeyRequest) (*operationT, error) {
	if _, err := a.s.authorizeCredential(ctx, permAccessKeysDelete, req.AccessKeyId, warden.CredAccessKey, "access key"); err != nil {
		return nil, err
	}
	var op *operationT
	err := a.s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		c, err := getCredential(ctx, tx, req.AccessKeyId, warden.CredAccessKey, "access key")
		if err != nil {
			return err
		}
		ch.credential(ctx, tx, c)
		if err := a.s.deleteCredential(ctx, tx, c); err != nil {
			return err
		}
		op, err = a.s.newOperation(ctx, tx, c.ID, "Delete access key", &aws.DeleteAccessKeyMetadata{AccessKeyId: c.ID}, nil)
		return err
	})
	a.s.accessKeys.changed(ctx, req.AccessKeyId)
	if err == nil {
		a.s.revokedHere(req.AccessKeyId)
	}
	return op, err
}

// ListOperations implements AccessKeyService.ListOperations.
func (a *AccessKeys) ListOperations(ctx context.Context, req *aws.ListAccessKeyOperationsRequest) (*aws.ListAccessKeyOperationsResponse, error) {
	if _, err := a.s.authorizeCredential(ctx, permAccessKeysGet, req.AccessKeyId, warden.CredAccessKey, "access key"); err != nil {
		return nil, err
	}
	ops, next, err := a.s.operationsOf(ctx, req.AccessKeyId, req, nil)
	if err != nil {
		return nil, err
	}
	return &aws.ListAccessKeyOperationsResponse{Operations: ops, NextPageToken: next}, nil
}

func decodeAccessKey(c *warden.Credential) (accessKeyData, error) {
	var d accessKeyData
	if err := json.Unmarshal(c.Data, &d); err != nil || d.KeyID == "" {
		return d, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	return d, nil
}

func accessKeyProto(c *warden.Credential) (*aws.AccessKey, error) {
	d, err := decodeAccessKey(c)
	if err != nil {
		return nil, err
	}
	return &aws.AccessKey{
		Id: c.ID, ServiceAccountId: c.SubjectID, CreatedAt: ts(c.CreatedAt), Description: c.Description,
		KeyId: d.KeyID, LastUsedAt: ts(c.LastUsedAt),
	}, nil
}

// TemporaryAccessKeys implements iam.v1.awscompatibility.
// TemporaryAccessKeyService: ephemeral access keys.
type TemporaryAccessKeys struct {
	aws.UnimplementedTemporaryAccessKeyServiceServer
	s *Service
}

// TemporaryAccessKeys returns the TemporaryAccessKeyService server.
func (s *Service) TemporaryAccessKeys() *TemporaryAccessKeys { return &TemporaryAccessKeys{s: s} }

// Lifetimes of an ephemeral key: AWS's session bounds, capped at an IAM
// token's.
const (
	ephemeralDefault = time.Hour
	ephemeralMin     = 15 * time.Minute
)

// CreateEphemeral implements TemporaryAccessKeyService.CreateEphemeral: an
// access key id, secret and session token for the caller, or for a service
// account it may issue tokens for (iam.serviceAccounts.tokens.create, and
// the escalation guard). Nothing is stored: the session token is signed
// like an IAM token and names the key, its subject and its expiry; the
// secret derives from the key id. The key dies at expiry, when its subject
// is suspended, expired or deleted, or when the session token is revoked.
func (t *TemporaryAccessKeys) CreateEphemeral(ctx context.Context, req *aws.CreateEphemeralAccessKeyRequest) (*aws.CreateEphemeralAccessKeyResponse, error) {
	policy, err := ephemeralPolicy(req.Policy)
	if err != nil {
		return nil, err
	}
	d := ephemeralDefault
	if req.Duration != nil {
		if err := req.Duration.CheckValid(); err != nil {
			return nil, warden.Errorf(warden.InvalidArgument, "duration: %v", err)
		}
		d = req.Duration.AsDuration()
	}
	if d < ephemeralMin || d > token.MaxLifetime {
		return nil, warden.Errorf(warden.InvalidArgument, "duration: must be between %s and %s", ephemeralMin, token.MaxLifetime)
	}
	caller := SubjectFrom(ctx)
	subject, typ := caller.ID, caller.Type
	if req.SubjectId != "" && req.SubjectId != caller.ID {
		if err := t.s.authorize(ctx, "iam.serviceAccounts.tokens.create", req.SubjectId); err != nil {
			return nil, err
		}
		r, err := t.s.mintableServiceAccount(ctx, req.SubjectId)
		if err != nil {
			return nil, err
		}
		subject, typ = r.ID, token.SubjectServiceAccount
	} else if err := t.s.guardMint(ctx, caller.ID); err != nil {
		// A confined or narrowed caller (a Keystone token, an API key, a
		// session policy) gets no unconfined key of its own account either.
		return nil, err
	}
	keyID, priv, err := t.s.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	now := t.s.now().UTC().Truncate(time.Second)
	id := accesskey.NewEphemeralKeyID()
	c := token.Claims{
		TokenID: hex.EncodeToString(secret.RandomBytes(16)), KeyID: keyID, SubjectType: typ, SubjectID: subject,
		IssuedAt: now, ExpiresAt: now.Add(d), CredentialID: id, Policy: policy,
	}
	session, err := token.SignAs(token.SessionPrefix, c, priv)
	if err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	return &aws.CreateEphemeralAccessKeyResponse{
		AccessKeyId: id, Secret: accesskey.DeriveSecret(t.s.accessKeys.ephemeralRoot, id),
		SessionToken: session, ExpiresAt: timestamppb.New(c.ExpiresAt),
	}, nil
}

// ephemeralPolicy checks a session policy and returns its compact form ("":
// none), which the session token carries.
func ephemeralPolicy(doc string) (string, error) {
	if strings.TrimSpace(doc) == "" {
		return "", nil
	}
	if _, err := authn.ParsePolicy(doc); err != nil {
		return "", warden.Errorf(warden.InvalidArgument, "policy: %v", err)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(doc)); err != nil {
		return "", warden.Errorf(warden.InvalidArgument, "policy: %v", err)
	}
	if b.Len() > token.MaxPolicyLength {
		return "", warden.Errorf(warden.InvalidArgument, "policy: at most %d bytes (compacted), not %d", token.MaxPolicyLength, b.Len())
	}
	return b.String(), nil
}
