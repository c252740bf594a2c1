package market

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpubroker/pod/providers"
)

// fakeAdapter answers with fn; calls counts them.
type fakeAdapter struct {
	id    string
	calls atomic.Int32
	fn    func(ctx context.Context) ([]providers.Offer, error)
}

func (f *fakeAdapter) Provider() string { return f.id }
func (f *fakeAdapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	f.calls.Add(1)
	return f.fn(ctx)
}

func offersOf(provider string, n int, price float64) func(context.Context) ([]providers.Offer, error) {
	return func(context.Context) ([]providers.Offer, error) {
		out := make([]providers.Offer, n)
		for i := range out {
			out[i] = providers.Offer{Provider: provider, SKU: fmt.Sprintf("sku-%d", i), GPU: "A100-SXM-80GB", GPUCount: 1, Region: "r1", PriceHour: price}
		}
		return out, nil
	}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)} }
func fast(s Settings) Settings       { s.RatePerSecond, s.Burst = 1000, 100; return s }
func adapters(f ...*fakeAdapter) []providers.Adapter {
	out := make([]providers.Adapter, len(f))
	for i := range f {
		out[i] = f[i]
	}
	return out
}

func TestRefreshSkipsBrokenProvidersAndKeepsTheOthers(t *testing.T) {
	good := &fakeAdapter{id: "good", fn: offersOf("good", 3, 1.5)}
	hang := &fakeAdapter{id: "hang", fn: func(ctx context.Context) ([]providers.Offer, error) { select {} }}
	slowButHonest := &fakeAdapter{id: "slow", fn: func(ctx context.Context) ([]providers.Offer, error) { <-ctx.Done(); return nil, ctx.Err() }}
	fail := &fakeAdapter{id: "fail", fn: func(context.Context) ([]providers.Offer, error) {
		return nil, &providers.Error{Provider: "fail", Op: "list", Kind: providers.KindUnavailable, Status: 500}
	}}
	garbage := &fakeAdapter{id: "garbage", fn: func(context.Context) ([]providers.Offer, error) {
		return nil, providers.BadResponse("garbage", "list", "not json")
	}}
	panics := &fakeAdapter{id: "panics", fn: func(context.Context) ([]providers.Offer, error) { panic("boom") }}
	invalid := &fakeAdapter{id: "invalid", fn: func(context.Context) ([]providers.Offer, error) {
		return []providers.Offer{{SKU: "x", GPU: "A10-PCIE-24GB", GPUCount: 1, Region: "r", PriceHour: -1}, {SKU: "y", GPU: "A10-PCIE-24GB", GPUCount: 1, Region: "r", PriceHour: 0.5}}, nil
	}}
	set := fast(DefaultSettings)
	set.Timeout = 200 * time.Millisecond
	a := NewAggregator(adapters(good, hang, slowButHonest, fail, garbage, panics, invalid), Options{Settings: set})
	defer a.Close()

	start := time.Now()
	rep := a.Refresh(context.Background())
	if took := time.Since(start); took > set.Timeout*11/10 {
		t.Errorf("refresh took %v, more than the timeout × 1.1 (%v)", took, set.Timeout*11/10)
	}
	if rep.Offers != 4 {
		t.Errorf("offers = %d, want 3 from good and 1 valid from invalid", rep.Offers)
	}
	for _, p := range []string{"hang", "slow", "fail", "garbage", "panics"} {
		if rep.Errors[p] == nil {
			t.Errorf("%s: no error reported", p)
		}
		h, _ := a.ProviderHealth(p)
		if h.Status != "unhealthy" || h.LastError == "" {
			t.Errorf("%s health = %+v, want unhealthy with an error", p, h)
		}
	}
	if !errors.Is(rep.Errors["hang"], providers.ErrUnavailable) || !errors.Is(rep.Errors["panics"], providers.ErrBadResponse) {
		t.Errorf("errors not typed: hang %v, panics %v", rep.Errors["hang"], rep.Errors["panics"])
	}
	if h, _ := a.ProviderHealth("good"); h.Status != "healthy" || h.Offers != 3 {
		t.Errorf("good health = %+v", h)
	}
}

