// Package ratelimit counts calls in Redis so that every instance of the
// platform holds one rate limit per actor and tool. Redis implements
// tools.RateCounter. It only counts: the limit is a parameter and the
// decision a policy, so it must not import tools, policies or any face.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Window is the span calls are counted over: limits are per minute.
const Window = time.Minute

// hitScript counts one call in the current window's key and reads the
// previous window's count, atomically and in one round trip. A window's
// key lives two windows: through its own, and the next, which reads it.
var hitScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, tonumber(redis.call('GET', KEYS[2]) or '0')}
`)

// Redis counts calls per key in Redis over a sliding window of one minute,
// with the sliding window counter algorithm: one counter per key and
// fixed minute, and a call's count is the current minute's calls plus the
// previous minute's, weighted by the share of the previous minute that
// the last sixty seconds still cover (rounded down). It needs two small
// integers per active key whatever the call rate, so a caller hammering a
// tool cannot grow Redis's memory, and it has no burst at the turn of a
// minute as fixed windows do; it assumes the previous minute's calls were
// evenly spread, which makes its count an estimate only while the
// previous minute still weighs.
//
// Windows follow the time the caller passes (the registry's clock), so
// instances must keep their clocks in step (NTP does). A key is
// prefix + "{" + key + "}:" + window number: the braces are a Redis
// Cluster hash tag, which keeps both windows of a key on one node.
//
// Hit returns Redis's errors; the caller decides what a failure means
// (the tools registry counts in process until Redis answers again).
type Redis struct {
	client *redis.Client
	prefix string
}

// New returns a counter keeping its keys under prefix (for example
// "gpubroker:rate:") in client's database.
func New(client *redis.Client, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// ttl is how long a window's counter lives, in milliseconds: its own
// window and the next, plus a second for clocks a little apart.
var ttl = (2*Window + time.Second).Milliseconds()

// Hit implements tools.RateCounter: it counts one call for key at now and
// returns the calls of the sliding minute ending at now, this one
// included.
func (r *Redis) Hit(ctx context.Context, key string, now time.Time) (int, error) {
	ns := now.UnixNano()
	w := floorDiv(ns, int64(Window))
	base := r.prefix + "{" + key + "}:"
	keys := []string{base + strconv.FormatInt(w, 10), base + strconv.FormatInt(w-1, 10)}
	counts, err := hitScript.Run(ctx, r.client, keys, ttl).Int64Slice()
	if err != nil {
		return 0, fmt.Errorf("count call in redis: %w", err)
	}
	if len(counts) != 2 {
		return 0, fmt.Errorf("count call in redis: script answered %d values, want 2", len(counts))
	}
	return slidingCount(counts[0], counts[1], time.Duration(ns-w*int64(Window)), Window), nil
}

// slidingCount is the sliding window counter's estimate: current plus
// previous × (window − elapsed) / window, rounded down, where elapsed is
// how far into the current window the call falls.
func slidingCount(current, previous int64, elapsed, window time.Duration) int {
	if elapsed < 0 || elapsed >= window || window <= 0 {
		return int(min(current, math.MaxInt))
	}
	var weighted uint64
	if previous > 0 {
		// 128-bit product: the quotient is at most previous, so it fits.
		hi, lo := bits.Mul64(uint64(previous), uint64(window-elapsed))
		weighted, _ = bits.Div64(hi, lo, uint64(window))
	}
	total := uint64(max(current, 0)) + weighted
	if total > math.MaxInt {
		return math.MaxInt
	}
	return int(total)
}

// floorDiv divides rounding toward minus infinity, so times before 1970
// fall in the right window too.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
