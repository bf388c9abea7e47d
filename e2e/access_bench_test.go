package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"warden/api/accesspb"
)

// BenchmarkAccessAuthorizeLoopback measures Authorize (one IAM-token
// credential, one permission on a folder) over gRPC and REST on loopback
// at concurrency 1 and 32, reporting requests/s and p50/p99 latency.
func BenchmarkAccessAuthorizeLoopback(b *testing.B) {
	n := startBench(b, backends(b)[0])
	w := newBenchWorld(b, n)
	w.bind(b, "/resource-manager/v1/folders/"+w.folderA, "ADD", "viewer", "serviceAccount", w.robot)
	body, _ := json.Marshal(map[string]any{
		"request": map[string]any{"method": "GET", "path": "/", "headers": map[string][]string{"Authorization": {"Bearer " + w.robotToken}}},
		"checks":  []any{map[string]any{"permission": "iam.serviceAccounts.list", "resource": map[string]string{"id": w.folderA}}},
	})
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	rest := func() error {
		resp, err := httpClient.Post("http://"+n.addr+"/access/v1:authorize", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	grpcClient := accesspb.NewAccessServiceClient(sdkConn(b, n.addr))
	v, _ := structpb.NewList([]any{"Bearer " + w.robotToken})
	greq := &accesspb.AuthorizeRequest{
		Request: &accesspb.Request{Method: "GET", Path: "/", Headers: map[string]*structpb.ListValue{"authorization": v}},
		Checks:  []*accesspb.Check{{Permission: "iam.serviceAccounts.list", Resource: &accesspb.Resource{Id: w.folderA}}},
	}
	grpcCall := func() error {
		resp, err := grpcClient.Authorize(context.Background(), greq)
		if err == nil && !resp.Results[0].Allowed {
			err = fmt.Errorf("denied")
		}
		return err
	}
	for _, tr := range []struct {
		name string
		call func() error
	}{{"grpc", grpcCall}, {"rest", rest}} {
		for _, conc := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/c%d", tr.name, conc), func(b *testing.B) {
				loadRun(b, conc, tr.call)
			})
		}
	}
}

// loadRun spreads b.N calls over conc goroutines and reports throughput and
// latency percentiles.
func loadRun(b *testing.B, conc int, call func() error) {
	lat := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < b.N; i += conc {
				t0 := time.Now()
				if err := call(); err != nil {
					b.Error(err)
					return
				}
				lat[g] = append(lat[g], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkServiceAccountListREST measures GET /iam/v1/serviceAccounts of
// a folder holding ten accounts over loopback at concurrency 32 (the
// issue's list scenario; bench/ runs it against a limit server).
func BenchmarkServiceAccountListREST(b *testing.B) {
	n := startBench(b, backends(b)[0])
	w := newBenchWorld(b, n)
	for i := range 9 {
		if r := n.rest("POST", "/iam/v1/serviceAccounts", w.admin, map[string]any{"folderId": w.folderB, "name": fmt.Sprintf("robot-%d", i)}); r.status != 200 {
			b.Fatalf("create: %d %s", r.status, r.raw)
		}
	}
	w.bind(b, "/resource-manager/v1/folders/"+w.folderB, "ADD", "viewer", "serviceAccount", w.robot)
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := "http://" + n.addr + "/iam/v1/serviceAccounts?folderId=" + w.folderB
	call := func() error {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+w.robotToken)
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	b.Run("c32", func(b *testing.B) { loadRun(b, 32, call) })
}
