// Command warden is the command-line client of Warden, shaped like Yandex
// Cloud's yc: `warden iam service-account create --name my-robot`,
// `warden resource-manager folder list`, `--format text|json|yaml`. It talks
// to wardend only through the public API.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv})
	stop()
	os.Exit(code)
}
