package market

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/gpubroker/pod/providers"
)

// Settings tune the aggregator; the app feeds them from parameters and
// may change them at any time.
type Settings struct {
	// Timeout bounds one provider's listing.
	Timeout time.Duration
	// TTL is how long a snapshot is fresh; older ones are still served
	// while a refresh runs in the background.
	TTL time.Duration
	// BreakerFailures consecutive failures open a provider's breaker for
	// BreakerCooldown.
	BreakerFailures int
	BreakerCooldown time.Duration
	// RatePerSecond and Burst shape the token bucket of calls per provider.
	RatePerSecond float64
	Burst         int
}

// DefaultSettings match the parameters' defaults.
var DefaultSettings = Settings{Timeout: 10 * time.Second, TTL: 60 * time.Second, BreakerFailures: 5,
	BreakerCooldown: 30 * time.Second, RatePerSecond: 2, Burst: 5}

// staleFactor: a provider that keeps failing has its last good offers
// served for this many TTLs, then they are dropped.
const staleFactor = 5

// PricePoint is one observation of an offer's price and availability.
type PricePoint struct {
	OfferID       string                 `json:"offer_id"`
	Provider      string                 `json:"provider"`
	GPU           string                 `json:"gpu"`
	Region        string                 `json:"region"`
	PriceHour     float64                `json:"price_hour"`
	SpotPriceHour float64                `json:"spot_price_hour,omitempty"`
	Availability  providers.Availability `json:"availability"`
	At            time.Time              `json:"at"`
}

// PriceQuery selects price history: one offer, or every offer of a GPU
// model, of one mode, observed in [Since, Until).
type PriceQuery struct {
	Mode    string
	OfferID string
	GPU     string
	Since   time.Time
	Until   time.Time
	Limit   int
}

// Recorder stores price observations for price history.
type Recorder interface {
	RecordPrices(ctx context.Context, mode string, points []PricePoint) error
}

// recordEvery is the longest gap between two stored points of an offer
// whose price does not change, so history charts stay continuous.
const recordEvery = 15 * time.Minute

// Aggregator fans out to every provider of one mode, keeps the merged
// offers as an immutable snapshot, and tracks each provider's health.
type Aggregator struct {
	mode     string
	sources  []*source
	byID     map[string]*source
	now      func() time.Time
	settings atomic.Pointer[Settings]
	recorder Recorder
	log      *slog.Logger

	snap       atomic.Pointer[Snapshot]
	refreshMu  sync.Mutex // one refresh at a time
	refreshing atomic.Bool
	base       context.Context
	stop       context.CancelFunc
	wg         sync.WaitGroup

	histMu  sync.Mutex
	history []*Snapshot

	recMu    sync.Mutex
	recorded map[string]PricePoint
}

type source struct {
	adapter providers.Adapter
	breaker *Breaker
	limiter *rate.Limiter

	mu           sync.Mutex
	blockedUntil time.Time
	offers       []providers.Offer
	fetchedAt    time.Time
	lastSuccess  time.Time
	lastError    string
	lastErrorAt  time.Time
	latency      time.Duration
	outcomes     [20]bool
	calls        int
}

// Options configure an aggregator.
type Options struct {
	// Mode is recorded with price points ("sandbox" or "live").
	Mode     string
	Settings Settings
	Recorder Recorder
	Logger   *slog.Logger
	Now      func() time.Time
}

// NewAggregator builds an aggregator over adapters, one per provider.
// Close stops its background refreshes.
func NewAggregator(adapters []providers.Adapter, o Options) *Aggregator {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Settings == (Settings{}) {
		o.Settings = DefaultSettings
	}
	base, stop := context.WithCancel(context.Background())
	a := &Aggregator{mode: o.Mode, byID: map[string]*source{}, now: o.Now, recorder: o.Recorder, log: o.Logger,
		base: base, stop: stop, recorded: map[string]PricePoint{}}
	s := o.Settings
	a.settings.Store(&s)
	for _, ad := range adapters {
		src := &source{adapter: ad,
			breaker: NewBreaker(s.BreakerFailures, s.BreakerCooldown, o.Now),
			limiter: rate.NewLimiter(rate.Limit(s.RatePerSecond), max(s.Burst, 1))}
		a.sources = append(a.sources, src)
		a.byID[ad.Provider()] = src
	}
	sort.Slice(a.sources, func(i, j int) bool { return a.sources[i].adapter.Provider() < a.sources[j].adapter.Provider() })
	return a
}

