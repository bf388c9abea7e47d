package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"warden/client"
)

// mutation holds the flags of create and update commands.
type mutation struct {
	cmd            *cobra.Command
	name           string
	description    string
	labels         labelsFlag
	organizationID string
}

func (m *mutation) createFlags(cmd *cobra.Command, what string) {
	m.cmd = cmd
	cmd.Flags().StringVar(&m.name, "name", "", "name of the "+what)
	cmd.Flags().StringVar(&m.description, "description", "", "description of the "+what)
	cmd.Flags().Var(&m.labels, "labels", "labels, as key=value pairs separated by commas")
}

func (m *mutation) updateFlags(cmd *cobra.Command) {
	m.cmd = cmd
	cmd.Flags().StringVar(&m.name, "new-name", "", "new name")
	cmd.Flags().StringVar(&m.description, "description", "", "new description (\"\" clears it)")
	cmd.Flags().Var(&m.labels, "labels", "new labels, replacing all, as key=value pairs separated by commas (\"\" removes all)")
}

// takeName accepts the name of a new resource as an argument or --name.
func (m *mutation) takeName(args []string) error {
	if len(args) == 0 {
		return nil // the server says that a name is required, if it is
	}
	if m.name != "" {
		return errors.New("give the name as an argument or with --name, not both")
	}
	m.name = args[0]
	return nil
}

// mask names the fields an update changes: those whose flags were given.
func (m *mutation) mask() (*fieldmaskpb.FieldMask, error) {
	var paths []string
	for _, f := range []struct{ flag, field string }{{"new-name", "name"}, {"description", "description"}, {"labels", "labels"}} {
		if m.cmd.Flags().Changed(f.flag) {
			paths = append(paths, f.field)
		}
	}
	if len(paths) == 0 {
		return nil, errors.New("nothing to update: give --new-name, --description or --labels")
	}
	return &fieldmaskpb.FieldMask{Paths: paths}, nil
}

// labelsFlag is a --labels flag: key=value pairs separated by commas; an
// empty value means no labels.
type labelsFlag struct {
	m map[string]string
}

func (l *labelsFlag) String() string { return formatLabels(l.m) }
func (l *labelsFlag) Type() string   { return "k=v,..." }

func (l *labelsFlag) Set(s string) error {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("label %q is not key=value", kv)
		}
		m[k] = v
	}
	l.m = m
	return nil
}

// targetCommand is a command acting on one resource, named by an ID or name
// argument, --id or --name.
func targetCommand[T any](a *app, what string, find func(context.Context, *client.Client, *target) (T, error), verb, short, example string, do func(context.Context, *client.Client, T) error) *cobra.Command {
	t := &target{what: what}
	cmd := &cobra.Command{
		Use:     verb + " [ID|NAME]",
		Short:   short,
		Example: example,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := t.parse(args); err != nil {
				return err
			}
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			r, err := find(cmd.Context(), c, t)
			if err != nil {
				return err
			}
			return do(cmd.Context(), c, r)
		},
	}
	t.flags(cmd)
	return cmd
}
