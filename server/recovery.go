package server

import (
	"context"
	"fmt"
	"log/slog"

	"warden"
	"warden/secret"
	"warden/service"
)

// IssueToken creates a new OAuth token for the user account whose ID or
// login is user, in the database that cfg names, without serving: the way
// back in when the admin's credentials are lost (`wardend admin
// issue-token`). It needs the database and its master key (DataDir,
// Database, MasterKeyFile as for Open) and creates neither: a database that
// was never bootstrapped, or a master key that does not open it, is refused.
// It returns the token and the account it is for.
func IssueToken(ctx context.Context, cfg Config, user string) (secret.String, warden.Resource, error) {
	if cfg.DataDir == "" {
		cfg.DataDir = "warden-data"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	store, sealer, err := openStore(ctx, cfg, false)
	if err != nil {
		return secret.String{}, warden.Resource{}, err
	}
	defer store.Close()
	svc, err := service.New(service.Config{Store: store, Sealer: sealer, Logger: cfg.Logger, Now: cfg.Now})
	if err != nil {
		return secret.String{}, warden.Resource{}, err
	}
	tok, account, err := svc.IssueRecoveryToken(ctx, user)
	if err != nil {
		return secret.String{}, warden.Resource{}, fmt.Errorf("server: %s", operatorText(err))
	}
	return tok, account, nil
}
