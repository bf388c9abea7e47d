package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
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
// both alike. "dropped" is how many events the full buffer dropped;
// "cpu-µs/op" is the process's CPU per request, the writer's included.
func BenchmarkAccessAuthorizeDataEvents(b *testing.B) {
	type target struct {
		n      *node
		call   func() error
		inproc func() error
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
		body, _ := json.Marshal(map[string]any{
			"request": map[string]any{"method": "GET", "path": "/", "service": "postbox", "headers": map[string][]string{"Authorization": {"Bearer " + w.robotToken}}},
			"checks":  []any{map[string]any{"permission": "iam.serviceAccounts.list", "resource": map[string]string{"id": w.folderA}}},
		})
		h := n.m.Handler()
		inproc := func() error {
			r := httptest.NewRequest("POST", "/access/v1:authorize", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != 200 {
				return fmt.Errorf("status %d", rec.Code)
			}
			return nil
		}
		targets[mode] = target{n: n, inproc: inproc, call: func() error {
			resp, err := client.Authorize(context.Background(), req)
			if err == nil && !resp.Results[0].Allowed {
				err = fmt.Errorf("denied")
			}
			return err
		}}
	}
	for _, tr := range []string{"inproc", "grpc"} {
		for _, conc := range []int{1, 32} {
			for round := range 3 {
				for _, mode := range []string{"off", "on"} {
					tg := targets[mode]
					call := tg.call
					if tr == "inproc" {
						call = tg.inproc
					}
					b.Run(fmt.Sprintf("%s/c%d/%s/%d", tr, conc, mode, round), func(b *testing.B) {
						w := tg.n.m.Service().AuditWriter()
						dropped, written := w.Counts()
						cpu := processCPU()
						loadRun(b, conc, call)
						ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
						defer cancel()
						if err := w.Flush(ctx); err != nil {
							b.Fatal(err)
						}
						// The CPU of the whole process (both wardend, the
						// clients, the writer until it wrote what the run
						// queued) per request: what a shared machine skews
						// least.
						b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
						d, wr := w.Counts()
						b.ReportMetric(float64(d-dropped), "dropped")
						b.ReportMetric(float64(wr-written), "events")
					})
				}
			}
		}
	}
}
