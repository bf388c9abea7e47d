package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"
)

func pgxConfig(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx echoes the DSN, password included, in its parse errors.
		return nil, fmt.Errorf("postgres: invalid database URL")
	}
	return cfg, nil
}
