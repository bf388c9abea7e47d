package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"warden/keyfile"
)

// configFile is the CLI's config: named profiles of settings, one active,
// as in yc.
type configFile struct {
	Current  string              `yaml:"current,omitempty"`
	Profiles map[string]*profile `yaml:"profiles,omitempty"`

	path string
}

// profile is one set of settings.
type profile struct {
	Endpoint string `yaml:"endpoint,omitempty"`
	TLS      bool   `yaml:"tls,omitempty"`
	Token    string `yaml:"token,omitempty"`
	IAMToken string `yaml:"iam-token,omitempty"`
	// ServiceAccountKey is the absolute path of a key file.
	ServiceAccountKey string `yaml:"service-account-key,omitempty"`
	CloudID           string `yaml:"cloud-id,omitempty"`
	FolderID          string `yaml:"folder-id,omitempty"`
}

const defaultProfile = "default"

// configKey is a setting `warden config set` knows.
type configKey struct {
	name, help string
	secret     bool
	get        func(p *profile) string
	set        func(p *profile, v string) error
}

func stringKey(name, help string, secret bool, field func(p *profile) *string) configKey {
	return configKey{name: name, help: help, secret: secret,
		get: func(p *profile) string { return *field(p) },
		set: func(p *profile, v string) error { *field(p) = strings.TrimSpace(v); return nil },
	}
}

var configKeys = []configKey{
	stringKey("endpoint", "Warden API endpoint, host:port or https://host:port", false, func(p *profile) *string { return &p.Endpoint }),
	{name: "tls", help: "connect with TLS: true or false",
		get: func(p *profile) string {
			if !p.TLS {
				return ""
			}
			return "true"
		},
		set: func(p *profile, v string) (err error) {
			if p.TLS, err = strconv.ParseBool(v); err != nil {
				return fmt.Errorf("tls must be true or false, not %q", v)
			}
			return nil
		}},
	stringKey("token", "OAuth token (from `warden login`)", true, func(p *profile) *string { return &p.Token }),
	stringKey("iam-token", "IAM token; used instead of token and service-account-key while set", true, func(p *profile) *string { return &p.IAMToken }),
	{name: "service-account-key", help: "service account key file (from `warden iam key create --output`); used instead of token while set",
		get: func(p *profile) string { return p.ServiceAccountKey },
		set: setServiceAccountKey},
	stringKey("cloud-id", "default cloud", false, func(p *profile) *string { return &p.CloudID }),
	stringKey("folder-id", "default folder", false, func(p *profile) *string { return &p.FolderID }),
}

// setServiceAccountKey keeps the absolute path of a key file, so that it
// is found from any directory, after checking that it is a usable key
// file. The file itself stays where it is.
func setServiceAccountKey(p *profile, v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		p.ServiceAccountKey = ""
		return nil
	}
	path, err := filepath.Abs(v)
	if err != nil {
		return fmt.Errorf("service-account-key: %w", err)
	}
	if _, err := keyfile.ReadFile(path); err != nil {
		return fmt.Errorf("service-account-key: %w", err)
	}
	p.ServiceAccountKey = path
	return nil
}

func lookupKey(name string) (configKey, error) {
	for _, k := range configKeys {
		if k.name == name {
			return k, nil
		}
	}
	names := make([]string, len(configKeys))
	for i, k := range configKeys {
		names[i] = k.name
	}
	return configKey{}, fmt.Errorf("unknown config key %q: known keys are %s", name, strings.Join(names, ", "))
}

// configPath is where the config file lives: --config, WARDEN_CONFIG,
// $XDG_CONFIG_HOME/warden/config.yaml or ~/.config/warden/config.yaml.
func (a *app) configPath() (string, error) {
	if a.flags.configPath != "" {
		return a.flags.configPath, nil
	}
	if v := a.env.getenv(envConfig); v != "" {
		return v, nil
	}
	if dir := a.env.getenv("XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "warden", "config.yaml"), nil
	}
	if home := a.env.getenv("HOME"); home != "" {
		return filepath.Join(home, ".config", "warden", "config.yaml"), nil
	}
	return "", errors.New("cannot locate the config file: set HOME, XDG_CONFIG_HOME or " + envConfig + ", or pass --config")
}

// config loads the config file once; a missing file is an empty config.
func (a *app) config() (*configFile, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	path, err := a.configPath()
	if err != nil {
		return nil, err
	}
	cfg := &configFile{path: path}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read config: %w", err)
	default:
		if err := yaml.Unmarshal(data, cfg); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if cfg.Profiles == nil {
		cfg.Profiles = map[string]*profile{}
	}
	for name, p := range cfg.Profiles {
		if p == nil {
			cfg.Profiles[name] = &profile{}
		}
	}
	a.cfg = cfg
	return cfg, nil
}

// activeName is the name of the active profile.
func (c *configFile) activeName() string {
	if c.Current != "" {
		return c.Current
	}
	return defaultProfile
}

// profileName is the profile this run uses: --profile, WARDEN_PROFILE, or
// the active one.
func (a *app) profileName() (string, error) {
	cfg, err := a.config()
	if err != nil {
		return "", err
	}
	if a.flags.profile != "" {
		return a.flags.profile, nil
	}
	return cfg.activeName(), nil
}

// profile returns the profile this run uses. The default profile exists
// implicitly until the first save; any other must have been created.
func (a *app) profile() (*profile, string, error) {
	name, err := a.profileName()
	if err != nil {
		return nil, "", err
	}
	if p := a.cfg.Profiles[name]; p != nil {
		return p, name, nil
	}
	if name == defaultProfile && len(a.cfg.Profiles) == 0 {
		p := &profile{}
		a.cfg.Profiles[name] = p
		return p, name, nil
	}
	return nil, "", fmt.Errorf("profile %q does not exist: create it with `warden config profile create %s`", name, name)
}

// save writes the config file, readable by its owner only: it holds tokens.
func (c *configFile) save() error {
	if c.Current == "" {
		c.Current = defaultProfile
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("save config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

var profileNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

func (c *configFile) profileNames() []string {
	names := make([]string, 0, len(c.Profiles))
	for name := range c.Profiles {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// redact shows enough of a token to tell tokens apart.
func redact(s string) string {
	if len(s) <= 12 {
		return "****"
	}
	return s[:8] + "****"
}
