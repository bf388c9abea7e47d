package service

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"sync"
	"time"

	"warden"
	"warden/secret"
	"warden/token"
)

// keyring keeps the server's token signing keys: the newest signs, every key
// young enough to have signed a live token verifies. Keys live in the store,
// private halves sealed under the master key, so every wardend on one
// database signs and verifies with the same set.
type keyring struct {
	store    warden.Store
	sealer   *secret.Sealer
	verifier *token.Verifier // told the public keys on every load
	now      func() time.Time
	rotation time.Duration

	mu sync.Mutex
	// signing key
	id   string
	priv ed25519.PrivateKey
	made time.Time
	// last reload triggered by an unknown key ID
	lastUnknown time.Time
}

const keyAlgorithm = "ed25519"

func (k *keyring) load(ctx context.Context) error {
	var keys []*warden.SigningKey
	err := k.store.View(ctx, func(tx warden.Tx) (err error) {
		keys, err = tx.SigningKeys(ctx)
		return err
	})
	if err != nil {
		return err
	}
	now := k.now()
	if len(keys) == 0 || now.Sub(keys[0].CreatedAt) >= k.rotation {
		fresh, err := k.create(ctx)
		if err != nil {
			return err
		}
		keys = append([]*warden.SigningKey{fresh}, keys...)
	}
	// A retired key verifies until the last token it signed has expired.
	pubs := map[string]ed25519.PublicKey{}
	for i, key := range keys {
		if i > 0 && now.Sub(keys[i-1].CreatedAt) > token.MaxLifetime+time.Minute {
			break
		}
		pubs[key.ID] = ed25519.PublicKey(key.Public)
	}
	priv, err := k.sealer.Open(keys[0].Private, []byte(keys[0].ID))
	if err != nil {
		return &warden.Error{Code: warden.Internal, Message: "internal error", Cause: err}
	}
	k.verifier.SetKeys(pubs)
	k.mu.Lock()
	k.id, k.priv, k.made = keys[0].ID, ed25519.PrivateKey(priv), keys[0].CreatedAt
	k.mu.Unlock()
	return nil
}

func (k *keyring) create(ctx context.Context) (*warden.SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	key := &warden.SigningKey{ID: warden.NewID(warden.PrefixSigningKey), Algorithm: keyAlgorithm, Public: pub, CreatedAt: k.now().UTC()}
	key.Private = k.sealer.Seal(priv, []byte(key.ID))
	err = k.store.Update(ctx, func(tx warden.Tx) error { return tx.CreateSigningKey(ctx, key) })
	return key, err
}

// current returns the signing key, rotating it when it is due; ctx is the
// request's, for the rotation's I/O.
func (k *keyring) current(ctx context.Context) (string, ed25519.PrivateKey, error) {
	k.mu.Lock()
	id, priv, made := k.id, k.priv, k.made
	k.mu.Unlock()
	if k.now().Sub(made) >= k.rotation {
		if err := k.load(ctx); err != nil {
			return "", nil, err
		}
		return k.current(ctx)
	}
	return id, priv, nil
}

// reloadForUnknown reloads the key set when a token names a key this node
// has not seen yet (another node rotated), at most once a second so that
// forged key IDs cannot make every request read the database.
func (k *keyring) reloadForUnknown(ctx context.Context) bool {
	k.mu.Lock()
	if k.now().Sub(k.lastUnknown) < time.Second {
		k.mu.Unlock()
		return false
	}
	k.lastUnknown = k.now()
	k.mu.Unlock()
	return k.load(ctx) == nil
}
