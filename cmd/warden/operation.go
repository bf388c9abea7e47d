package main

import (
	"github.com/spf13/cobra"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
)

func (a *app) operationCommand() *cobra.Command {
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show an operation",
		Long: `Show an operation: every change (create, update, delete, …) is recorded
as one, with its metadata and its result.`,
		Example: `  warden operation get op1example0000000000
  warden operation get op1example0000000000 --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			op, err := c.Operations.Get(cmd.Context(), &operation.GetOperationRequest{OperationId: args[0]})
			if err != nil {
				return err
			}
			return a.printOne(op)
		},
	}
	return group("operation", "Show operations", `
Show operations: the records of changes, which every mutation returns.`, []string{"operations"}, get)
}
