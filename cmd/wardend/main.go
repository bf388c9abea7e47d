// Command wardend is the Warden server: Yandex Cloud IAM compatible gRPC and
// REST, health and metrics on one port. With no flags it keeps its data in
// ./warden-data (SQLite) and listens on 127.0.0.1:8080.
//
// `wardend admin issue-token` is the way back in when the admin's
// credentials are lost: see admin.go.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"warden/api/forwardauth"
	"warden/secret"
	"warden/server"
	"warden/service"
	"warden/token"
)

func main() {
	run, args := serve, os.Args[1:]
	if len(args) > 0 && args[0] == "admin" {
		run, args = admin, args[1:]
	}
	if err := run(args); err != nil {
		// One line: an operator (or a supervisor's log) sees the cause at once.
		fmt.Fprintln(os.Stderr, "wardend:", strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
}

// env returns the WARDEN_* environment value of a flag, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// storageFlags say where the data and its master key are: wardend and its
// admin commands share them.
func storageFlags(fs *flag.FlagSet, cfg *server.Config) {
	fs.StringVar(&cfg.DataDir, "data-dir", env("WARDEN_DATA_DIR", "./warden-data"), "directory for the SQLite database, master key and bootstrap token (env WARDEN_DATA_DIR)")
	fs.StringVar(&cfg.Database, "database", env("WARDEN_DATABASE", ""), "database URL: empty for SQLite in the data dir, or postgres://… (env WARDEN_DATABASE)")
	fs.StringVar(&cfg.MasterKeyFile, "master-key-file", env("WARDEN_MASTER_KEY_FILE", ""), "file with the base64 master key sealing secrets at rest; default <data-dir>/master.key, created on first start (env WARDEN_MASTER_KEY_FILE, or the key itself in WARDEN_MASTER_KEY)")
}

func serve(args []string) error {
	var cfg server.Config
	var logLevel, logFormat string
	fs := flag.NewFlagSet("wardend", flag.ExitOnError)
	fs.StringVar(&cfg.Listen, "listen", env("WARDEN_LISTEN", "127.0.0.1:8080"), "address to serve gRPC, REST, health and metrics on (env WARDEN_LISTEN)")
	storageFlags(fs, &cfg)
	fs.StringVar(&cfg.TLSCert, "tls-cert", env("WARDEN_TLS_CERT", ""), "TLS certificate file; plaintext HTTP/1.1 and h2c without it (env WARDEN_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", env("WARDEN_TLS_KEY", ""), "TLS private key file (env WARDEN_TLS_KEY)")
	fs.StringVar(&cfg.PublicAddress, "public-address", env("WARDEN_PUBLIC_ADDRESS", ""), "host:port announced to SDKs by ApiEndpointService; default the listen address (env WARDEN_PUBLIC_ADDRESS)")
	var rolesFiles string
	fs.StringVar(&rolesFiles, "roles-file", env("WARDEN_ROLES_FILE", ""), "comma-separated JSON files of extra roles for your own services: {\"roles\": [{\"id\", \"permissions\", \"includes\"}]} (env WARDEN_ROLES_FILE)")
	fs.StringVar(&cfg.ProductsFile, "products-file", env("WARDEN_PRODUCTS_FILE", ""), "JSON file of the products (services) API keys can be bound to, replacing the built-in postbox, monaas, logaas, storage: {\"products\": [{\"name\", \"description\", \"endpoints\", \"scopes\"}]} (env WARDEN_PRODUCTS_FILE)")
	var oauthLifetime, maxHashes, keystoneLifetime, passwordMaxAge string
	fs.StringVar(&passwordMaxAge, "password-max-age", env("WARDEN_PASSWORD_MAX_AGE", "0"), "how long a user's password stays valid after it is set, as 90d or 2160h; an older one is refused at login with \"password expired\"; 0: forever; at most 730d (env WARDEN_PASSWORD_MAX_AGE)")
	fs.StringVar(&keystoneLifetime, "keystone-token-lifetime", env("WARDEN_KEYSTONE_TOKEN_LIFETIME", "24h"), "how long a Keystone token (POST /v3/auth/tokens) stays valid: 1m to 7d (env WARDEN_KEYSTONE_TOKEN_LIFETIME)")
	fs.StringVar(&cfg.KeystoneCatalogFile, "keystone-catalog-file", env("WARDEN_KEYSTONE_CATALOG_FILE", ""), "JSON file of the services Keystone's catalog lists besides Warden's identity: {\"services\": [{\"type\", \"name\", \"endpoints\": [{\"interface\", \"region\", \"url\"}]}]} (env WARDEN_KEYSTONE_CATALOG_FILE)")
	fs.StringVar(&oauthLifetime, "oauth-token-lifetime", env("WARDEN_OAUTH_TOKEN_LIFETIME", "30d"), "how long the OAuth token of a login stays valid: 1m to 365d, as 30d or 720h (env WARDEN_OAUTH_TOKEN_LIFETIME)")
	fs.StringVar(&maxHashes, "max-password-hashes", env("WARDEN_MAX_PASSWORD_HASHES", ""), "password hashes (argon2id, 64 MiB each) computed at once; default from the CPUs and memory; logins beyond it wait up to 1 s, then get 429 (env WARDEN_MAX_PASSWORD_HASHES)")
	var readTimeout, writeTimeout, maxConns string
	fs.StringVar(&readTimeout, "read-timeout", env("WARDEN_READ_TIMEOUT", "30s"), "longest time to read a request body, gRPC calls excepted (env WARDEN_READ_TIMEOUT)")
	fs.StringVar(&writeTimeout, "write-timeout", env("WARDEN_WRITE_TIMEOUT", "60s"), "longest time from a request's headers to the end of its response, gRPC calls excepted (env WARDEN_WRITE_TIMEOUT)")
	fs.StringVar(&maxConns, "max-connections", env("WARDEN_MAX_CONNECTIONS", "0"), "most client connections served at once; beyond it a few more are accepted for 5 s to answer /healthz and /readyz, the rest get 503 or are closed; 0: 10000, or fewer if ulimit -n requires (env WARDEN_MAX_CONNECTIONS)")
	var auditMaxSize, auditBackups, auditRetention, auditDataServices, auditDataCreds, auditBuffer string
	fs.StringVar(&cfg.Audit.File, "audit-log", env("WARDEN_AUDIT_LOG", ""), "file that receives every audit event as a JSON line (Yandex Audit Trails shape), besides the database (env WARDEN_AUDIT_LOG)")
	fs.StringVar(&auditMaxSize, "audit-log-max-size", env("WARDEN_AUDIT_LOG_MAX_SIZE", "100"), "MiB at which the --audit-log file is rotated to FILE.1 (env WARDEN_AUDIT_LOG_MAX_SIZE)")
	fs.StringVar(&auditBackups, "audit-log-backups", env("WARDEN_AUDIT_LOG_BACKUPS", "5"), "rotated --audit-log files kept (FILE.1 … FILE.N); 0 keeps none (env WARDEN_AUDIT_LOG_BACKUPS)")
	fs.BoolVar(&cfg.Audit.Stdout, "audit-stdout", env("WARDEN_AUDIT_STDOUT", "") == "true", "write every audit event as a JSON line to standard output (logs go to standard error) (env WARDEN_AUDIT_STDOUT=true)")
	fs.StringVar(&auditRetention, "audit-retention", env("WARDEN_AUDIT_RETENTION", "0"), "how long audit events stay in the database, as 365d or 8760h; a background job prunes older ones and records that it did; 0 keeps them forever (env WARDEN_AUDIT_RETENTION)")
	fs.StringVar(&auditDataServices, "audit-data-services", env("WARDEN_AUDIT_DATA_SERVICES", ""), "comma-separated resource services (postbox, …; * for all) whose access-service decisions are recorded as data events; off by default (env WARDEN_AUDIT_DATA_SERVICES)")
	fs.StringVar(&auditDataCreds, "audit-data-credentials", env("WARDEN_AUDIT_DATA_CREDENTIALS", ""), "comma-separated credential types (iamToken, apiKey, accessKey, keystoneToken; * for all) whose access-service decisions are recorded as data events (env WARDEN_AUDIT_DATA_CREDENTIALS)")
	fs.StringVar(&auditBuffer, "audit-buffer", env("WARDEN_AUDIT_BUFFER", "4096"), "authentication events waiting to be written (and four times as many data events); beyond it they are dropped, counted in warden_audit_events_dropped_total and logged (env WARDEN_AUDIT_BUFFER)")
	var trustedProxies string
	fs.StringVar(&cfg.ForwardAuthRoutes, "forward-auth-routes", env("WARDEN_FORWARD_AUTH_ROUTES", ""), "YAML or JSON route file of forward auth (/warden/v1/forwardAuth) and Envoy ext_authz: method + path → permission + resource; without it every forwarded request is denied (env WARDEN_FORWARD_AUTH_ROUTES)")
	fs.StringVar(&trustedProxies, "trusted-proxies", env("WARDEN_TRUSTED_PROXIES", ""), "comma-separated CIDRs of the proxies whose X-Forwarded-For and X-Real-IP forward auth and ext_authz believe; from others the connection's address is the client (env WARDEN_TRUSTED_PROXIES)")
	fs.StringVar(&logLevel, "log-level", env("WARDEN_LOG_LEVEL", "info"), "debug, info, warn or error (env WARDEN_LOG_LEVEL)")
	fs.StringVar(&logFormat, "log-format", env("WARDEN_LOG_FORMAT", "json"), "json or text (env WARDEN_LOG_FORMAT)")
	var gcMinHeap string
	fs.StringVar(&gcMinHeap, "gc-min-heap", env("WARDEN_GC_MIN_HEAP", "128"), "MiB the Go heap may reach before a garbage collection, however little is live: a small node then collects every few seconds instead of several times a second; a node with more than half of it live collects as Go does by default; 0 turns this off, and GOGC in the environment overrides it (env WARDEN_GC_MIN_HEAP)")
	var logFlush string
	fs.StringVar(&logFlush, "log-flush", env("WARDEN_LOG_FLUSH", "100ms"), "longest time a log line below warning level stays buffered (a crash loses at most this much of the request log); 0 writes every line at once (env WARDEN_LOG_FLUSH)")
	fs.Parse(args)
	cfg.AdminPassword = os.Getenv("WARDEN_ADMIN_PASSWORD")
	cfg.Banner = os.Stderr
	if rolesFiles != "" {
		cfg.RolesFiles = strings.Split(rolesFiles, ",")
	}

	var err error
	if cfg.ReadTimeout, err = time.ParseDuration(readTimeout); err != nil {
		return fmt.Errorf("--read-timeout: %w", err)
	}
	if cfg.WriteTimeout, err = time.ParseDuration(writeTimeout); err != nil {
		return fmt.Errorf("--write-timeout: %w", err)
	}
	if cfg.TrustedProxies, err = forwardauth.ParseTrustedProxies(trustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if cfg.MaxConnections, err = strconv.Atoi(maxConns); err != nil {
		return fmt.Errorf("--max-connections: %w", err)
	}
	if cfg.OAuthTokenLifetime, err = parseDays(oauthLifetime); err != nil || cfg.OAuthTokenLifetime < time.Minute || cfg.OAuthTokenLifetime > service.MaxOAuthTokenLifetime {
		return fmt.Errorf("--oauth-token-lifetime: want 1m to 365d, got %q", oauthLifetime)
	}
	if cfg.KeystoneTokenLifetime, err = parseDays(keystoneLifetime); err != nil || cfg.KeystoneTokenLifetime < time.Minute || cfg.KeystoneTokenLifetime > token.MaxKeystoneLifetime {
		return fmt.Errorf("--keystone-token-lifetime: want 1m to 7d, got %q", keystoneLifetime)
	}
	if cfg.PasswordMaxAge, err = parseDays(passwordMaxAge); err != nil || cfg.PasswordMaxAge < 0 || cfg.PasswordMaxAge > service.MaxPasswordMaxAge {
		return fmt.Errorf("--password-max-age: want 0 (never) to 730d, got %q", passwordMaxAge)
	}
	if err := auditFlags(&cfg.Audit, auditMaxSize, auditBackups, auditRetention, auditDataServices, auditDataCreds, auditBuffer); err != nil {
		return err
	}
	if maxHashes != "" {
		n, err := strconv.Atoi(maxHashes)
		if err != nil || n < 1 {
			return fmt.Errorf("--max-password-hashes: want a whole number of at least 1, got %q", maxHashes)
		}
		l, err := secret.NewPasswordLimiter(n, secret.DefaultPasswordWait)
		if err != nil {
			return err
		}
		secret.SetPasswordLimiter(l)
	}

	mib, err := strconv.ParseInt(gcMinHeap, 10, 64)
	if err != nil || mib < 0 || mib > 1<<20 {
		return fmt.Errorf("--gc-min-heap: want a whole number of MiB from 0 to 1048576, got %q", gcMinHeap)
	}
	defer server.TuneGC(mib << 20)()

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	flushEvery, err := time.ParseDuration(logFlush)
	if err != nil || flushEvery < 0 {
		return fmt.Errorf("--log-flush: want a duration such as 100ms, or 0, got %q", logFlush)
	}
	var logOut io.Writer = os.Stderr
	var logBuf *server.LogWriter
	if flushEvery > 0 {
		logBuf = server.NewLogWriter(os.Stderr, flushEvery)
		defer logBuf.Close()
		logOut = logBuf
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch logFormat {
	case "json":
		h = server.NewJSONHandler(logOut, opts) // slog's JSON, faster on the request line
	case "text":
		h = slog.NewTextHandler(logOut, opts)
	default:
		return fmt.Errorf("--log-format must be json or text")
	}
	cfg.Logger = slog.New(h)
	if logBuf != nil {
		cfg.Logger = server.NewBufferedLogger(h, logBuf)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	m, err := server.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Run(ctx)
}

// parseDays parses a Go duration, or a whole number of days as "30d".
func parseDays(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want 30d or 720h", s)
	}
	return d, nil
}

// auditFlags fills the audit configuration from its flags.
func auditFlags(c *server.AuditConfig, maxSize, backups, retention, dataServices, dataCreds, buffer string) error {
	mib, err := strconv.ParseInt(maxSize, 10, 64)
	if err != nil || mib < 1 {
		return fmt.Errorf("--audit-log-max-size: want a whole number of MiB, at least 1, got %q", maxSize)
	}
	c.MaxSize = mib << 20
	n, err := strconv.Atoi(backups)
	if err != nil || n < 0 {
		return fmt.Errorf("--audit-log-backups: want a whole number, at least 0, got %q", backups)
	}
	c.Backups = n
	if n == 0 {
		c.Backups = -1
	}
	if c.Retention, err = parseDays(retention); err != nil || c.Retention < 0 {
		return fmt.Errorf("--audit-retention: want a duration such as 365d or 0, got %q", retention)
	}
	if c.Retention > 0 && c.Retention < time.Hour {
		return fmt.Errorf("--audit-retention: at least 1h, got %q", retention)
	}
	if c.Buffer, err = strconv.Atoi(buffer); err != nil || c.Buffer < 1 {
		return fmt.Errorf("--audit-buffer: want a whole number, at least 1, got %q", buffer)
	}
	if dataServices != "" {
		c.DataServices = strings.Split(dataServices, ",")
	}
	if dataCreds != "" {
		c.DataCredentials = strings.Split(dataCreds, ",")
	}
	return nil
}
