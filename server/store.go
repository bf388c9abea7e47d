package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"warden"
	"warden/secret"
	"warden/service"
	"warden/storage/postgres"
	"warden/storage/sqlite"
	"warden/storage/sqlstore"
)

// openStore opens the configured database and the master key that seals its
// secrets. Only a first start — no SQLite file at all, or a PostgreSQL
// database never bootstrapped — may create the data dir, the master key and
// the database, and only when create is set. Anything else missing or
// damaged is refused with its cause before a byte is written, so that an
// empty or corrupt file is never mistaken for a first start that would
// overwrite the admin's token, and a lost master key is never replaced by
// one that cannot open the database's secrets.
func openStore(ctx context.Context, cfg Config, create bool) (warden.Store, *secret.Sealer, error) {
	key, err := readMasterKey(cfg)
	if err != nil {
		return nil, nil, err
	}
	path, dsn, err := databaseOf(cfg)
	if err != nil {
		return nil, nil, err
	}
	var store *sqlstore.Store
	if path != "" {
		store, key, err = openSQLite(ctx, cfg, path, key, create)
	} else {
		store, key, err = openPostgres(ctx, cfg, dsn, key, create)
	}
	if err != nil {
		return nil, nil, err
	}
	sealer, err := secret.NewSealer(key)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, sealer, nil
}

// openSQLite inspects an existing file read-only before opening it for
// writing: a refused file stays byte for byte as it was.
func openSQLite(ctx context.Context, cfg Config, path string, key []byte, create bool) (*sqlstore.Store, []byte, error) {
	existing, err := sqlite.Inspect(ctx, path)
	fresh := errors.Is(err, fs.ErrNotExist)
	if err != nil && !fresh {
		return nil, nil, err
	}
	if !fresh {
		ok, err := service.Bootstrapped(ctx, existing)
		existing.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("server: %s: %w", path, err)
		}
		if !ok {
			return nil, nil, fmt.Errorf("server: %s holds a Warden database that was never bootstrapped (a first start was interrupted): move it away to start afresh", path)
		}
	}
	if key, err = masterKeyFor(cfg, key, fresh, create, path); err != nil {
		return nil, nil, err
	}
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	return store, key, nil
}

// openPostgres connects and migrates first: whether the database is new is
// known only from inside it, and several wardend may be starting on it at
// once.
func openPostgres(ctx context.Context, cfg Config, dsn string, key []byte, create bool) (*sqlstore.Store, []byte, error) {
	store, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	ok, err := service.Bootstrapped(ctx, store)
	if err == nil {
		key, err = masterKeyFor(cfg, key, !ok, create, "the PostgreSQL database")
	}
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, key, nil
}

// masterKeyFor returns key, or on a first start makes the data dir (for
// the SQLite file, the master key and the admin's token) and a new key when
// none was given; what is the database, for errors.
func masterKeyFor(cfg Config, key []byte, fresh, create bool, what string) ([]byte, error) {
	switch {
	case fresh && !create:
		return nil, fmt.Errorf("server: no Warden database in %s yet: start wardend once to create one", what)
	case !fresh && key == nil:
		return nil, fmt.Errorf("server: no master key at %s, but %s was created with one: give that key with --master-key-file or WARDEN_MASTER_KEY (a new key could not open its secrets)", masterKeyPath(cfg), what)
	case !fresh:
		return key, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	if key != nil {
		return key, nil
	}
	return createMasterKey(cfg)
}

// databaseOf returns the SQLite path or the PostgreSQL DSN that cfg selects.
func databaseOf(cfg Config) (path, dsn string, err error) {
	switch {
	case cfg.Database == "":
		return filepath.Join(cfg.DataDir, "warden.db"), "", nil
	case strings.HasPrefix(cfg.Database, "postgres://"), strings.HasPrefix(cfg.Database, "postgresql://"):
		return "", cfg.Database, nil
	case strings.HasPrefix(cfg.Database, "sqlite://"), strings.HasPrefix(cfg.Database, "file:"):
		return strings.TrimPrefix(strings.TrimPrefix(cfg.Database, "sqlite://"), "file:"), "", nil
	}
	return "", "", errors.New("server: --database must be postgres://… or sqlite://PATH")
}

func masterKeyPath(cfg Config) string {
	if cfg.MasterKeyFile != "" {
		return cfg.MasterKeyFile
	}
	return filepath.Join(cfg.DataDir, "master.key")
}

// readMasterKey returns the configured master key, or nil when it is the
// default file in the data dir and that file does not exist yet.
func readMasterKey(cfg Config) ([]byte, error) {
	if env := os.Getenv("WARDEN_MASTER_KEY"); env != "" && cfg.MasterKeyFile == "" {
		return decodeMasterKey(env)
	}
	b, err := os.ReadFile(masterKeyPath(cfg))
	if errors.Is(err, fs.ErrNotExist) && cfg.MasterKeyFile == "" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("server: read master key: %w", err)
	}
	return decodeMasterKey(string(b))
}

// createMasterKey writes a new master key to the default file, or reads the
// one another wardend starting at the same time wrote first.
func createMasterKey(cfg Config) ([]byte, error) {
	path := masterKeyPath(cfg)
	key := base64.StdEncoding.EncodeToString(secret.RandomBytes(secret.MasterKeySize))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readMasterKey(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("server: create master key: %w", err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("server: write master key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("server: write master key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("server: write master key: %w", err)
	}
	return decodeMasterKey(key)
}

func decodeMasterKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != secret.MasterKeySize {
		return nil, fmt.Errorf("server: the master key must be %d bytes in base64", secret.MasterKeySize)
	}
	return b, nil
}

// validateAdminPassword checks WARDEN_ADMIN_PASSWORD ("" is none).
func validateAdminPassword(p string) error {
	if p == "" {
		return nil
	}
	if err := service.ValidatePassword(p); err != nil {
		return fmt.Errorf("server: WARDEN_ADMIN_PASSWORD: %s", operatorText(err))
	}
	return nil
}

// operatorText is err for an operator's terminal: a *warden.Error's message
// without its code when it has no internal cause, everything otherwise.
func operatorText(err error) string {
	var e *warden.Error
	if errors.As(err, &e) && e.Cause == nil {
		return e.Message
	}
	return err.Error()
}
