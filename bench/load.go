package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// result is one closed-loop run against one server.
type result struct {
	reqs       int
	elapsed    time.Duration
	p50, p99   time.Duration
	cpu        time.Duration // the server process's CPU during the run
	errs       int
	firstError error
}

func (r result) rate() float64 { return float64(r.reqs) / r.elapsed.Seconds() }

// cpuPerReq is the server's CPU per request.
func (r result) cpuPerReq() time.Duration {
	if r.reqs == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.reqs)
}

// closedLoop runs call on conc goroutines for d (after warmup, not
// counted), each sending its next request as soon as the last is
// answered, and measures the CPU the process pid spent meanwhile.
func closedLoop(pid, conc int, warmup, d time.Duration, call func() error) result {
	var stop atomic.Bool
	var counting atomic.Bool
	lat := make([][]time.Duration, conc)
	errs := make([]int, conc)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				start := time.Now()
				err := call()
				took := time.Since(start)
				if !counting.Load() {
					continue
				}
				if err != nil {
					errs[g]++
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				lat[g] = append(lat[g], took)
			}
		}()
	}
	time.Sleep(warmup)
	cpu0 := processCPU(pid)
	t0 := time.Now()
	counting.Store(true)
	time.Sleep(d)
	counting.Store(false)
	elapsed := time.Since(t0)
	cpu := processCPU(pid) - cpu0
	stop.Store(true)
	wg.Wait()
	var all []time.Duration
	r := result{elapsed: elapsed, cpu: cpu}
	for g := range conc {
		all = append(all, lat[g]...)
		r.errs += errs[g]
	}
	if e, ok := firstErr.Load().(error); ok {
		r.firstError = e
	}
	r.reqs = len(all)
	if len(all) > 0 {
		slices.Sort(all)
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

// processCPU is the user and system CPU time of a process so far
// (/proc/<pid>/stat, in clock ticks of 10 ms).
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// processRSS is a process's resident and peak resident memory.
func processRSS(pid int) (rss, peak string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?", "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			peak = strings.TrimSpace(v)
		}
	}
	return rss, peak
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
