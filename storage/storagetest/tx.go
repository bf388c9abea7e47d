package storagetest

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"warden"
)

// writes is one of every kind of write, against a folder, a service
// account in it and a leaf that already exist.
type writes struct {
	folder, sa, leaf *warden.Resource
	bindings         []warden.AccessBinding // already on folder

	resource   *warden.Resource
	operation  *warden.Operation
	credential *warden.Credential
	token      warden.RevokedToken
	key        *warden.SigningKey
	metaKey    string
}

func newWrites(t *testing.T, s warden.Store) *writes {
	t.Helper()
	f := folder(t, s)
	w := &writes{
		folder:   f,
		sa:       newResource(warden.TypeServiceAccount, f.ID),
		leaf:     newResource(warden.TypeServiceAccount, f.ID),
		bindings: []warden.AccessBinding{{RoleID: "viewer", SubjectType: "system", SubjectID: "allUsers"}},
	}
	create(t, s, w.sa, w.leaf)
	update(t, s, func(tx warden.Tx) error { return tx.SetAccessBindings(t.Context(), f.ID, w.bindings) })
	w.resource = newResource(warden.TypeServiceAccount, f.ID)
	w.operation = newOperation(w.resource.ID, base)
	w.credential = newCredential(warden.CredAPIKey, w.sa.ID)
	w.token = newRevokedToken(base, base.Add(time.Hour))
	w.key = &warden.SigningKey{ID: warden.NewID(warden.PrefixSigningKey), Algorithm: "Ed25519", Private: []byte("p"), Public: []byte("P"), CreatedAt: base}
	w.metaKey = unique("meta")
	return w
}

