package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// target is one server of a scenario and the call that loads it.
type target struct {
	pid  int
	call func() error
}

// runRatios measures each scenario against wardend and the limit server,
// interleaved, o.runs times.
func runRatios(o *options, scenarios []string) error {
	w, err := startWardend(o, filepath.Join(o.work, "data"))
	if err != nil {
		return err
	}
	defer w.stop()
	x, err := newWorld(w)
	if err != nil {
		return fmt.Errorf("set up wardend: %w", err)
	}
	// The limit server answers with what wardend answers.
	answers := filepath.Join(o.work, "answers")
	os.MkdirAll(answers, 0o700)
	for name, path := range map[string]string{
		"list.json": "/iam/v1/serviceAccounts?folderId=" + x.folder, "keystone.json": "/v3/auth/tokens",
	} {
		req, _ := http.NewRequest("GET", "http://"+w.addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+x.robotToken)
		req.Header.Set("X-Auth-Token", x.keystoneToken)
		req.Header.Set("X-Subject-Token", x.keystoneToken)
		resp, err := w.http.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		if err := os.WriteFile(filepath.Join(answers, name), b, 0o600); err != nil {
			return err
		}
	}
	limit, restAddr, grpcAddr, err := startLimit(answers)
	if err != nil {
		return err
	}
	defer func() { limit.Process.Kill(); limit.Wait() }()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.conc * 2}}
	bearer := "Bearer " + x.robotToken
	grpcWarden, closeW, err := grpcAuthorize(w.addr, authorizeRequest(bearer, x.folder))
	if err != nil {
		return err
	}
	defer closeW()
	grpcLimit, closeL, err := grpcAuthorize(grpcAddr, authorizeRequest(bearer, x.folder))
	if err != nil {
		return err
	}
	defer closeL()
	body := authorizeBody(bearer, x.folder)
	json := map[string]string{"Content-Type": "application/json"}
	list := "/iam/v1/serviceAccounts?folderId=" + x.folder
	auth := map[string]string{"Authorization": bearer}
	ks := map[string]string{"X-Auth-Token": x.keystoneToken, "X-Subject-Token": x.keystoneToken}
	all := map[string][2]target{
		"authorize-rest": {
			{w.pid(), httpCall(client, "POST", "http://"+w.addr+"/access/v1:authorize", json, body)},
			{limit.Process.Pid, httpCall(client, "POST", "http://"+restAddr+"/access/v1:authorize", json, body)},
		},
		"authorize-grpc": {{w.pid(), grpcWarden}, {limit.Process.Pid, grpcLimit}},
		"sa-list": {
			{w.pid(), httpCall(client, "GET", "http://"+w.addr+list, auth, nil)},
			{limit.Process.Pid, httpCall(client, "GET", "http://"+restAddr+list, auth, nil)},
		},
		"keystone-validate": {
			{w.pid(), httpCall(client, "GET", "http://"+w.addr+"/v3/auth/tokens", ks, nil)},
			{limit.Process.Pid, httpCall(client, "GET", "http://"+restAddr+"/v3/auth/tokens", ks, nil)},
		},
	}
	for _, s := range scenarios {
		ts, ok := all[s]
		if !ok {
			return fmt.Errorf("no scenario %q", s)
		}
		for i, t := range ts {
			if err := t.call(); err != nil {
				return fmt.Errorf("%s against %s: %w", s, []string{"wardend", "the limit server"}[i], err)
			}
		}
	}
	results := map[string][2][]result{}
	for run := range o.runs {
		for _, s := range scenarios {
			rs := results[s]
			for i, t := range all[s] {
				r := closedLoop(t.pid, o.conc, o.warmup, o.duration, t.call)
				if r.errs > 0 {
					fmt.Fprintf(os.Stderr, "%s run %d: %d errors, the first: %v\n", s, run, r.errs, r.firstError)
				}
				rs[i] = append(rs[i], r)
			}
			results[s] = rs
			fmt.Fprintf(os.Stderr, "run %d %s: wardend %.0f/s, limit %.0f/s\n", run+1, s, rs[0][run].rate(), rs[1][run].rate())
		}
	}
	fmt.Println("| scenario, c=" + fmt.Sprint(o.conc) + " | Warden req/s | p50 / p99 | CPU/req | limit req/s | p50 / p99 | CPU/req | ratio (median, range) |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, s := range scenarios {
		rs := results[s]
		var ratios []float64
		for i := range rs[0] {
			ratios = append(ratios, rs[0][i].rate()/rs[1][i].rate())
		}
		lo, hi := ratios[0], ratios[0]
		for _, r := range ratios {
			lo, hi = min(lo, r), max(hi, r)
		}
		fmt.Printf("| %s | %s | %s | **%.2f** (%.2f–%.2f) |\n", s, summary(rs[0]), summary(rs[1]), median(ratios), lo, hi)
	}
	return nil
}

// summary is the medians of runs: rate | p50 / p99 | CPU per request.
func summary(rs []result) string {
	var rate, p50, p99, cpu []float64
	for _, r := range rs {
		rate = append(rate, r.rate())
		p50 = append(p50, float64(r.p50))
		p99 = append(p99, float64(r.p99))
		cpu = append(cpu, float64(r.cpuPerReq()))
	}
	return fmt.Sprintf("%.0f | %v / %v | %v", median(rate),
		time.Duration(median(p50)).Round(10*time.Microsecond), time.Duration(median(p99)).Round(10*time.Microsecond),
		time.Duration(median(cpu)).Round(time.Microsecond))
}

// startLimit starts this program as the limit servers' process.
func startLimit(answers string) (*exec.Cmd, string, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", "", err
	}
	cmd := exec.Command(self, "-limit-server", answers)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return nil, "", "", fmt.Errorf("limit server: %w", err)
	}
	var restAddr, grpcAddr string
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "rest="); ok {
			restAddr = v
		}
		if v, ok := strings.CutPrefix(f, "grpc="); ok {
			grpcAddr = v
		}
	}
	return cmd, restAddr, grpcAddr, nil
}
