package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"warden/server"
)

// TestAuditKill9SQLite and TestAuditKill9Postgres kill wardend with
// SIGKILL, three times, while it writes: every change it acknowledged has
// its audit event, no event lacks its change, and the chain verifies.
func TestAuditKill9SQLite(t *testing.T) { auditKill9(t, "") }

func TestAuditKill9Postgres(t *testing.T) { auditKill9(t, freshPostgres(t)) }

func auditKill9(t *testing.T, database string) {
	dir := filepath.Join(t.TempDir(), "data")
	acked := map[string]bool{}
	for round := range 3 {
		cmd, addr := startBinaryArgs(t, dir, database)
		base := "http://" + addr
		tok := adminIAMToken(t, base, dir)
		folder := defaultFolderOf(t, base, tok)
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					var resp struct {
						Metadata struct{ ServiceAccountID string }
					}
					code := call(base, "POST", "/iam/v1/serviceAccounts", tok, map[string]any{"folderId": folder, "name": fmt.Sprintf("r%d-g%d-%d", round, g, i)}, &resp)
					if code == 0 {
						return // killed
					}
					if code == http.StatusOK {
						mu.Lock()
						acked[resp.Metadata.ServiceAccountID] = true
						mu.Unlock()
					}
				}
			}()
		}
		// Kill once some writes were acknowledged in this round.
		deadline := time.Now().Add(20 * time.Second)
		for n := len(acked); ; {
			mu.Lock()
			more := len(acked) - n
			mu.Unlock()
			if more >= 20 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
		close(stop)
		wg.Wait()
	}
	if len(acked) < 60 {
		t.Fatalf("only %d writes acknowledged: the load did not run", len(acked))
	}
	cfg := server.Config{DataDir: dir, Database: database}
	base := serveInProcess(t, cfg)
	tok := adminIAMToken(t, base, dir)
	folder := defaultFolderOf(t, base, tok)
	stored := map[string]bool{}
	for tokPage := ""; ; {
		var page struct {
			ServiceAccounts []struct{ ID string }
			NextPageToken   string
		}
		call(base, "GET", "/iam/v1/serviceAccounts?pageSize=1000&folderId="+folder+"&pageToken="+tokPage, tok, nil, &page)
		for _, sa := range page.ServiceAccounts {
			stored[sa.ID] = true
		}
		if tokPage = page.NextPageToken; tokPage == "" {
			break
		}
	}
	org := orgOf(t, base, tok)
	evented := map[string]bool{}
	q := url.Values{"organizationId": {org}, "eventType": {"yandex.cloud.iam.v1.ServiceAccountService.Create"}, "eventStatus": {"DONE"}, "pageSize": {"1000"}}
	for {
		var page struct {
			Events []struct {
				Resource struct {
					Path []struct {
						ID string `json:"resource_id"`
					}
				} `json:"resource_metadata"`
			}
			NextPageToken string
		}
		if code := call(base, "GET", "/audit/v1/events?"+q.Encode(), tok, nil, &page); code != http.StatusOK {
			t.Fatalf("list events: %d", code)
		}
		for _, e := range page.Events {
			evented[e.Resource.Path[len(e.Resource.Path)-1].ID] = true
		}
		if page.NextPageToken == "" {
			break
		}
		q.Set("pageToken", page.NextPageToken)
	}
	for id := range acked {
		if !stored[id] {
			t.Errorf("acknowledged %s is not stored", id)
		}
	}
	for id := range stored {
		if !evented[id] {
			t.Errorf("%s is stored without its event", id)
		}
	}
	for id := range evented {
		if !stored[id] {
			t.Errorf("the event of %s has no change behind it", id)
		}
	}
	var v struct {
		Ok          bool
		BreakReason string
		Checked     string
	}
	if code := call(base, "POST", "/audit/v1/events:verify", tok, map[string]any{"organizationId": org}, &v); code != http.StatusOK || !v.Ok {
		t.Errorf("verify after the crashes: %d %+v", code, v)
	}
	t.Logf("%d acknowledged, %d stored, %d events, %s events verified", len(acked), len(stored), len(evented), v.Checked)
}

// startBinaryArgs is startBinary on a database ("" for SQLite).
func startBinaryArgs(t *testing.T, dataDir, database string) (*exec.Cmd, string) {
	t.Helper()
	args := []string{"--listen", "127.0.0.1:0", "--data-dir", dataDir}
	if database != "" {
		args = append(args, "--database", database)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	serving := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "wardend serving" {
				serving <- line.Addr
			}
		}
	}()
	select {
	case addr := <-serving:
		return cmd, addr
	case <-time.After(time.Minute):
		t.Fatal("wardend did not start within a minute")
		return nil, ""
	}
}

// call sends a JSON request and decodes the answer into out; 0 when the
// request failed.
func call(base, verb, path, tok string, body, out any) int {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(verb, base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func adminIAMToken(t *testing.T, base, dir string) string {
	t.Helper()
	var r struct{ IamToken string }
	oauth := strings.TrimSpace(string(mustRead(t, filepath.Join(dir, server.AdminTokenFile))))
	if code := call(base, "POST", "/iam/v1/tokens", "", map[string]any{"yandexPassportOauthToken": oauth}, &r); code != http.StatusOK {
		t.Fatalf("token exchange: %d", code)
	}
	return r.IamToken
}

func defaultFolderOf(t *testing.T, base, tok string) string {
	t.Helper()
	var clouds struct{ Clouds []struct{ ID string } }
	call(base, "GET", "/resource-manager/v1/clouds", tok, nil, &clouds)
	var folders struct{ Folders []struct{ ID string } }
	call(base, "GET", "/resource-manager/v1/folders?cloudId="+clouds.Clouds[0].ID, tok, nil, &folders)
	if len(folders.Folders) == 0 {
		t.Fatal("no folder")
	}
	return folders.Folders[0].ID
}

func orgOf(t *testing.T, base, tok string) string {
	t.Helper()
	var orgs struct{ Organizations []struct{ ID string } }
	call(base, "GET", "/organization-manager/v1/organizations", tok, nil, &orgs)
	if len(orgs.Organizations) == 0 {
		t.Fatal("no organization")
	}
	return orgs.Organizations[0].ID
}