// apply makes every write of w in tx.
func (w *writes) apply(t *testing.T, tx warden.Tx) error {
	ctx := t.Context()
	changed := *w.sa
	changed.Description = "changed"
	steps := []func() error{
		func() error { return tx.CreateResource(ctx, w.resource) },
		func() error { return tx.UpdateResource(ctx, &changed) },
		func() error { return tx.DeleteResource(ctx, w.leaf.ID) },
		func() error { return tx.CreateOperation(ctx, w.operation) },
		func() error {
			return tx.SetAccessBindings(ctx, w.folder.ID, []warden.AccessBinding{{RoleID: "admin", SubjectType: "serviceAccount", SubjectID: w.sa.ID}})
		},
		func() error { return tx.CreateCredential(ctx, w.credential) },
		func() error { return tx.RevokeToken(ctx, w.token) },
		func() error { return tx.CreateSigningKey(ctx, w.key) },
		func() error { return tx.InsertMeta(ctx, w.metaKey, "v") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// checkNone fails t if any write of w is visible.
func (w *writes) checkNone(t *testing.T, s warden.Store) {
	t.Helper()
	view(t, s, func(tx warden.Tx) error {
		ctx := t.Context()
		_, err := tx.GetResource(ctx, w.resource.ID)
		wantCode(t, "GetResource(created)", err, warden.NotFound)
		sa, err := tx.GetResource(ctx, w.sa.ID)
		if err != nil || sa.Description != w.sa.Description {
			t.Errorf("GetResource(updated) = %+v, %v; want description %q", sa, err, w.sa.Description)
		}
		_, err = tx.GetResource(ctx, w.leaf.ID)
		wantCode(t, "GetResource(deleted)", err, "")
		_, err = tx.GetOperation(ctx, w.operation.ID)
		wantCode(t, "GetOperation", err, warden.NotFound)
		bs, err := tx.AccessBindings(ctx, w.folder.ID)
		if diff := cmp.Diff(w.bindings, bs, cmpOpts); err != nil || diff != "" {
			t.Errorf("AccessBindings: err %v, mismatch (-want +got):\n%s", err, diff)
		}
		_, err = tx.GetCredential(ctx, w.credential.ID)
		wantCode(t, "GetCredential", err, warden.NotFound)
		_, err = tx.Meta(ctx, w.metaKey)
		wantCode(t, "Meta", err, warden.NotFound)
		keys, err := tx.SigningKeys(ctx)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k.ID == w.key.ID {
				t.Errorf("SigningKeys lists the rolled-back key %s", k.ID)
			}
		}
		return nil
	})
	if got := revokedTokens(t, s, w.token.RevokedAt, w.token.RevokedAt, []warden.RevokedToken{w.token}); len(got) != 0 {
		t.Errorf("RevokedTokens lists the rolled-back revocation %v", got)
	}
}

func testAtomicity(t *testing.T, s warden.Store) {
	errBoom := errors.New("boom")
	tests := []struct {
		name string
		run  func(t *testing.T, w *writes) error
		want func(t *testing.T, err error)
	}{
		{
			name: "fn returns an error",
			run: func(t *testing.T, w *writes) error {
				return s.Update(t.Context(), func(tx warden.Tx) error {
					if err := w.apply(t, tx); err != nil {
						return err
					}
					return errBoom
				})
			},
			want: func(t *testing.T, err error) {
				if err != errBoom {
					t.Errorf("Update = %v, want fn's error returned as is", err)
				}
			},
		},
		{
			name: "store error after writes",
			run: func(t *testing.T, w *writes) error {
				return s.Update(t.Context(), func(tx warden.Tx) error {
					if err := w.apply(t, tx); err != nil {
						return err
					}
					dup := newResource(warden.TypeServiceAccount, w.folder.ID)
					dup.Name = w.sa.Name
					return tx.CreateResource(t.Context(), dup)
				})
			},
			want: func(t *testing.T, err error) { wantCode(t, "Update", err, warden.AlreadyExists) },
		},
		{
			name: "writes in View",
			run: func(t *testing.T, w *writes) error {
				return s.View(t.Context(), func(tx warden.Tx) error { return w.apply(t, tx) })
			},
			want: func(t *testing.T, err error) {
				if err == nil {
					t.Error("View let fn write")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWrites(t, s)
			tt.want(t, tt.run(t, w))
			w.checkNone(t, s)
		})
	}

	t.Run("commit", func(t *testing.T) {
		w := newWrites(t, s)
		update(t, s, func(tx warden.Tx) error { return w.apply(t, tx) })
		view(t, s, func(tx warden.Tx) error {
			if _, err := tx.GetResource(t.Context(), w.resource.ID); err != nil {
				t.Errorf("GetResource(committed): %v", err)
			}
			if _, err := tx.Meta(t.Context(), w.metaKey); err != nil {
				t.Errorf("Meta(committed): %v", err)
			}
			return nil
		})
	})
}

func testConcurrency(t *testing.T, s warden.Store) {
	t.Run("creates", func(t *testing.T) { testConcurrentCreates(t, s) })
	t.Run("same name", func(t *testing.T) { testConcurrentSameName(t, s) })
	t.Run("read-modify-write", func(t *testing.T) { testConcurrentReadModifyWrite(t, s) })
	t.Run("delete races creates", func(t *testing.T) { testConcurrentDeleteCreate(t, s) })
}

// parallel runs fn(i) for i in [0, n) in n goroutines at once and returns
// their errors.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// testConcurrentCreates runs many write transactions at once, as a loaded
// server does: every one must commit, and every write must be kept.
func testConcurrentCreates(t *testing.T, s warden.Store) {
	const n = 20
	f := folder(t, s)
	sas := make([]*warden.Resource, n)
	creds := make([]*warden.Credential, n)
	for i := range n {
		sas[i] = newResource(warden.TypeServiceAccount, f.ID)
		creds[i] = newCredential(warden.CredKey, sas[i].ID)
	}
	errs := parallel(n, func(i int) error {
		return s.Update(t.Context(), func(tx warden.Tx) error {
			if err := tx.CreateResource(t.Context(), sas[i]); err != nil {
				return err
			}
			if err := tx.CreateOperation(t.Context(), newOperation(sas[i].ID, base)); err != nil {
				return err
			}
			return tx.CreateCredential(t.Context(), creds[i])
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update in goroutine %d: %v", i, err)
		}
	}

	got, _ := listAll(t, s, warden.ResourceFilter{Type: warden.TypeServiceAccount, ParentID: f.ID})
	if len(got) != n {
		t.Errorf("ListResources after %d concurrent creates: %d resources", n, len(got))
	}
	for _, c := range creds {
		if _, err := credential(t, s, c.ID, "", nil); err != nil {
			t.Errorf("GetCredential(%s): %v", c.ID, err)
		}
	}
}

// testConcurrentSameName races several creates of one name: exactly one
// wins and the others get AlreadyExists, not an internal error.
func testConcurrentSameName(t *testing.T, s warden.Store) {
	const n = 10
	f := folder(t, s)
	name := unique("contested")
	errs := parallel(n, func(i int) error {
		r := newResource(warden.TypeServiceAccount, f.ID)
		r.Name = name
		return s.Update(t.Context(), func(tx warden.Tx) error { return tx.CreateResource(t.Context(), r) })
	})
	codes := map[warden.Code]int{}
	for _, err := range errs {
		codes[warden.ErrorCode(err)]++
	}
	if want := map[warden.Code]int{"": 1, warden.AlreadyExists: n - 1}; !cmp.Equal(codes, want) {
		t.Errorf("error codes of %d concurrent creates of one name = %v, want %v", n, fmt.Sprint(codes), want)
	}
}

// testConcurrentReadModifyWrite has several transactions at once read a
// resource and its bindings and write them back with one change each, as
// field-mask updates and UpdateAccessBindings do: no change may be lost.
func testConcurrentReadModifyWrite(t *testing.T, s warden.Store) {
	const n = 10
	f := folder(t, s)
	errs := parallel(n, func(i int) error {
		return s.Update(t.Context(), func(tx warden.Tx) error {
			r, err := tx.GetResource(t.Context(), f.ID)
			if err != nil {
				return err
			}
			bs, err := tx.AccessBindings(t.Context(), f.ID)
			if err != nil {
				return err
			}
			if r.Labels == nil {
				r.Labels = map[string]string{}
			}
			r.Labels["k"+strconv.Itoa(i)] = "v"
			if err := tx.UpdateResource(t.Context(), r); err != nil {
				return err
			}
			return tx.SetAccessBindings(t.Context(), f.ID, append(bs, warden.AccessBinding{RoleID: "viewer", SubjectType: "userAccount", SubjectID: strconv.Itoa(i)}))
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update in goroutine %d: %v", i, err)
		}
	}
	var r *warden.Resource
	view(t, s, func(tx warden.Tx) (err error) {
		r, err = tx.GetResource(t.Context(), f.ID)
		return err
	})
	if len(r.Labels) != n {
		t.Errorf("after %d concurrent label additions the resource has labels %v", n, r.Labels)
	}
	if bs := accessBindings(t, s, f.ID); len(bs) != n {
		t.Errorf("after %d concurrent binding additions the resource has bindings %v", n, bs)
	}
}

// testConcurrentDeleteCreate deletes a folder while children are being
// created in it: the deletion must either fail or leave no child behind.
func testConcurrentDeleteCreate(t *testing.T, s warden.Store) {
	const n = 10
	for round := range 5 {
		f := folder(t, s)
		children := make([]*warden.Resource, n)
		for i := range children {
			children[i] = newResource(warden.TypeServiceAccount, f.ID)
		}
		errs := parallel(n+1, func(i int) error {
			if i == n {
				return s.Update(t.Context(), func(tx warden.Tx) error { return tx.DeleteResource(t.Context(), f.ID) })
			}
			return s.Update(t.Context(), func(tx warden.Tx) error { return tx.CreateResource(t.Context(), children[i]) })
		})
		deleted := errs[n] == nil
		if !deleted {
			wantCode(t, "DeleteResource", errs[n], warden.FailedPrecondition)
		}
		for i, err := range errs[:n] {
			if deleted && exists(t, s, children[i].ID) {
				t.Errorf("round %d: child %s outlived its deleted parent", round, children[i].ID)
			}
			if err != nil && !warden.IsCode(err, warden.NotFound) {
				t.Errorf("round %d: CreateResource: %v", round, err)
			}
		}
	}
}
