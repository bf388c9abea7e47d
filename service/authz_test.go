package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"warden"
	"warden/access"
	"warden/storage/postgres"
	"warden/storage/sqlite"
	"warden/storage/sqlstore"
	"warden/storage/storagetest"
)

// nodeStores opens two stores on one fresh database of a backend, as two
// wardend processes would: "sqlite" (one file) or "postgres" (skipped
// without WARDEN_TEST_POSTGRES).
func nodeStores(t testing.TB, backend string) (a, b *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	switch backend {
	case "sqlite":
		dir := t.TempDir()
		var stores [2]*sqlstore.Store
		for i := range stores {
			s, err := sqlite.Open(ctx, filepath.Join(dir, "w.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			stores[i] = s
		}
		return stores[0], stores[1]
	default:
		dsn := freshPostgres(t)
		var stores [2]*sqlstore.Store
		for i := range stores {
			s, err := postgres.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			stores[i] = s
		}
		return stores[0], stores[1]
	}
}

// freshPostgres creates an empty database on WARDEN_TEST_POSTGRES, dropped
// when the test ends; it skips the test without one.
func freshPostgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("WARDEN_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("WARDEN_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to WARDEN_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	name := "warden_service_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse WARDEN_TEST_POSTGRES: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// followWithin polls follower's feed until cond holds of its snapshot,
// failing after a second (the documented bound).
func followWithin(t *testing.T, follower *authz, what string, cond func(*access.Snapshot) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		if err := follower.poll(t.Context()); err != nil {
			t.Fatalf("%s: poll: %v", what, err)
		}
		if cond(follower.snap.Load()) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not applied by the other node within 1s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSnapshotFollowsFeed: two nodes on one database. The writer sees its
// own create, binding change, suspension and delete before the call
// returns; the other node applies each from the feed within a second — and
// neither rebuilds its snapshot to do so.
func TestSnapshotFollowsFeed(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := t.Context()
			sa, sb := nodeStores(t, backend)
			pop, err := storagetest.Populate(ctx, sa.DB(), 20, 20, 50)
			if err != nil {
				t.Fatal(err)
			}
			catalog, err := access.NewCatalog()
			if err != nil {
				t.Fatal(err)
			}
			a, b := newAuthz(sa, catalog), newAuthz(sb, catalog)
			for _, n := range []*authz{a, b} {
				if err := n.reload(ctx); err != nil {
					t.Fatal(err)
				}
			}
			cloud, _ := a.snap.Load().Node(pop.Folders[0])
			folder := &warden.Resource{ID: warden.NewID(warden.PrefixFolder), Type: warden.TypeFolder, ParentID: cloud.ParentID, Name: "new", Status: warden.StatusActive}
			robot := &warden.Resource{ID: warden.NewID(warden.PrefixServiceAccount), Type: warden.TypeServiceAccount, ParentID: folder.ID, Name: "robot", Status: warden.StatusActive}
			write := func(fn func(tx warden.Tx) error) {
				t.Helper()
				if err := sa.Update(ctx, fn); err != nil {
					t.Fatal(err)
				}
			}

			// A folder and an account in it, created through a.
			write(func(tx warden.Tx) error {
				if err := tx.CreateResource(ctx, folder); err != nil {
					return err
				}
				return tx.CreateResource(ctx, robot)
			})
			for _, r := range []*warden.Resource{folder, robot} {
				if err := a.created(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if !a.snap.Load().Within(robot.ID, cloud.ParentID) {
				t.Fatal("the writer does not see its own create")
			}
			followWithin(t, b, "create", func(s *access.Snapshot) bool { return s.Within(robot.ID, cloud.ParentID) })

			// A grant on the folder.
			viewer := []warden.AccessBinding{{RoleID: "viewer", SubjectType: "serviceAccount", SubjectID: robot.ID}}
			write(func(tx warden.Tx) error { return tx.SetAccessBindings(ctx, folder.ID, viewer) })
			if err := a.apply(ctx, warden.ResourceChange{ResourceID: folder.ID, Kind: warden.BindingsChanged}); err != nil {
				t.Fatal(err)
			}
			allowed := func(s *access.Snapshot) bool {
				return s.Allowed(robot.ID, true, "iam.serviceAccounts.list", folder.ID)
			}
			if !allowed(a.snap.Load()) {
				t.Fatal("the writer does not see its own grant")
			}
			followWithin(t, b, "grant", allowed)

			// A suspension of the account.
			write(func(tx warden.Tx) error {
				robot.Status = warden.StatusSuspended
				return tx.UpdateResource(ctx, robot)
			})
			if err := a.apply(ctx, warden.ResourceChange{ResourceID: robot.ID, Kind: warden.ResourceChanged}); err != nil {
				t.Fatal(err)
			}
			suspended := func(s *access.Snapshot) bool { n, _ := s.Node(robot.ID); return n.Status == warden.StatusSuspended }
			if !suspended(a.snap.Load()) {
				t.Fatal("the writer does not see its own suspension")
			}
			followWithin(t, b, "suspension", suspended)

			// Deleting the account takes its binding on the folder along.
			write(func(tx warden.Tx) error { return tx.DeleteResource(ctx, robot.ID) })
			a.removed(robot.ID)
			gone := func(s *access.Snapshot) bool {
				_, known := s.Node(robot.ID)
				return !known && !allowed(s) && len(s.BoundRoles(folder.ID)) == 0
			}
			if !gone(a.snap.Load()) {
				t.Fatal("the writer still holds the deleted account or its binding")
			}
			followWithin(t, b, "delete", gone)

			// The follower's edited snapshot is the one a rebuild makes.
			edited := b.snap.Load()
			if err := b.reload(ctx); err != nil {
				t.Fatal(err)
			}
			rebuilt := b.snap.Load()
			if edited.Len() != rebuilt.Len() {
				t.Errorf("edited snapshot holds %d resources, a rebuild %d", edited.Len(), rebuilt.Len())
			}
			for _, f := range append(pop.Folders, folder.ID) {
				for _, acc := range pop.Accounts {
					if edited.Allowed(acc, true, "iam.serviceAccounts.list", f) != rebuilt.Allowed(acc, true, "iam.serviceAccounts.list", f) {
						t.Fatalf("edited and rebuilt snapshots disagree on %s at %s", acc, f)
					}
				}
			}
			if a.rebuilds != 1 || b.rebuilds != 2 {
				t.Errorf("rebuilds: writer %d, follower %d; want 1 (at start) and 2 (at start and the check)", a.rebuilds, b.rebuilds)
			}
		})
	}
}

// TestSnapshotRebuildsOnFeedGap: a node that has not read the feed for
// longer than entries are surely kept rebuilds instead of trusting it.
func TestSnapshotRebuildsOnFeedGap(t *testing.T) {
	ctx := t.Context()
	sa, _ := nodeStores(t, "sqlite")
	catalog, err := access.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthz(sa, catalog)
	if err := a.reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := storagetest.Populate(ctx, sa.DB(), 3, 3, 3); err != nil { // no feed entries
		t.Fatal(err)
	}
	if err := a.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.snap.Load().Len(); got != 0 {
		t.Fatalf("snapshot learned %d resources without a feed entry", got)
	}
	a.lastRead = time.Now().Add(-feedGap - time.Second)
	if err := a.poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.snap.Load().Len(); got != 8 || a.rebuilds != 2 {
		t.Fatalf("after a feed gap: %d resources, %d rebuilds; want 8 (an organization, a cloud, 3 folders and 3 accounts) and 2", got, a.rebuilds)
	}
}

// threadCPU is the CPU time of the calling OS thread (lock the goroutine
// to it first): what one call costs, apart from the other goroutines of a
// shared machine.
func threadCPU() time.Duration {
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_THREAD, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkBindingChange: with 10,000 folders, 10,000 accounts and
// 100,000 bindings loaded, one binding change committed through node a:
// what applying it costs a beyond its transaction (apply-cpu-µs, on the
// calling thread; apply-µs wall), and what node b's next feed read costs
// to apply it (follow-µs) — b reads the feed every refresh interval
// (200 ms by default), so the change reaches it within that plus this.
func BenchmarkBindingChange(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			ctx := context.Background()
			sa, sb := nodeStores(b, backend)
			pop, err := storagetest.Populate(ctx, sa.DB(), 10_000, 10_000, 100_000)
			if err != nil {
				b.Fatal(err)
			}
			catalog, err := access.NewCatalog()
			if err != nil {
				b.Fatal(err)
			}
			na, nb := newAuthz(sa, catalog), newAuthz(sb, catalog)
			for _, n := range []*authz{na, nb} {
				if err := n.reload(ctx); err != nil {
					b.Fatal(err)
				}
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var txTime, applyTime, applyCPU, followTime time.Duration
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				folder, account := pop.Folders[i%len(pop.Folders)], pop.Accounts[(i*7)%len(pop.Accounts)]
				i++
				bs := []warden.AccessBinding{{RoleID: "editor", SubjectType: "serviceAccount", SubjectID: account}}
				t0 := time.Now()
				if err := sa.Update(ctx, func(tx warden.Tx) error { return tx.SetAccessBindings(ctx, folder, bs) }); err != nil {
					b.Fatal(err)
				}
				t1, c1 := time.Now(), threadCPU()
				if err := na.apply(ctx, warden.ResourceChange{ResourceID: folder, Kind: warden.BindingsChanged}); err != nil {
					b.Fatal(err)
				}
				applyCPU += threadCPU() - c1
				t2 := time.Now()
				if err := nb.poll(ctx); err != nil {
					b.Fatal(err)
				}
				followTime += time.Since(t2)
				txTime, applyTime = txTime+t1.Sub(t0), applyTime+t2.Sub(t1)
				if !na.snap.Load().Allowed(account, true, "iam.serviceAccounts.create", folder) || !nb.snap.Load().Allowed(account, true, "iam.serviceAccounts.create", folder) {
					b.Fatal("a node does not hold the new binding")
				}
			}
			if na.rebuilds != 1 || nb.rebuilds != 1 {
				b.Fatalf("rebuilds: %d and %d, want 1 each (at start)", na.rebuilds, nb.rebuilds)
			}
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
			b.ReportMetric(per(txTime), "tx-µs")
			b.ReportMetric(per(applyTime), "apply-µs")
			b.ReportMetric(per(applyCPU), "apply-cpu-µs")
			b.ReportMetric(per(followTime), "follow-µs")
		})
	}
}

// stallingStore holds the first GetResource of a View, after it has read,
// until release is closed: a slow read racing a later one.
type stallingStore struct {
	warden.Store
	held    atomic.Bool   // not a sync.Once: its other callers would wait for the held one
	read    chan struct{} // closed when the held read has read
	release chan struct{}
}

type stallingTx struct {
	warden.Tx
	s *stallingStore
}

func (s *stallingStore) View(ctx context.Context, fn func(warden.Tx) error) error {
	return s.Store.View(ctx, func(tx warden.Tx) error { return fn(stallingTx{tx, s}) })
}

func (t stallingTx) GetResource(ctx context.Context, id string) (*warden.Resource, error) {
	r, err := t.Tx.GetResource(ctx, id)
	if t.s.held.CompareAndSwap(false, true) {
		close(t.s.read)
		<-t.s.release
	}
	return r, err
}

// TestStaleReadDoesNotOverwrite: a read of a resource that began before
// a later one is not applied after it, whichever finishes last — else a
// slow feed read would bring back a state that a suspension replaced.
func TestStaleReadDoesNotOverwrite(t *testing.T) {
	ctx := t.Context()
	store, _ := nodeStores(t, "sqlite")
	pop, err := storagetest.Populate(ctx, store.DB(), 1, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := access.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	stall := &stallingStore{Store: store, read: make(chan struct{}), release: make(chan struct{})}
	a := newAuthz(stall, catalog)
	if err := a.reload(ctx); err != nil {
		t.Fatal(err)
	}
	robot := pop.Accounts[0]
	change := warden.ResourceChange{ResourceID: robot, Kind: warden.ResourceChanged}
	slow := make(chan error, 1)
	go func() { slow <- a.apply(ctx, change) }() // reads ACTIVE, then stalls
	<-stall.read
	if err := store.Update(ctx, func(tx warden.Tx) error {
		r, err := tx.GetResource(ctx, robot)
		if err != nil {
			return err
		}
		r.Status = warden.StatusSuspended
		return tx.UpdateResource(ctx, r)
	}); err != nil {
		t.Fatal(err)
	}
	if err := a.apply(ctx, change); err != nil { // reads SUSPENDED
		t.Fatal(err)
	}
	close(stall.release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	if n, _ := a.snap.Load().Node(robot); n.Status != warden.StatusSuspended {
		t.Fatalf("status after a stale read finished last: %s, want %s", n.Status, warden.StatusSuspended)
	}
}

// readCounter is a store that counts the resources read through it.
type readCounter struct {
	warden.Store
	gets atomic.Int64
}

func (c *readCounter) View(ctx context.Context, fn func(warden.Tx) error) error {
	return c.Store.View(ctx, func(tx warden.Tx) error { return fn(countingTx{tx, &c.gets}) })
}

type countingTx struct {
	warden.Tx
	gets *atomic.Int64
}

func (t countingTx) GetResource(ctx context.Context, id string) (*warden.Resource, error) {
	t.gets.Add(1)
	return t.Tx.GetResource(ctx, id)
}

// TestFeedOwnCreatesAndLateEntries: a node's feed read notes the entries
// of its own creates (applied before they returned) without reading them
// again, and skips the window behind its position only while it holds no
// entry unseen: one stamped there but committed late is still applied.
func TestFeedOwnCreatesAndLateEntries(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := t.Context()
			sa, _ := nodeStores(t, backend)
			pop, err := storagetest.Populate(ctx, sa.DB(), 2, 2, 2)
			if err != nil {
				t.Fatal(err)
			}
			catalog, err := access.NewCatalog()
			if err != nil {
				t.Fatal(err)
			}
			store := &readCounter{Store: sa}
			a := newAuthz(store, catalog)
			if err := a.reload(ctx); err != nil {
				t.Fatal(err)
			}
			account := func(name string) *warden.Resource {
				return &warden.Resource{ID: warden.NewID(warden.PrefixServiceAccount), Type: warden.TypeServiceAccount,
					ParentID: pop.Folders[0], Name: name, Status: warden.StatusActive}
			}
			mine := account("mine")
			if err := sa.Update(ctx, func(tx warden.Tx) error { return tx.CreateResource(ctx, mine) }); err != nil {
				t.Fatal(err)
			}
			if err := a.created(ctx, mine); err != nil {
				t.Fatal(err)
			}
			if err := a.poll(ctx); err != nil {
				t.Fatal(err)
			}
			if got := store.gets.Load(); got != 0 || !a.seen.has(mine.ID) || len(a.own) != 0 {
				t.Fatalf("after reading the feed past its own create: %d resource reads, seen %v, %d own entries left; want 0, true, 0",
					got, a.seen.has(mine.ID), len(a.own))
			}

			// A create on another node whose entry is stamped behind this
			// node's position (a transaction slow between its stamp and
			// its commit).
			late := account("late")
			if err := sa.Update(ctx, func(tx warden.Tx) error { return tx.CreateResource(ctx, late) }); err != nil {
				t.Fatal(err)
			}
			if _, err := sa.DB().ExecContext(ctx, `UPDATE resource_changes SET at = $1 WHERE id = $2`,
				a.since.Add(-time.Second).UnixMicro(), late.ID); err != nil {
				t.Fatal(err)
			}
			if err := a.poll(ctx); err != nil {
				t.Fatal(err)
			}
			if _, ok := a.snap.Load().Node(late.ID); !ok || store.gets.Load() != 1 {
				t.Fatalf("a late entry behind the feed position: applied %v after %d resource reads; want true after 1", ok, store.gets.Load())
			}
			if a.rebuilds != 1 {
				t.Errorf("rebuilds = %d, want 1 (at start)", a.rebuilds)
			}
		})
	}
}