func TestBreakerOpensFailsFastAndProbesAfterCooldown(t *testing.T) {
	clk := newClock()
	var failing atomic.Bool
	failing.Store(true)
	p := &fakeAdapter{id: "p", fn: func(ctx context.Context) ([]providers.Offer, error) {
		if failing.Load() {
			return nil, &providers.Error{Provider: "p", Kind: providers.KindUnavailable}
		}
		return offersOf("p", 1, 1)(ctx)
	}}
	set := fast(DefaultSettings)
	set.BreakerFailures, set.BreakerCooldown = 3, 30*time.Second
	a := NewAggregator(adapters(p), Options{Settings: set, Now: clk.now})
	defer a.Close()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := a.RefreshProvider(ctx, "p"); !errors.Is(err, providers.ErrUnavailable) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if h, _ := a.ProviderHealth("p"); h.Breaker != BreakerOpen {
		t.Fatalf("breaker %s after 3 failures", h.Breaker)
	}
	// The provider is not asked again: the refusal is the breaker's own.
	err := a.RefreshProvider(ctx, "p")
	if !errors.Is(err, providers.ErrCircuitOpen) || p.calls.Load() != 3 {
		t.Fatalf("open breaker: err %v, calls %d", err, p.calls.Load())
	}
	clk.add(31 * time.Second)
	if h, _ := a.ProviderHealth("p"); h.Breaker != BreakerHalfOpen {
		t.Fatalf("breaker %s after the cooldown", h.Breaker)
	}
	if err := a.RefreshProvider(ctx, "p"); !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("failed probe: %v", err)
	}
	if h, _ := a.ProviderHealth("p"); h.Breaker != BreakerOpen {
		t.Fatalf("a failed probe must reopen, got %s", h.Breaker)
	}
	clk.add(31 * time.Second)
	failing.Store(false)
	if err := a.RefreshProvider(ctx, "p"); err != nil {
		t.Fatalf("good probe: %v", err)
	}
	if h, _ := a.ProviderHealth("p"); h.Breaker != BreakerClosed || h.Offers != 1 {
		t.Fatalf("after a good probe: %+v", h)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	clk := newClock()
	p := &fakeAdapter{id: "p", fn: func(context.Context) ([]providers.Offer, error) {
		return nil, &providers.Error{Provider: "p", Kind: providers.KindRateLimit, Status: 429, RetryAfter: 20 * time.Second}
	}}
	a := NewAggregator(adapters(p), Options{Settings: fast(DefaultSettings), Now: clk.now})
	defer a.Close()
	ctx := context.Background()
	if err := a.RefreshProvider(ctx, "p"); !errors.Is(err, providers.ErrRateLimit) {
		t.Fatal(err)
	}
	err := a.RefreshProvider(ctx, "p")
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Kind != providers.KindRateLimit || pe.RetryAfter != 20*time.Second || p.calls.Load() != 1 {
		t.Fatalf("inside Retry-After: err %v, calls %d", err, p.calls.Load())
	}
	clk.add(21 * time.Second)
	_ = a.RefreshProvider(ctx, "p")
	if p.calls.Load() != 2 {
		t.Fatalf("after Retry-After the provider must be asked again, calls %d", p.calls.Load())
	}
}

