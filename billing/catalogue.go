package billing

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/tenant"
)

// Catalogue lists each tenant's plans: prices and features from the
// parameters, and the processor's prices found by their lookup keys laid
// over them. The processor's prices are cached for plans.price_cache_ttl
// and looked up again in the background, so listing plans never waits on
// the processor: until the first lookup answers, the parameters' prices
// are listed.
type Catalogue struct {
	params   *params.Service
	backends *Backends
	now      func() time.Time
	log      *slog.Logger

	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu    sync.Mutex
	found map[string]*found // by processor account
}

// found is what one lookup at a processor answered.
type found struct {
	at         time.Time
	prices     map[string]Price // by lookup key
	source     PriceSource
	refreshing bool
}

// NewCatalogue returns a catalogue; Close stops its lookups.
func NewCatalogue(ps *params.Service, b *Backends, now func() time.Time, log *slog.Logger) *Catalogue {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Catalogue{params: ps, backends: b, now: now, log: log, ctx: ctx, stop: stop, found: map[string]*found{}}
}

// Close stops the lookups under way and waits for them.
func (c *Catalogue) Close() {
	// Under the lock no lookup can start once stopped, so Wait sees them all.
	c.mu.Lock()
	c.stop()
	c.mu.Unlock()
	c.wg.Wait()
}

// Plans lists the plans tenant t's users see; a zero tenant (a caller
// not signed in) sees the global parameters' plans.
func (c *Catalogue) Plans(t tenant.Tenant) Plans {
	snap := c.params.Snapshot()
	plans := PlansFrom(snap, t.ID, t.Mode)
	if t.ID == "" {
		return plans
	}
	choice, err := Choose(snap, t)
	if err != nil {
		return plans // the parameters' prices: the processor cannot be asked
	}
	account := choice.Account(t.ID)
	c.mu.Lock()
	f := c.found[account]
	if f == nil {
		f = &found{}
		c.found[account] = f
	}
	stale := f.at.IsZero() || c.now().Sub(f.at) >= snap.Duration(t.ID, t.Mode, "plans.price_cache_ttl")
	if stale && !f.refreshing && c.ctx.Err() == nil {
		f.refreshing = true
		c.wg.Add(1)
		go c.refresh(t, account, f, lookupKeys(plans))
	}
	prices, source := f.prices, f.source
	c.mu.Unlock()
	return overlay(plans, prices, source)
}

// lookupKeys lists the lookup keys of the paid plans' prices.
func lookupKeys(ps Plans) []string {
	var keys []string
	for _, p := range ps.Plans {
		if p.ID.Paid() {
			keys = append(keys, p.Monthly.LookupKey, p.Annual.LookupKey)
		}
	}
	return keys
}

// overlay sets each price found at the processor over the parameters'.
func overlay(ps Plans, prices map[string]Price, source PriceSource) Plans {
	if len(prices) == 0 {
		return ps
	}
	for i := range ps.Plans {
		for _, pp := range []*PlanPrice{&ps.Plans[i].Monthly, &ps.Plans[i].Annual} {
			if found, ok := prices[pp.LookupKey]; ok && pp.LookupKey != "" {
				pp.Amount, pp.Currency, pp.PriceID, pp.Source = found.Amount, found.Currency, found.ID, source
			}
		}
	}
	ps.Comparison = compare(ps.Plans)
	return ps
}

// refresh looks the prices up at t's processor into f. A failed lookup
// keeps what was found before and is tried again on the next listing; a
// lookup whose entry was forgotten meanwhile (plans synced while it ran)
// may have read the prices from before, and is dropped.
func (c *Catalogue) refresh(t tenant.Tenant, account string, f *found, keys []string) {
	defer c.wg.Done()
	prices, source, err := c.lookup(t, keys)
	c.mu.Lock()
	defer c.mu.Unlock()
	f.refreshing = false
	if c.found[account] != f {
		return
	}
	if err != nil {
		if c.ctx.Err() == nil {
			c.log.Warn("look up plan prices", "tenant", t.ID, "err", err)
		}
		return
	}
	f.at, f.prices, f.source = c.now(), prices, source
}

func (c *Catalogue) lookup(t tenant.Tenant, keys []string) (map[string]Price, PriceSource, error) {
	b, choice, err := c.backends.For(t)
	if err != nil {
		return nil, "", err
	}
	timeout := choice.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	list, err := b.Prices(ctx, keys)
	if err != nil {
		return nil, "", err
	}
	out := make(map[string]Price, len(list))
	for _, p := range list {
		out[p.LookupKey] = p
	}
	source := FromStripe
	if b.Kind() == BackendMock {
		source = FromMock
	}
	return out, source, nil
}

// Forget drops what was found at t's processor, so the next listing looks
// again (after plans were synced).
func (c *Catalogue) Forget(t tenant.Tenant) {
	choice, err := Choose(c.params.Snapshot(), t)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.found, choice.Account(t.ID))
}
