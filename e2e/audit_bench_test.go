package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"warden/api/accesspb"
	"warden/server"
)

// BenchmarkAccessAuthorizeDataEvents is BenchmarkAccessAuthorizeLoopback's
// gRPC call on two wardend in one run: one with data events off (the
// default), one recording every decision (--audit-data-services '*').
// The runs alternate so that a machine shared with other work disturbs
// both alike. "dropped" is how many events the full buffer dropped.
func BenchmarkAccessAuthorizeDataEvents(b *testing.B) {
	type target struct {
		n    *node
		call func() error
	}
	targets := map[string]target{}
	for _, mode := range []string{"off", "on"} {
		n := start(b, b.TempDir(), "", func(c *server.Config) {
			c.Logger = slog.New(slog.DiscardHandler)
			if mode == "on" {
				c.Audit.DataServices = []string{"*"}
			}
		})
		w := newBenchWorld(b, n)
		w.bind(b, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)
		client := accesspb.NewAccessServiceClient(sdkConn(b, n.addr))
		v, _ := structpb.NewList([]any{"Bearer " + w.robotToken})
		req := &accesspb.AuthorizeRequest{
			Request: &accesspb.Request{Method: "GET", Path: "/", Service: "postbox", Headers: map[string]*structpb.ListValue{"authorization": v}},
			Checks:  []*accesspb.Check{{Permission: "iam.serviceAccounts.list", Resource: &accesspb.Resource{Id: w.folderA}}},
		}
		targets[mode] = target{n: n, call: func() error {
			resp, err := client.Authorize(context.Background(), req)
			if err == nil && !resp.Results[0].Allowed {
				err = fmt.Errorf("denied")
			}
			return err
		}}
	}
	for _, conc := range []int{1, 32} {
		for round := range 2 {
			for _, mode := range []string{"off", "on"} {
				tg := targets[mode]
				b.Run(fmt.Sprintf("c%d/%s/%d", conc, mode, round), func(b *testing.B) {
					w := tg.n.m.Service().AuditWriter()
					dropped, written := w.Counts()
					loadRun(b, conc, tg.call)
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					w.Flush(ctx)
					d, wr := w.Counts()
					b.ReportMetric(float64(d-dropped), "dropped")
					b.ReportMetric(float64(wr-written), "events")
				})
			}
		}
	}
}