func TestTokenBucketSpacesCalls(t *testing.T) {
	p := &fakeAdapter{id: "p", fn: offersOf("p", 1, 1)}
	set := DefaultSettings
	set.RatePerSecond, set.Burst, set.Timeout = 20, 1, time.Second
	a := NewAggregator(adapters(p), Options{Settings: set})
	defer a.Close()
	start := time.Now()
	for i := 0; i < 4; i++ {
		if err := a.RefreshProvider(context.Background(), "p"); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 140*time.Millisecond {
		t.Errorf("4 calls at 20/s with burst 1 took %v, want ≥ 150 ms", took)
	}
}

func TestSnapshotIsServedStaleWhileRevalidating(t *testing.T) {
	clk := newClock()
	var price atomic.Int64
	price.Store(100)
	release := make(chan struct{})
	var blockNext atomic.Bool
	p := &fakeAdapter{id: "p", fn: func(ctx context.Context) ([]providers.Offer, error) {
		if blockNext.Load() {
			<-release
		}
		return offersOf("p", 1, float64(price.Load())/100)(ctx)
	}}
	set := fast(DefaultSettings)
	set.TTL = time.Minute
	a := NewAggregator(adapters(p), Options{Settings: set, Now: clk.now})
	defer a.Close()
	ctx := context.Background()
	if s := a.Snapshot(ctx); len(s.Offers) != 1 || s.Offers[0].PriceHour != 1 {
		t.Fatalf("first snapshot %+v", s)
	}
	clk.add(2 * time.Minute)
	price.Store(200)
	blockNext.Store(true)
	// The refresh is held until release closes below: had Snapshot waited
	// for it, it would not return here.
	s := a.Snapshot(ctx)
	if s.Offers[0].PriceHour != 1 {
		t.Fatalf("a stale snapshot must be served at once: price %v", s.Offers[0].PriceHour)
	}
	close(release)
	deadline := time.Now().Add(2 * time.Second)
	for a.Snapshot(ctx).Offers[0].PriceHour != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the background refresh never landed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFailingProviderOffersExpire(t *testing.T) {
	clk := newClock()
	var fail atomic.Bool
	p := &fakeAdapter{id: "p", fn: func(ctx context.Context) ([]providers.Offer, error) {
		if fail.Load() {
			return nil, &providers.Error{Provider: "p", Kind: providers.KindUnavailable}
		}
		return offersOf("p", 2, 1)(ctx)
	}}
	set := fast(DefaultSettings)
	set.BreakerFailures = 100
	a := NewAggregator(adapters(p), Options{Settings: set, Now: clk.now})
	defer a.Close()
	ctx := context.Background()
	a.Refresh(ctx)
	fail.Store(true)
	clk.add(2 * set.TTL)
	if rep := a.Refresh(ctx); rep.Offers != 2 {
		t.Fatalf("recent offers of a failing provider must still be served, got %d", rep.Offers)
	}
	clk.add(staleFactor * set.TTL)
	if rep := a.Refresh(ctx); rep.Offers != 0 {
		t.Fatalf("offers older than %d TTLs must be dropped, got %d", staleFactor, rep.Offers)
	}
}

type memRecorder struct {
	mu     sync.Mutex
	points []PricePoint
}

func (m *memRecorder) RecordPrices(_ context.Context, _ string, p []PricePoint) error {
	m.mu.Lock()
	m.points = append(m.points, p...)
	m.mu.Unlock()
	return nil
}

func TestPricesAreRecordedWhenTheyChange(t *testing.T) {
	clk := newClock()
	var price atomic.Int64
	price.Store(100)
	p := &fakeAdapter{id: "p", fn: func(ctx context.Context) ([]providers.Offer, error) {
		out, _ := offersOf("p", 2, float64(price.Load())/100)(ctx)
		for i := range out {
			out[i].UpdatedAt = clk.now()
		}
		return out, nil
	}}
	rec := &memRecorder{}
	a := NewAggregator(adapters(p), Options{Settings: fast(DefaultSettings), Now: clk.now, Recorder: rec})
	defer a.Close()
	ctx := context.Background()
	a.Refresh(ctx)
	clk.add(time.Minute)
	a.Refresh(ctx) // same price: nothing new
	clk.add(time.Minute)
	price.Store(120)
	a.Refresh(ctx)
	clk.add(recordEvery)
	a.Refresh(ctx) // unchanged but a quarter hour on: a point keeps the chart going
	if len(rec.points) != 6 {
		t.Fatalf("recorded %d points, want 2+2+2", len(rec.points))
	}
	if rec.points[2].PriceHour != 1.2 {
		t.Errorf("changed price recorded as %v", rec.points[2].PriceHour)
	}
}

// BenchmarkRefreshWithOneHangingProvider refreshes 22 providers, one of
// which never answers: each refresh must end within its timeout × 1.1.
func BenchmarkRefreshWithOneHangingProvider(b *testing.B) {
	var ads []providers.Adapter
	for i := 0; i < 21; i++ {
		id := fmt.Sprintf("p%02d", i)
		ads = append(ads, &fakeAdapter{id: id, fn: offersOf(id, 10, 1)})
	}
	ads = append(ads, &fakeAdapter{id: "hang", fn: func(ctx context.Context) ([]providers.Offer, error) { select {} }})
	set := fast(DefaultSettings)
	set.Timeout, set.BreakerFailures = 50*time.Millisecond, 1_000_000
	a := NewAggregator(ads, Options{Settings: set})
	defer a.Close()
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		a.Refresh(context.Background())
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
	b.ReportMetric(float64(set.Timeout.Microseconds())/1000*1.1, "limit-ms")
	if worst > set.Timeout*11/10 {
		b.Fatalf("worst refresh %v over %v", worst, set.Timeout*11/10)
	}
}

// BenchmarkOpenBreakerRefusal measures a call to a provider whose breaker
// is open: it must fail in well under a millisecond.
func BenchmarkOpenBreakerRefusal(b *testing.B) {
	p := &fakeAdapter{id: "p", fn: func(context.Context) ([]providers.Offer, error) {
		return nil, &providers.Error{Provider: "p", Kind: providers.KindUnavailable}
	}}
	set := fast(DefaultSettings)
	set.BreakerFailures, set.BreakerCooldown = 1, time.Hour
	a := NewAggregator(adapters(p), Options{Settings: set})
	defer a.Close()
	ctx := context.Background()
	_ = a.RefreshProvider(ctx, "p")
	b.ReportAllocs()
	for b.Loop() {
		if err := a.fetch(ctx, a.byID["p"]); !errors.Is(err, providers.ErrCircuitOpen) {
			b.Fatal(err)
		}
	}
}

func TestALimiterTimeoutNeitherClosesNorOpensTheBreaker(t *testing.T) {
	b := NewBreaker(1, time.Minute, nil)
	b.Done(false)
	if b.State() != BreakerOpen {
		t.Fatal("one failure must open a breaker of threshold 1")
	}
	b2 := NewBreaker(1, 0, nil)
	b2.Done(false)
	if !b2.Allow() || b2.State() != BreakerHalfOpen {
		t.Fatal("after the cooldown one probe goes out")
	}
	if b2.Allow() {
		t.Fatal("only one probe at a time")
	}
	b2.Release()
	if b2.State() != BreakerHalfOpen || !b2.Allow() {
		t.Fatal("a released probe leaves the breaker half-open, ready for another probe")
	}
}
