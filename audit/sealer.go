package audit

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"warden"
)

// Sealer seals the records a store leaves unsealed at their commit
// (PostgreSQL: so that writers do not queue on the chain's head), shortly
// after: when told of one (Kick), after a short pause that gathers the
// records committed meanwhile, and every second in case another process
// left some (it stopped before sealing them). Every wardend on a database
// runs one; they take turns on the head's lock, each for one short
// transaction.
type Sealer struct {
	chain *Chain
	store warden.Store
	log   *slog.Logger
	kick  chan struct{}
	// delay is the pause after a Kick, which gathers the records of the
	// commits that follow it into one seal.
	delay time.Duration
}

// NewSealer returns a Sealer; call Run to start it.
func NewSealer(chain *Chain, store warden.Store, log *slog.Logger) (*Sealer, error) {
	if chain == nil || store == nil || log == nil {
		return nil, errors.New("audit: a sealer needs a chain, a store and a logger")
	}
	return &Sealer{chain: chain, store: store, log: log, kick: make(chan struct{}, 1), delay: 20 * time.Millisecond}, nil
}

// Kick tells the sealer that a record was left unsealed; it never blocks.
func (s *Sealer) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run seals until ctx ends.
func (s *Sealer) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	pause := time.NewTimer(0)
	<-pause.C
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
			pause.Reset(s.delay)
			select {
			case <-ctx.Done():
				return
			case <-pause.C:
			}
		case <-tick.C:
			if !s.unsealed(ctx) {
				continue
			}
		}
		if _, err := s.chain.SealPending(ctx, s.store); err != nil && ctx.Err() == nil {
			s.log.Warn("audit: seal events", "err", err)
		}
	}
}

// unsealed reports whether the store holds records not sealed yet, with a
// read: most ticks find none, and need not write.
func (s *Sealer) unsealed(ctx context.Context) bool {
	var head warden.AuditHead
	err := s.store.View(ctx, func(tx warden.Tx) (err error) {
		head, err = tx.AuditHead(ctx)
		return err
	})
	return err == nil && head.Unsealed > 0
}
