package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"

	"warden"
	"warden/audit"
	"warden/storage/postgres"
	"warden/storage/sqlite"
	"warden/token"
)

// BenchmarkLoginAudit measures what the audit trail adds to a password
// login: the login's write transaction with its event and without, in one
// run, and the whole login (dominated by argon2id) for scale.
func BenchmarkLoginAudit(b *testing.B) {
	store, err := sqlite.Open(context.Background(), b.TempDir()+"/w.db")
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	s, err := New(Config{Store: store, Sealer: mustSealer(b)})
	if err != nil {
		b.Fatal(err)
	}
	boot, err := s.Start(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	ctx := WithSubject(context.Background(), SubjectOf(token.SubjectUserAccount, boot.AdminID))
	if err := s.SetPassword(ctx, boot.AdminID, "", testPassword); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		off  bool
	}{{"audit", false}, {"no-audit", true}} {
		// The login's write: its OAuth token and, with the trail, its
		// event, in one transaction. The password check before it
		// (argon2id, 64 MiB) is the same either way and dwarfs both.
		b.Run("write/"+mode.name, func(b *testing.B) {
			s.audit.off = mode.off
			b.ReportAllocs()
			for b.Loop() {
				err := s.mutate(ctx, func(tx warden.Tx, ch *auditEdit) error {
					ch.on(ctx, tx, boot.AdminID)
					_, err := s.newOAuthToken(ctx, tx, boot.AdminID, "login")
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The whole login, with the trail and without, alternating.
	for _, mode := range []struct {
		name string
		off  bool
	}{{"audit", false}, {"no-audit", true}, {"audit", false}, {"no-audit", true}} {
		b.Run("login/"+mode.name, func(b *testing.B) {
			s.audit.off = mode.off
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Login(context.Background(), LoginRequest{Login: "admin", Password: testPassword}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	s.audit.off = false
}

// BenchmarkCreateAudit measures what the audit trail costs a service-account
// create: 16 goroutines create into one folder through the service (no
// transport), with the trail and without, alternating in one run, on each
// backend (PostgreSQL when WARDEN_TEST_POSTGRES is set). cpu-µs/create is
// this process's CPU (not PostgreSQL's).
func BenchmarkCreateAudit(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			var store warden.Store
			var err error
			if backend == "sqlite" {
				store, err = sqlite.Open(context.Background(), b.TempDir()+"/w.db")
			} else {
				store, err = postgres.Open(context.Background(), freshPostgres(b))
			}
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			s, err := New(Config{Store: store, Sealer: mustSealer(b)})
			if err != nil {
				b.Fatal(err)
			}
			boot, err := s.Start(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go s.Run(ctx)
			admin := WithSubject(context.Background(), SubjectOf(token.SubjectUserAccount, boot.AdminID))
			var next atomic.Int64
			for round := range 3 {
				for _, mode := range []struct {
					name string
					off  bool
				}{{"audit", false}, {"no-audit", true}} {
					b.Run(fmt.Sprintf("%s/%d", mode.name, round), func(b *testing.B) {
						s.audit.off = mode.off
						defer func() { s.audit.off = false }()
						b.ReportAllocs()
						var work atomic.Int64
						began, cpu := time.Now(), processCPU()
						var wg sync.WaitGroup
						for range 16 {
							wg.Go(func() {
								for work.Add(1) <= int64(b.N) {
									call := &audit.Call{Method: "/yandex.cloud.iam.v1.ServiceAccountService/Create", RequestID: "bench"}
									req := &iam.CreateServiceAccountRequest{FolderId: boot.FolderID, Name: fmt.Sprintf("bench-%d", next.Add(1))}
									if _, err := s.ServiceAccounts().Create(audit.WithCall(admin, call), req); err != nil {
										b.Error(err)
										return
									}
								}
							})
						}
						wg.Wait()
						b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "creates/s")
						b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/create")
					})
				}
			}
		})
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkAuditDecision is the whole cost of one data event: queueing it
// on the request's path (AuditDecision) and writing it (the writer, the
// store's commit), as this process's CPU per event once all are written
// (cpu-µs/event), and the request's share alone (hot-ns/event). Set
// against the CPU of a request without data events it is the share data
// events add (docs/PERFORMANCE.md).
func BenchmarkAuditDecision(b *testing.B) {
	store, err := sqlite.Open(context.Background(), b.TempDir()+"/w.db")
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	s, err := New(Config{Store: store, Sealer: mustSealer(b), Audit: AuditConfig{DataServices: []string{"*"}}})
	if err != nil {
		b.Fatal(err)
	}
	boot, err := s.Start(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	p := SubjectOf(token.SubjectServiceAccount, boot.AdminID)
	p.Credential = "iamToken"
	d := Decision{Method: "/warden.access.v1.AccessService/Authorize", Service: "postbox", Principal: p, Permission: "iam.serviceAccounts.list",
		ResourceID: boot.FolderID, Allowed: true, ClientAddress: "203.0.113.7"}
	// Each request has its ID (of the form Warden gives them).
	calls := make([]context.Context, 4096)
	for i := range calls {
		id := make([]byte, 16)
		rand.Read(id)
		calls[i] = audit.WithCall(context.Background(), &audit.Call{Method: d.Method, RequestID: hex.EncodeToString(id), RemoteAddress: "127.0.0.1:53412"})
	}
	w := s.AuditWriter()
	dropped, _ := w.Counts()
	b.ReportAllocs()
	flush, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	cpu := processCPU()
	var hot time.Duration
	// The caller waits for the writer after each batch's worth (the
	// writer's batch, 4096): a caller faster than the store commits would
	// fill the buffer, and the events dropped would make the others look
	// cheaper than they are.
	const batch = 4096
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		s.AuditDecision(calls[i%len(calls)], d)
		if i%batch == batch-1 || i == b.N-1 {
			hot += time.Since(start)
			if err := w.Flush(flush); err != nil {
				b.Fatal(err)
			}
			start = time.Now()
		}
	}
	b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/1e3/float64(b.N), "cpu-µs/event")
	b.ReportMetric(float64(hot.Nanoseconds())/float64(b.N), "hot-ns/event")
	d2, _ := w.Counts()
	b.ReportMetric(float64(d2-dropped), "dropped")
}