// Close stops background refreshes and waits for them.
func (a *Aggregator) Close() {
	a.stop()
	a.wg.Wait()
}

// SetSettings applies new settings to every provider.
func (a *Aggregator) SetSettings(s Settings) {
	a.settings.Store(&s)
	for _, src := range a.sources {
		src.breaker.Settings(s.BreakerFailures, s.BreakerCooldown)
		src.limiter.SetLimit(rate.Limit(s.RatePerSecond))
		src.limiter.SetBurst(max(s.Burst, 1))
	}
}

// Settings returns the current settings.
func (a *Aggregator) Settings() Settings { return *a.settings.Load() }

// Providers lists the provider ids, sorted.
func (a *Aggregator) Providers() []string {
	out := make([]string, len(a.sources))
	for i, s := range a.sources {
		out[i] = s.adapter.Provider()
	}
	return out
}

// Adapter returns the adapter of one provider.
func (a *Aggregator) Adapter(provider string) (providers.Adapter, bool) {
	s, ok := a.byID[provider]
	if !ok {
		return nil, false
	}
	return s.adapter, true
}

// Snapshot returns the current offers. The first call waits for a
// refresh; later calls return at once, starting a background refresh when
// the snapshot is older than the TTL (stale-while-revalidate), so browsing
// never waits on a slow provider.
func (a *Aggregator) Snapshot(ctx context.Context) *Snapshot {
	s := a.snap.Load()
	if s == nil {
		a.Refresh(ctx)
		return a.snap.Load()
	}
	if a.now().Sub(s.Taken) >= a.Settings().TTL {
		a.refreshInBackground()
	}
	return s
}

func (a *Aggregator) refreshInBackground() {
	if !a.refreshing.CompareAndSwap(false, true) {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer a.refreshing.Store(false)
		if a.base.Err() != nil {
			return
		}
		a.Refresh(a.base)
	}()
}

// RefreshReport says how each provider answered one refresh.
type RefreshReport struct {
	Took   time.Duration
	Offers int
	Errors map[string]error
}

// Refresh asks every provider at once, each bounded by the timeout, and
// swaps in a new snapshot made of each provider's latest good answer.
func (a *Aggregator) Refresh(ctx context.Context) RefreshReport {
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	start := a.now()
	errs := make([]error, len(a.sources))
	var wg sync.WaitGroup
	for i, src := range a.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = a.fetch(ctx, src)
		}()
	}
	wg.Wait()
	rep := RefreshReport{Errors: map[string]error{}}
	for i, err := range errs {
		if err != nil {
			rep.Errors[a.sources[i].adapter.Provider()] = err
		}
	}
	snap := a.build()
	a.publish(snap)
	rep.Offers = len(snap.Offers)
	rep.Took = a.now().Sub(start)
	a.record(ctx, snap)
	return rep
}

// RefreshProvider asks one provider, through its limiter and breaker.
func (a *Aggregator) RefreshProvider(ctx context.Context, provider string) error {
	src, ok := a.byID[provider]
	if !ok {
		return &providers.Error{Provider: provider, Op: "list offers", Kind: providers.KindNotFound, Message: "unknown provider"}
	}
	err := a.fetch(ctx, src)
	a.refreshMu.Lock()
	a.publish(a.build())
	a.refreshMu.Unlock()
	return err
}

