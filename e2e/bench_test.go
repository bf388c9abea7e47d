package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// BenchmarkServiceAccountCreateREST measures POST /iam/v1/serviceAccounts on
// loopback, one transaction per request (resource + operation), against
// each backend.
func BenchmarkServiceAccountCreateREST(b *testing.B) {
	for _, be := range backends(nil) {
		b.Run(be.name, func(b *testing.B) {
			n := startBench(b, be)
			tok := n.iamToken()
			folder := n.defaultFolder(tok)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				body := fmt.Sprintf(`{"folderId":%q,"name":"bench-%d"}`, folder, i)
				i++
				req, _ := http.NewRequest("POST", "http://"+n.addr+"/iam/v1/serviceAccounts", bytes.NewBufferString(body))
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
