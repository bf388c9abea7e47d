package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

func pgxConfig(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx echoes the DSN, password included, in its parse errors.
		return nil, fmt.Errorf("postgres: invalid database URL")
	}
	if cfg.ConnectTimeout == 0 {
		// Without one, a server that drops packets holds wardend's start
		// (and every reconnection) forever instead of failing with a cause.
		cfg.ConnectTimeout = 10 * time.Second
	}
	// Each SQL text is prepared once per connection and then executed by
	// name (pgx's default, stated here because the write path relies on
	// it): sqlstore does not cache statements for this dialect.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	return cfg, nil
}