func (a *Aggregator) fetch(ctx context.Context, src *source) error {
	id := src.adapter.Provider()
	set := a.Settings()
	src.mu.Lock()
	blocked := src.blockedUntil
	src.mu.Unlock()
	if wait := blocked.Sub(a.now()); wait > 0 {
		return &providers.Error{Provider: id, Op: "list offers", Kind: providers.KindRateLimit, RetryAfter: wait, Message: "waiting out the provider's Retry-After"}
	}
	if !src.breaker.Allow() {
		return &providers.Error{Provider: id, Op: "list offers", Kind: providers.KindCircuitOpen, Message: "circuit breaker open"}
	}
	ctx, cancel := context.WithTimeout(ctx, set.Timeout)
	defer cancel()
	if err := src.limiter.Wait(ctx); err != nil {
		src.breaker.Release() // the provider was never asked: its state stands
		return &providers.Error{Provider: id, Op: "list offers", Kind: providers.KindRateLimit, Err: err}
	}
	start := time.Now()
	offers, err := a.list(ctx, src.adapter)
	took := time.Since(start)
	if err == nil {
		offers = a.clean(id, offers)
	}
	if err != nil && ctx.Err() != nil && providers.KindOf(err) == "" {
		err = &providers.Error{Provider: id, Op: "list offers", Kind: providers.KindUnavailable, Err: ctx.Err()}
	}
	src.breaker.Done(err == nil)
	src.mu.Lock()
	defer src.mu.Unlock()
	src.latency = took
	src.outcomes[src.calls%len(src.outcomes)] = err == nil
	src.calls++
	now := a.now()
	if err != nil {
		src.lastError, src.lastErrorAt = err.Error(), now
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Kind == providers.KindRateLimit {
			wait := pe.RetryAfter
			if wait <= 0 {
				wait = time.Second
			}
			src.blockedUntil = now.Add(wait)
		}
		a.log.Warn("provider listing failed", "provider", id, "err", err, "took", took)
		return err
	}
	src.offers, src.fetchedAt, src.lastSuccess = offers, now, now
	return nil
}

// list calls the adapter and turns a panic into an error: one broken
// adapter must not take the process down.
func (a *Aggregator) list(ctx context.Context, ad providers.Adapter) ([]providers.Offer, error) {
	// The adapter may ignore ctx; the refresh must not wait for it. The
	// buffered channel lets a late answer be dropped without a leak.
	type result struct {
		offers []providers.Offer
		err    error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				a.log.Error("provider adapter panicked", "provider", ad.Provider(), "panic", r)
				ch <- result{err: &providers.Error{Provider: ad.Provider(), Op: "list offers", Kind: providers.KindBadResponse, Message: "adapter panicked"}}
			}
		}()
		o, err := ad.ListOffers(ctx)
		ch <- result{o, err}
	}()
	select {
	case r := <-ch:
		return r.offers, r.err
	case <-ctx.Done():
		return nil, &providers.Error{Provider: ad.Provider(), Op: "list offers", Kind: providers.KindUnavailable, Err: ctx.Err()}
	}
}

// clean normalizes offers and drops those that break the schema.
func (a *Aggregator) clean(provider string, offers []providers.Offer) []providers.Offer {
	now := a.now()
	out := offers[:0]
	dropped := 0
	for _, o := range offers {
		o.Provider = provider
		o.Normalize(now)
		if o.Validate() != nil {
			dropped++
			continue
		}
		out = append(out, o)
	}
	if dropped > 0 {
		a.log.Warn("provider offers dropped as invalid", "provider", provider, "dropped", dropped)
	}
	return out
}

func (a *Aggregator) build() *Snapshot {
	now := a.now()
	maxAge := staleFactor * a.Settings().TTL
	var all []providers.Offer
	rel := map[string]float64{}
	for _, src := range a.sources {
		src.mu.Lock()
		if !src.fetchedAt.IsZero() && now.Sub(src.fetchedAt) <= maxAge {
			all = append(all, src.offers...)
		}
		src.mu.Unlock()
		rel[src.adapter.Provider()] = a.Reliability(src.adapter.Provider())
	}
	s := NewSnapshot(all, now)
	s.reliability = rel
	return s
}

// keepSnapshots is how many past snapshots stay reachable for cursors: at
// the default TTL, a person has eight minutes to turn the page.
const keepSnapshots = 8

// publish makes s the current snapshot and keeps it for cursors.
func (a *Aggregator) publish(s *Snapshot) {
	a.snap.Store(s)
	a.histMu.Lock()
	a.history = append(a.history, s)
	if len(a.history) > keepSnapshots {
		a.history = a.history[len(a.history)-keepSnapshots:]
	}
	a.histMu.Unlock()
}

