package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlock is one ```sh block of the README.
type readmeBlock struct {
	line int // of the opening fence
	text string
	skip string // the reason given by a <!-- readme-test: skip … --> before it
}

// readmeBlocks reads the sh blocks of the README in order.
func readmeBlocks(t *testing.T, path string) []readmeBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []readmeBlock
	var cur *readmeBlock
	skip := ""
	skipMark := regexp.MustCompile(`^<!-- readme-test: skip \((.+)\) -->$`)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		case line == "```sh":
			cur = &readmeBlock{line: n, skip: skip}
			skip = ""
		case skipMark.MatchString(line):
			skip = skipMark.FindStringSubmatch(line)[1]
		case strings.TrimSpace(line) != "":
			skip = "" // a skip mark applies to the block right after it
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// TestREADMEWalkThroughs runs every sh block of the README, verbatim and in
// order, with bash in a fresh directory holding the repository's sources
// (symlinked) and no data dir, as a new user following it would. Blocks
// marked <!-- readme-test: skip (reason) --> are left out: the first one
// (it runs wardend in the foreground and the whole test suite) and request
// shapes shown for reference. A command failing, or an answer carrying a
// google.rpc.Status or Keystone error, fails the test.
func TestREADMEWalkThroughs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the README's commands")
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README's walk-throughs need %s", tool)
		}
	}
	// The README speaks of localhost:8080, wardend's default.
	if l, err := net.Listen("tcp", "127.0.0.1:8080"); err != nil {
		t.Fatalf("the README's walk-throughs need 127.0.0.1:8080, which is taken: %v", err)
	} else {
		l.Close()
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case ".git", "warden-data", "wardend", "warden":
			continue
		}
		if err := os.Symlink(filepath.Join(repo, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}

	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	// Whatever the walk-throughs start in the background stops with them.
	script.WriteString("trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n")
	ran := 0
	for _, b := range readmeBlocks(t, filepath.Join(repo, "README.md")) {
		if b.skip != "" {
			t.Logf("README line %d: skipped: %s", b.line, b.skip)
			continue
		}
		fmt.Fprintf(&script, "echo '### README line %d' >&2\n%s", b.line, b.text)
		ran++
	}
	if ran < 5 {
		t.Fatalf("only %d runnable blocks found in the README", ran)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = dir
	home := filepath.Join(dir, ".home")
	cmd.Env = []string{
		"PATH=/usr/local/go/bin:/usr/bin:/bin:/usr/sbin:/sbin:" + os.Getenv("PATH"),
		"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"GOCACHE=" + goEnv(t, "GOCACHE"), "GOMODCACHE=" + goEnv(t, "GOMODCACHE"), "GOFLAGS=-mod=mod",
		"GOTOOLCHAIN=local", "LANG=C.UTF-8",
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's walk-throughs failed: %v\n%s", err, tail(string(out), 60))
	}
	// curl -s does not fail on an error answer: look for error shapes.
	errorAnswer := regexp.MustCompile(`"code":\s*[1-9][0-9]*,\s*"(message|title)"`)
	if loc := errorAnswer.FindStringIndex(string(out)); loc != nil {
		t.Fatalf("a README command got an error answer:\n%s", tail(string(out[:min(len(out), loc[1]+300)]), 30))
	}
	t.Logf("%d blocks ran; the end of their output:\n%s", ran, tail(string(out), 25))
}

// goEnv is a value of go env, so that the walk-throughs' go build reuses
// the test's caches.
func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return strings.TrimSpace(string(out))
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
