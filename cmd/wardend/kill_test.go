package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"warden/server"
)

// restJSON sends a JSON request and decodes the JSON answer.
func restJSON(c *http.Client, method, u, token string, body any) (int, map[string]any, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, nil
}

// TestAcknowledgedWritesSurviveKill: 16 clients create service accounts
// in one folder at once (SQLite commits them in groups) while wardend is
// killed with SIGKILL; every create it acknowledged is there after the
// restart.
func TestAcknowledgedWritesSurviveKill(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cmd, addr := startBinary(t, dir)
	base := "http://" + addr
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	oauth := strings.TrimSpace(string(mustRead(t, filepath.Join(dir, server.AdminTokenFile))))
	code, tok, err := restJSON(c, "POST", base+"/iam/v1/tokens", "", map[string]string{"yandexPassportOauthToken": oauth})
	if err != nil || code != 200 {
		t.Fatalf("token exchange: %d %v %v", code, tok, err)
	}
	token := tok["iamToken"].(string)
	_, clouds, err := restJSON(c, "GET", base+"/resource-manager/v1/clouds", token, nil)
	if err != nil {
		t.Fatal(err)
	}
	cloud := clouds["clouds"].([]any)[0].(map[string]any)["id"].(string)
	_, folders, err := restJSON(c, "GET", base+"/resource-manager/v1/folders?cloudId="+cloud+"&filter="+url.QueryEscape(`name="default"`), token, nil)
	if err != nil {
		t.Fatal(err)
	}
	folder := folders["folders"].([]any)[0].(map[string]any)["id"].(string)

	var mu sync.Mutex
	var acked []string
	enough := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				code, op, err := restJSON(c, "POST", base+"/iam/v1/serviceAccounts", token, map[string]any{"folderId": folder, "name": fmt.Sprintf("kill-%d-%d", w, i)})
				if err != nil {
					return // killed
				}
				if code != 200 {
					t.Errorf("create: %d %v", code, op)
					return
				}
				mu.Lock()
				acked = append(acked, op["metadata"].(map[string]any)["serviceAccountId"].(string))
				if len(acked) >= 300 {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(time.Minute):
		t.Fatal("300 creates not acknowledged within a minute")
	}
	cmd.Process.Kill() // SIGKILL, with creates in flight
	cmd.Wait()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()

	base = serveInProcess(t, server.Config{DataDir: dir})
	var lost []string
	for _, id := range acked {
		if code, _, err := restJSON(c, "GET", base+"/iam/v1/serviceAccounts/"+id, token, nil); err != nil || code != 200 {
			lost = append(lost, id)
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d of %d acknowledged creates lost after SIGKILL: %v", len(lost), len(acked), lost)
	}
	t.Logf("%d acknowledged creates, all kept", len(acked))
}
