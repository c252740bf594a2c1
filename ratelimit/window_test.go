package ratelimit

import (
	"math"
	"testing"
	"time"
)

func TestSlidingCount(t *testing.T) {
	for _, tc := range []struct {
		name              string
		current, previous int64
		elapsed           time.Duration
		want              int
	}{
		{"at the start of a window the previous one counts in full", 1, 60, 0, 61},
		{"a quarter in, three quarters of the previous one count", 1, 60, 15 * time.Second, 46},
		{"half way, half of the previous one counts", 5, 10, 30 * time.Second, 10},
		{"the weighted previous count is rounded down", 1, 3, 30 * time.Second, 2},
		{"just before the end, almost nothing of the previous one counts", 2, 60, Window - time.Millisecond, 2},
		{"with no previous calls only the current ones count", 7, 0, 10 * time.Second, 7},
		{"a huge previous count does not overflow", 1, math.MaxInt64, 0, math.MaxInt},
		{"a huge weighted count does not overflow", math.MaxInt64, math.MaxInt64, 30 * time.Second, math.MaxInt},
		{"an elapsed time outside the window counts the current window alone", 3, 60, Window, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := slidingCount(tc.current, tc.previous, tc.elapsed, Window); got != tc.want {
				t.Fatalf("slidingCount(%d, %d, %s) = %d; want %d", tc.current, tc.previous, tc.elapsed, got, tc.want)
			}
		})
	}
}

func TestFloorDiv(t *testing.T) {
	for _, tc := range []struct{ a, b, want int64 }{
		{120, 60, 2}, {119, 60, 1}, {0, 60, 0}, {-1, 60, -1}, {-60, 60, -1}, {-61, 60, -2},
	} {
		if got := floorDiv(tc.a, tc.b); got != tc.want {
			t.Errorf("floorDiv(%d, %d) = %d; want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
