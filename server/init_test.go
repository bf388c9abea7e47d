package server

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestNoHeavyPackageInit: no package linked into wardend does heavy work
// when the process starts (an argon2id hash at init cost every process,
// test binaries included, 64 MiB and a fraction of a second). The test
// binary, which links what wardend links, is run again with the runtime's
// init trace and no test.
func TestNoHeavyPackageInit(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	const limit = 4 << 20
	seen := 0
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		// init warden/apikey @28 ms, 9.8 ms clock, 292136 bytes, 4078 allocs
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "init" || f[8] != "bytes," {
			continue
		}
		seen++
		n, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("unreadable init trace line %q", sc.Text())
		}
		if n > limit {
			t.Errorf("package %s allocates %d bytes at init, want at most %d: %s", f[1], n, limit, sc.Text())
		}
	}
	if seen < 10 {
		t.Fatalf("the init trace lists %d packages; did GODEBUG=inittrace=1 take effect?\n%s", seen, stderr.String())
	}
}
