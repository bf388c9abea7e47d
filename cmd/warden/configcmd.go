package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) configCommand() *cobra.Command {
	var keyHelp strings.Builder
	for _, k := range configKeys {
		fmt.Fprintf(&keyHelp, "  %-20s %s\n", k.name, k.help)
	}
	set := &cobra.Command{
		Use:   "set KEY VALUE",
		Short: "Set a setting of the profile",
		Long:  "Set a setting of the active profile (or of --profile).\n\nKeys:\n" + keyHelp.String(),
		Example: `  warden config set endpoint 127.0.0.1:8080
  warden config set token "$(cat warden-data/admin-oauth-token)"
  warden config set service-account-key key.json
  warden config set folder-id b1fexample0000000000
  warden --profile prod config set endpoint https://iam.example.com:443`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := lookupKey(args[0])
			if err != nil {
				return err
			}
			p, _, err := a.profile()
			if err != nil {
				return err
			}
			if err := k.set(p, args[1]); err != nil {
				return err
			}
			return a.cfg.save()
		},
	}
	get := &cobra.Command{
		Use:   "get KEY",
		Short: "Print a setting of the profile",
		Long:  "Print a setting of the active profile (or of --profile); tokens are printed in full.\n\nKeys:\n" + keyHelp.String(),
		Example: `  warden config get endpoint
  curl -H "Authorization: Bearer $(warden iam create-token)" ...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := lookupKey(args[0])
			if err != nil {
				return err
			}
			p, name, err := a.profile()
			if err != nil {
				return err
			}
			v := k.get(p)
			if v == "" {
				return fmt.Errorf("%s is not set in profile %q", k.name, name)
			}
			fmt.Fprintln(a.env.Stdout, v)
			return nil
		},
	}
	unset := &cobra.Command{
		Use:     "unset KEY",
		Short:   "Remove a setting from the profile",
		Example: `  warden config unset iam-token`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := lookupKey(args[0])
			if err != nil {
				return err
			}
			p, _, err := a.profile()
			if err != nil {
				return err
			}
			if k.name == "tls" {
				p.TLS = false
			} else if err := k.set(p, ""); err != nil {
				return err
			}
			return a.cfg.save()
		},
	}
	list := &cobra.Command{
		Use:     "list",
		Short:   "Print the settings of the profile",
		Long:    "Print the settings of the active profile (or of --profile). Tokens are shortened; `warden config get token` prints one in full.",
		Example: `  warden config list`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, _, err := a.profile()
			if err != nil {
				return err
			}
			var fields []field
			for _, k := range configKeys {
				v := k.get(p)
				if v == "" {
					continue
				}
				if k.secret {
					v = redact(v)
				}
				fields = append(fields, field{k.name, v})
			}
			if a.flags.format == "text" {
				for _, f := range fields {
					fmt.Fprintf(a.env.Stdout, "%s: %s\n", f.name, f.value)
				}
				return nil
			}
			return a.printJSON(objectJSON(fields))
		},
	}
	return group("config", "Manage the CLI's settings and profiles", `
Manage the CLI's settings, kept in profiles of the config file
($XDG_CONFIG_HOME/warden/config.yaml or ~/.config/warden/config.yaml, or
--config / WARDEN_CONFIG). One profile is active; --profile picks another for
one command.`, nil, set, get, unset, list, a.profileCommand())
}

func (a *app) profileCommand() *cobra.Command {
	create := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a profile and make it active",
		Example: `  warden config profile create staging`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if !profileNamePattern.MatchString(name) {
				return fmt.Errorf("invalid profile name %q: use letters, digits, '.', '_' and '-'", name)
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			if cfg.Profiles[name] != nil {
				return fmt.Errorf("profile %q already exists", name)
			}
			if len(cfg.Profiles) == 0 && name != defaultProfile {
				// Keep the implicit default profile, which the user
				// may have been relying on.
				cfg.Profiles[defaultProfile] = &profile{}
			}
			cfg.Profiles[name] = &profile{}
			cfg.Current = name
			if err := cfg.save(); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "Profile %q created and activated\n", name)
			return nil
		},
	}
	activate := &cobra.Command{
		Use:     "activate NAME",
		Short:   "Make a profile the active one",
		Example: `  warden config profile activate default`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.existingProfile(args[0])
			if err != nil {
				return err
			}
			cfg.Current = args[0]
			if err := cfg.save(); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "Profile %q activated\n", args[0])
			return nil
		},
	}
	list := &cobra.Command{
		Use:     "list",
		Short:   "List profiles; the active one is marked ACTIVE",
		Example: `  warden config profile list`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			names := cfg.profileNames()
			if len(names) == 0 {
				names = []string{defaultProfile}
			}
			if a.flags.format != "text" {
				var buf bytes.Buffer
				buf.WriteByte('[')
				for i, name := range names {
					if i > 0 {
						buf.WriteByte(',')
					}
					fmt.Fprintf(&buf, `{"name":%s,"active":%t}`, quoteJSON(name), name == cfg.activeName())
				}
				buf.WriteByte(']')
				return a.printJSON(buf.Bytes())
			}
			for _, name := range names {
				if name == cfg.activeName() {
					fmt.Fprintf(a.env.Stdout, "%s ACTIVE\n", name)
				} else {
					fmt.Fprintln(a.env.Stdout, name)
				}
			}
			return nil
		},
	}
	del := &cobra.Command{
		Use:     "delete NAME",
		Short:   "Delete a profile (not the active one)",
		Example: `  warden config profile delete staging`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.existingProfile(args[0])
			if err != nil {
				return err
			}
			if args[0] == cfg.activeName() {
				return fmt.Errorf("profile %q is active: activate another one before deleting it", args[0])
			}
			delete(cfg.Profiles, args[0])
			if err := cfg.save(); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "Profile %q deleted\n", args[0])
			return nil
		},
	}
	return group("profile", "Manage profiles", `
Manage profiles: independent sets of settings (endpoint, credentials,
default cloud and folder), one of which is active.`, nil, create, activate, list, del)
}

func (a *app) existingProfile(name string) (*configFile, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	if name == defaultProfile && len(cfg.Profiles) == 0 {
		cfg.Profiles[name] = &profile{} // the implicit default profile
	}
	if cfg.Profiles[name] == nil {
		return nil, fmt.Errorf("profile %q does not exist", name)
	}
	return cfg, nil
}
