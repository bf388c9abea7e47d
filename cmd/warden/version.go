package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildVersion is the module version and VCS revision the binary was built
// from, as the Go toolchain recorded them.
func buildVersion() string {
	version, revision, modified := "(devel)", "", false
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if revision != "" {
		version += " " + revision
		if modified {
			version += "-dirty"
		}
	}
	return version
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the CLI's version",
		Example: "  warden version\n  warden version --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fields := []field{{"version", buildVersion()}, {"go", runtime.Version()}, {"platform", runtime.GOOS + "/" + runtime.GOARCH}}
			if a.flags.format == "text" {
				_, err := fmt.Fprintf(a.env.Stdout, "warden %s (%s, %s)\n", fields[0].value, fields[1].value, fields[2].value)
				return err
			}
			return a.printJSON(objectJSON(fields))
		},
	}
}