// SnapshotAt returns the kept snapshot taken at t, if any.
func (a *Aggregator) SnapshotAt(t time.Time) (*Snapshot, bool) {
	a.histMu.Lock()
	defer a.histMu.Unlock()
	for _, s := range a.history {
		if s.Taken.Equal(t) {
			return s, true
		}
	}
	return nil, false
}

func (a *Aggregator) record(ctx context.Context, s *Snapshot) {
	if a.recorder == nil {
		return
	}
	a.recMu.Lock()
	var points []PricePoint
	for _, o := range s.Offers {
		p := PricePoint{OfferID: o.ID, Provider: o.Provider, GPU: o.GPU, Region: o.Region, PriceHour: o.PriceHour,
			SpotPriceHour: o.SpotPriceHour, Availability: o.Availability, At: o.UpdatedAt}
		last, ok := a.recorded[o.ID]
		if ok && last.PriceHour == p.PriceHour && last.SpotPriceHour == p.SpotPriceHour &&
			last.Availability == p.Availability && p.At.Sub(last.At) < recordEvery {
			continue
		}
		if ok && !p.At.After(last.At) {
			continue
		}
		points = append(points, p)
	}
	a.recMu.Unlock()
	if len(points) == 0 {
		return
	}
	if err := a.recorder.RecordPrices(ctx, a.mode, points); err != nil {
		if ctx.Err() == nil {
			a.log.Error("recording prices", "err", err, "points", len(points))
		}
		return // not marked recorded: the next refresh tries again
	}
	a.recMu.Lock()
	for _, p := range points {
		a.recorded[p.OfferID] = p
	}
	a.recMu.Unlock()
}

// Health is one provider's state as the aggregator sees it.
type Health struct {
	Provider    string       `json:"provider"`
	Status      string       `json:"status"` // healthy, degraded, unhealthy, unknown
	Breaker     BreakerState `json:"breaker"`
	LatencyMS   float64      `json:"latency_ms"`
	ErrorRate   float64      `json:"error_rate"`
	Calls       int          `json:"calls"`
	Offers      int          `json:"offers"`
	LastSuccess time.Time    `json:"last_success,omitzero"`
	LastError   string       `json:"last_error,omitempty"`
	LastErrorAt time.Time    `json:"last_error_at,omitzero"`
}

// Health reports every provider, sorted by id.
func (a *Aggregator) Health() []Health {
	out := make([]Health, 0, len(a.sources))
	for _, src := range a.sources {
		out = append(out, a.health(src))
	}
	return out
}

// ProviderHealth reports one provider.
func (a *Aggregator) ProviderHealth(provider string) (Health, bool) {
	src, ok := a.byID[provider]
	if !ok {
		return Health{}, false
	}
	return a.health(src), true
}

func (a *Aggregator) health(src *source) Health {
	state := src.breaker.State()
	src.mu.Lock()
	defer src.mu.Unlock()
	h := Health{Provider: src.adapter.Provider(), Breaker: state, LatencyMS: float64(src.latency.Microseconds()) / 1000,
		Calls: src.calls, Offers: len(src.offers), LastSuccess: src.lastSuccess, LastError: src.lastError, LastErrorAt: src.lastErrorAt}
	n := min(src.calls, len(src.outcomes))
	fails := 0
	for i := 0; i < n; i++ {
		if !src.outcomes[i] {
			fails++
		}
	}
	if n > 0 {
		h.ErrorRate = float64(fails) / float64(n)
	}
	lastOK := n > 0 && src.outcomes[(src.calls-1)%len(src.outcomes)]
	switch {
	case n == 0:
		h.Status = "unknown"
	case state != BreakerClosed || !lastOK:
		h.Status = "unhealthy"
	case h.ErrorRate > 0:
		h.Status = "degraded"
	default:
		h.Status = "healthy"
	}
	return h
}

// Reliability is a provider's share of successful calls among the last
// twenty, 1 before any call; TOPSIS uses it as a criterion.
func (a *Aggregator) Reliability(provider string) float64 {
	src, ok := a.byID[provider]
	if !ok {
		return 0
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	n := min(src.calls, len(src.outcomes))
	if n == 0 {
		return 1
	}
	okc := 0
	for i := 0; i < n; i++ {
		if src.outcomes[i] {
			okc++
		}
	}
	return float64(okc) / float64(n)
}
