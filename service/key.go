package service

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"

	"warden"
	"warden/jwtauth"
	"warden/token"
)

// Keys implements iam KeyService: the authorized keys (RSA key pairs) with
// which a service account signs the JWTs it exchanges for IAM tokens. Only
// the public half is stored.
type Keys struct {
	iam.UnimplementedKeyServiceServer
	s     *Service
	state *keyState
}

// Keys returns the KeyService server.
func (s *Service) Keys() *Keys { return &Keys{s: s, state: s.keyState()} }

// PublicKeyMetadata is the request metadata (gRPC) or HTTP header (REST)
// that carries a caller-made public key to KeyService.Create: base64 of its
// PEM or DER. CreateKeyRequest has no field for one, and a private key made
// on the caller's machine then never travels.
const PublicKeyMetadata = "x-warden-public-key"

var keyBits = map[iam.Key_Algorithm]int{iam.Key_RSA_2048: 2048, iam.Key_RSA_4096: 4096}

// Get implements KeyService.Get.
func (k *Keys) Get(ctx context.Context, req *iam.GetKeyRequest) (*iam.Key, error) {
	c, err := k.authorizeKey(ctx, permKeysGet, req.KeyId)
	if err != nil {
		return nil, err
	}
	return keyProto(c)
}

// List implements KeyService.List: the keys of a service account, the
// caller's own when it is a service account and names none.
func (k *Keys) List(ctx context.Context, req *iam.ListKeysRequest) (*iam.ListKeysResponse, error) {
	sa, err := keyOwner(ctx, req.ServiceAccountId)
	if err != nil {
		return nil, err
	}
	if err := k.s.authorize(ctx, permKeysList, sa); err != nil {
		return nil, err
	}
	out := &iam.ListKeysResponse{}
	err = k.s.store.View(ctx, func(tx warden.Tx) error {
		if _, err := k.s.getResource(ctx, tx, sa, warden.TypeServiceAccount); err != nil {
			return err
		}
		cs, next, err := tx.ListCredentials(ctx, sa, warden.CredKey, page(req.PageSize, req.PageToken))
		if err != nil {
			return err
		}
		out.NextPageToken = next
		for _, c := range cs {
			p, err := keyProto(c)
			if err != nil {
				return err
			}
			out.Keys = append(out.Keys, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Create implements KeyService.Create. It makes an RSA key pair (RSA_2048
// unless asked for RSA_4096) and answers the private key once, as PKCS #8
// PEM; or, given a public key in PublicKeyMetadata, registers that and
// answers no private key. The method is synchronous in the Yandex API: it
// returns the key, not an operation.
func (k *Keys) Create(ctx context.Context, req *iam.CreateKeyRequest) (*iam.CreateKeyResponse, error) {
	sa, err := keyOwner(ctx, req.ServiceAccountId)
	if err != nil {
		return nil, err
	}
	if err := k.s.authorize(ctx, permKeysCreate, sa); err != nil {
		return nil, err
	}
	if err := k.s.guardMint(ctx, sa); err != nil {
		return nil, err
	}
	if req.Format != iam.KeyFormat_PEM_FILE {
		return nil, warden.Errorf(warden.InvalidArgument, "format: only PEM_FILE is supported")
	}
	alg := req.KeyAlgorithm
	if alg != iam.Key_ALGORITHM_UNSPECIFIED && keyBits[alg] == 0 {
		return nil, warden.Errorf(warden.InvalidArgument, "key_algorithm: must be RSA_2048 or RSA_4096")
	}
	pub, priv, alg, err := keyPair(ctx, alg)
	if err != nil {
		return nil, err
	}
	pubPEM, der, err := jwtauth.MarshalPublicKey(pub)
	if err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	data, err := json.Marshal(keyData{Algorithm: alg.String(), PublicKey: pubPEM})
	if err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	c := &warden.Credential{
		ID: warden.NewID(warden.PrefixKey), Kind: warden.CredKey, SubjectID: sa, Hash: keyHash(sa, der), Data: data,
		Description: req.Description, CreatedAt: k.s.now().UTC(),
	}
	err = k.s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		if _, err := k.s.getResource(ctx, tx, sa, warden.TypeServiceAccount); err != nil {
			return err
		}
		ch.credential(ctx, tx, c)
		err := tx.CreateCredential(ctx, c)
		if warden.IsCode(err, warden.AlreadyExists) {
			return warden.Errorf(warden.AlreadyExists, "service account %s already has a key with this public key", sa)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &iam.CreateKeyResponse{Key: &iam.Key{
		Id: c.ID, Subject: &iam.Key_ServiceAccountId{ServiceAccountId: sa}, CreatedAt: ts(c.CreatedAt),
		Description: c.Description, KeyAlgorithm: alg, PublicKey: pubPEM,
	}}
	if priv != nil {
		if out.PrivateKey, err = jwtauth.MarshalPrivateKey(priv); err != nil {
			return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
		}
	}
	return out, nil
}

type publicKeyKey struct{}

// WithCallerPublicKey returns ctx carrying the value of PublicKeyMetadata:
// the transport reads it from the request, the service never reads
// transport metadata itself.
func WithCallerPublicKey(ctx context.Context, v string) context.Context {
	return context.WithValue(ctx, publicKeyKey{}, v)
}

// keyPair returns the caller's public key when PublicKeyMetadata carries
// one, otherwise a fresh pair. alg is the algorithm asked for (unspecified:
// whatever fits) and the one returned is the key's.
func keyPair(ctx context.Context, alg iam.Key_Algorithm) (*rsa.PublicKey, *rsa.PrivateKey, iam.Key_Algorithm, error) {
	if v, ok := ctx.Value(publicKeyKey{}).(string); ok {
		pub, err := callerPublicKey(v)
		if err != nil {
			return nil, nil, 0, err
		}
		got := iam.Key_ALGORITHM_UNSPECIFIED
		for a, bits := range keyBits {
			if pub.N.BitLen() == bits {
				got = a
			}
		}
		if got == iam.Key_ALGORITHM_UNSPECIFIED {
			return nil, nil, 0, warden.Errorf(warden.InvalidArgument, "%s: the RSA key must have 2048 or 4096 bits, not %d", PublicKeyMetadata, pub.N.BitLen())
		}
		if alg != iam.Key_ALGORITHM_UNSPECIFIED && alg != got {
			return nil, nil, 0, warden.Errorf(warden.InvalidArgument, "key_algorithm: %s does not match the %d-bit public key", alg, pub.N.BitLen())
		}
		return pub, nil, got, nil
	}
	if alg == iam.Key_ALGORITHM_UNSPECIFIED {
		alg = iam.Key_RSA_2048
	}
	priv, err := rsa.GenerateKey(rand.Reader, keyBits[alg])
	if err != nil {
		return nil, nil, 0, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	return &priv.PublicKey, priv, alg, nil
}

// callerPublicKey decodes PublicKeyMetadata: base64 (standard or URL, with
// or without padding) of a PEM public key or of its DER.
func callerPublicKey(v string) (*rsa.PublicKey, error) {
	v = strings.TrimSpace(v)
	var raw []byte
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			raw = b
			break
		}
	}
	if raw == nil {
		return nil, warden.Errorf(warden.InvalidArgument, "%s: must be base64 of a PEM or DER RSA public key", PublicKeyMetadata)
	}
	text := string(raw)
	if !strings.Contains(text, "-----BEGIN") {
		text = "-----BEGIN PUBLIC KEY-----\n" + base64.StdEncoding.EncodeToString(raw) + "\n-----END PUBLIC KEY-----\n"
	}
	pub, _, err := jwtauth.ParsePublicKey(text)
	if err != nil {
		return nil, warden.Errorf(warden.InvalidArgument, "%s: %s", PublicKeyMetadata, strings.TrimPrefix(err.Error(), "jwtauth: "))
	}
	return pub, nil
}

// keyHash identifies a public key within its service account: the same
// public key may serve several accounts, but one account holds it once.
func keyHash(serviceAccountID string, der []byte) []byte {
	h := sha256.New()
	h.Write([]byte(serviceAccountID))
	h.Write([]byte{0})
	h.Write(der)
	return h.Sum(nil)
}

// keyOwner returns the service account a key request is about: the one it
// names, or the caller when that is a service account.
func keyOwner(ctx context.Context, id string) (string, error) {
	if id != "" {
		return id, nil
	}
	if sub := SubjectFrom(ctx); sub.Type == token.SubjectServiceAccount {
		return sub.ID, nil
	}
	return "", warden.Errorf(warden.InvalidArgument, "service_account_id: required unless the caller is a service account")
}

// Update implements KeyService.Update: only the description changes.
func (k *Keys) Update(ctx context.Context, req *iam.UpdateKeyRequest) (*operationT, error) {
	paths := req.UpdateMask.GetPaths()
	if len(paths) == 0 && req.Description != "" {
		paths = []string{"description"}
	}
	for _, p := range paths {
		if p != "description" {
			return nil, warden.Errorf(warden.InvalidArgument, "update_mask: field %q cannot be updated", p)
		}
	}
	if _, err := k.authorizeKey(ctx, permKeysUpdate, req.KeyId); err != nil {
		return nil, err
	}
	var op *operationT
	err := k.s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		c, err := getKey(ctx, tx, req.KeyId)
		if err != nil {
			return err
		}
		ch.credential(ctx, tx, c)
		if len(paths) > 0 {
			c.Description = req.Description
			if err := tx.UpdateCredential(ctx, c); err != nil {
				return err
			}
		}
		resp, err := keyProto(c)
		if err != nil {
			return err
		}
		op, err = k.s.newOperation(ctx, tx, c.ID, "Update key", &iam.UpdateKeyMetadata{KeyId: c.ID}, resp)
		return err
	})
	return op, err
}

// Delete implements KeyService.Delete. Exchanges with the key stop at once
// on this wardend and within the refresh interval on the others, and so are
// the IAM tokens it was exchanged for.
func (k *Keys) Delete(ctx context.Context, req *iam.DeleteKeyRequest) (*operationT, error) {
	if _, err := k.authorizeKey(ctx, permKeysDelete, req.KeyId); err != nil {
		return nil, err
	}
	var op *operationT
	err := k.s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
		c, err := getKey(ctx, tx, req.KeyId)
		if err != nil {
			return err
		}
		ch.credential(ctx, tx, c)
		if err := k.s.deleteCredential(ctx, tx, c); err != nil {
			return err
		}
		op, err = k.s.newOperation(ctx, tx, req.KeyId, "Delete key", &iam.DeleteKeyMetadata{KeyId: req.KeyId}, nil)
		return err
	})
	// Evicted after the commit too: an exchange that read the key just
	// before it must not cache it again.
	k.state.evict(req.KeyId)
	if err == nil {
		k.s.revokedHere(req.KeyId)
	}
	return op, err
}

// ListOperations implements KeyService.ListOperations.
func (k *Keys) ListOperations(ctx context.Context, req *iam.ListKeyOperationsRequest) (*iam.ListKeyOperationsResponse, error) {
	if _, err := k.authorizeKey(ctx, permKeysGet, req.KeyId); err != nil {
		return nil, err
	}
	ops, next, err := k.s.operationsOf(ctx, req.KeyId, req, nil)
	if err != nil {
		return nil, err
	}
	return &iam.ListKeyOperationsResponse{Operations: ops, NextPageToken: next}, nil
}

// Permissions on a service account that govern its keys (roles
// iam.serviceAccounts.keyAdmin, iam.editor and up).
const (
	permKeysGet    = "iam.serviceAccounts.keys.get"
	permKeysList   = "iam.serviceAccounts.keys.list"
	permKeysCreate = "iam.serviceAccounts.keys.create"
	permKeysUpdate = "iam.serviceAccounts.keys.update"
	permKeysDelete = "iam.serviceAccounts.keys.delete"
)

// authorizeKey returns an authorized key the caller may act on.
func (k *Keys) authorizeKey(ctx context.Context, permission, id string) (*warden.Credential, error) {
	return k.s.authorizeCredential(ctx, permission, id, warden.CredKey, "key")
}

// getKey returns an authorized key; a credential of another kind is
// NotFound, as if it did not exist.
func getKey(ctx context.Context, tx warden.Tx, id string) (*warden.Credential, error) {
	return getCredential(ctx, tx, id, warden.CredKey, "key")
}

// authorizeCredential returns a credential of a kind after checking
// permission on the service account that owns it. Whether its ID exists is
// told only to a caller who holds the permission somewhere, as for
// resources.
func (s *Service) authorizeCredential(ctx context.Context, permission, id string, kind warden.CredentialKind, noun string) (*warden.Credential, error) {
	var c *warden.Credential
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		c, err = getCredential(ctx, tx, id, kind, noun)
		return err
	})
	if warden.IsCode(err, warden.NotFound) {
		if aerr := s.authorize(ctx, permission, id); aerr != nil {
			return nil, aerr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, permission, c.SubjectID); err != nil {
		return nil, err
	}
	return c, nil
}

// getCredential reads a credential of a kind; one of another kind is
// NotFound ("<noun> <id> not found"), as if it did not exist.
func getCredential(ctx context.Context, tx warden.Tx, id string, kind warden.CredentialKind, noun string) (*warden.Credential, error) {
	c, err := tx.GetCredential(ctx, id)
	if warden.IsCode(err, warden.NotFound) || (err == nil && c.Kind != kind) {
		return nil, warden.Errorf(warden.NotFound, "%s %s not found", noun, id)
	}
	return c, err
}

func keyProto(c *warden.Credential) (*iam.Key, error) {
	kd, err := decodeKeyData(c.Data)
	if err != nil {
		return nil, &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	return &iam.Key{
		Id: c.ID, Subject: &iam.Key_ServiceAccountId{ServiceAccountId: c.SubjectID}, CreatedAt: ts(c.CreatedAt),
		Description: c.Description, KeyAlgorithm: iam.Key_Algorithm(iam.Key_Algorithm_value[kd.Algorithm]),
		PublicKey: kd.PublicKey, LastUsedAt: ts(c.LastUsedAt),
	}, nil
}
