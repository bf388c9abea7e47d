package service

import (
	"testing"
	"time"
)

// TestFeedSeen: the count of a window is the entries stamped in it, its
// start included and its end not, whatever order they were added in.
func TestFeedSeen(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	f := newFeedSeen()
	for i, ms := range []int{10, 20, 20, 40, 15, 50, 5} { // 15 and 5 arrive late
		f.add(string(rune('a'+i)), at(ms))
	}
	f.add("a", at(99)) // noted already: stays where it was
	for _, c := range []struct {
		from, to, want int
	}{
		{0, 100, 7}, {10, 20, 2}, {10, 21, 4}, {20, 20, 0}, {16, 41, 3}, {51, 60, 0}, {30, 10, 0},
	} {
		if got := f.count(at(c.from), at(c.to)); got != c.want {
			t.Errorf("count [%d, %d) = %d, want %d", c.from, c.to, got, c.want)
		}
	}
	f.forgetBefore(at(20))
	if f.len() != 4 || f.has("a") || f.has("e") || f.has("g") || !f.has("b") || !f.has("f") {
		t.Errorf("after forgetting before 20 ms: %d entries (a %v, e %v, g %v, b %v, f %v); want b, c, d, f",
			f.len(), f.has("a"), f.has("e"), f.has("g"), f.has("b"), f.has("f"))
	}
	if got := f.count(at(0), at(100)); got != 4 {
		t.Errorf("count after forgetting = %d, want 4", got)
	}
	f.add("a", at(10)) // forgotten, so new again
	if got := f.count(at(0), at(20)); got != 1 {
		t.Errorf("count of a re-added entry = %d, want 1", got)
	}
}