// TestCreatedTogether: creates that arrive while another holds the lock are
// applied in one edit by the first to get it — an account before the
// folder it was created in too — and each returns with its own create in
// the snapshot, without a rebuild.
func TestCreatedTogether(t *testing.T) {
	ctx := t.Context()
	store, _ := nodeStores(t, "sqlite")
	pop, err := storagetest.Populate(ctx, store.DB(), 2, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := access.NewCatalog()
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthz(store, catalog)
	if err := a.reload(ctx); err != nil {
		t.Fatal(err)
	}
	cloud, _ := a.snap.Load().Node(pop.Folders[0])
	folder := &warden.Resource{ID: warden.NewID(warden.PrefixFolder), Type: warden.TypeFolder, ParentID: cloud.ParentID, Name: "f", Status: warden.StatusActive}
	rs := []*warden.Resource{folder}
	for i := range 8 {
		rs = append(rs, &warden.Resource{ID: warden.NewID(warden.PrefixServiceAccount), Type: warden.TypeServiceAccount,
			ParentID: folder.ID, Name: "robot" + string(rune('a'+i)), Status: warden.StatusActive})
	}
	if err := store.Update(ctx, func(tx warden.Tx) error {
		for _, r := range rs {
			if err := tx.CreateResource(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock() // the creates queue behind a holder of the lock
	errs := make(chan error, len(rs))
	for i := range rs {
		r := rs[len(rs)-1-i] // the accounts first, the folder last
		go func() {
			err := a.created(ctx, r)
			if _, ok := a.snap.Load().Node(r.ID); err == nil && !ok {
				err = errors.New(r.Name + " is not in the snapshot when created returns")
			}
			errs <- err
		}()
		for deadline := time.Now().Add(5 * time.Second); ; { // in this order
			a.pendingMu.Lock()
			n := len(a.pending)
			a.pendingMu.Unlock()
			if n == i+1 {
				break
			}
			if time.Now().After(deadline) {
				a.mu.Unlock()
				t.Fatalf("%d creates waiting, want %d", n, i+1)
			}
			runtime.Gosched()
		}
	}
	a.mu.Unlock()
	for range rs {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if a.rebuilds != 1 {
		t.Errorf("rebuilds = %d, want 1 (at start)", a.rebuilds)
	}
	if got, _, err := a.lists.page(warden.ResourceFilter{Type: warden.TypeServiceAccount, ParentID: folder.ID}); err != nil || len(got) != 8 {
		t.Errorf("the folder's list holds %d accounts (%v), want 8", len(got), err)
	}
}
