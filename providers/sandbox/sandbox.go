// Package sandbox simulates every provider of the catalog for SANDBOX
// mode: offers from a compiled list of public prices (catalog.csv, dated
// in its header) whose prices drift and whose availability changes over
// time, and machines that boot after a configurable delay and fail at a
// configurable rate. The simulation is deterministic in time: every
// instance of the platform shows the same price at the same minute.
// Machines are kept in the database, so they survive restarts.
//
// It must never call a real provider.
package sandbox

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/providers"
)

//go:embed catalog.csv
var catalogCSV string

// Entry is one row of the catalog: a shape at its list price.
type Entry struct {
	Provider      string
	SKU           string
	GPU           string
	GPUCount      int
	VCPU          int
	RAMGB         float64
	DiskGB        int
	Region        string
	PriceHour     float64
	SpotPriceHour float64
	Interconnect  string
}

var header = []string{"provider", "sku", "gpu", "gpu_count", "vcpu", "ram_gb", "disk_gb", "region", "price_hour", "spot_price_hour", "interconnect"}

// Catalog parses the embedded catalog.
func Catalog() ([]Entry, error) { return ParseCatalog(strings.NewReader(catalogCSV)) }

// ParseCatalog reads a catalog: '#' comment lines, the header, then rows.
// Every row must name a supported provider and a canonical GPU.
func ParseCatalog(r io.Reader) ([]Entry, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1 // checked below, after the header
	first, err := cr.Read()
	if err != nil || strings.Join(first, ",") != strings.Join(header, ",") {
		return nil, fmt.Errorf("sandbox catalog: header must be %s", strings.Join(header, ","))
	}
	supported := map[string]bool{}
	for _, p := range providers.Supported {
		supported[p.ID] = true
	}
	seen := map[string]bool{}
	var out []Entry
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("sandbox catalog: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(row) != len(header) {
			return nil, fmt.Errorf("sandbox catalog line %d: %d fields, want %d", line, len(row), len(header))
		}
		e := Entry{Provider: row[0], SKU: row[1], GPU: row[2], Region: row[7], Interconnect: row[10]}
		var errs []string
		num := func(s string, f *float64, name string, optional bool) {
			if s == "" && optional {
				return
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				errs = append(errs, name+" "+strconv.Quote(s))
				return
			}
			*f = v
		}
		var count, vcpu, disk float64
		num(row[3], &count, "gpu_count", false)
		num(row[4], &vcpu, "vcpu", false)
		num(row[5], &e.RAMGB, "ram_gb", false)
		num(row[6], &disk, "disk_gb", false)
		num(row[8], &e.PriceHour, "price_hour", false)
		num(row[9], &e.SpotPriceHour, "spot_price_hour", true)
		e.GPUCount, e.VCPU, e.DiskGB = int(count), int(vcpu), int(disk)
		if !supported[e.Provider] {
			errs = append(errs, "provider "+strconv.Quote(e.Provider))
		}
		if _, ok := providers.LookupGPU(e.GPU); !ok {
			errs = append(errs, "gpu "+strconv.Quote(e.GPU))
		}
		if e.GPUCount < 1 || e.PriceHour <= 0 || e.SKU == "" || e.Region == "" {
			errs = append(errs, "needs a sku, a region, a GPU count and a price")
		}
		key := e.Provider + "/" + e.SKU + "/" + e.Region
		if seen[key] {
			errs = append(errs, "repeats "+key)
		}
		seen[key] = true
		if len(errs) > 0 {
			return nil, fmt.Errorf("sandbox catalog line %d: %s", line, strings.Join(errs, "; "))
		}
		out = append(out, e)
	}
	return out, nil
}

// Behaviour is how simulated provisioning behaves; the app reads it from
// the parameters sandbox.provision_delay and sandbox.failure_rate.
type Behaviour struct {
	Delay       time.Duration
	FailureRate float64
}

// Machine is a machine of a simulated provider: what the simulation needs
// to answer status calls across restarts.
type Machine struct {
	providers.Instance
	Name string
	// Fail marks a machine the simulation decided will fail to boot.
	Fail bool
	// ReadyAt is when a pending machine finishes booting.
	ReadyAt   time.Time
	UpdatedAt time.Time
}

// Machines stores simulated machines (the store implements it). Get
// answers a fault.KindNotFound error for an unknown id.
type Machines interface {
	CreateSandboxInstance(ctx context.Context, m Machine) error
	GetSandboxInstance(ctx context.Context, id string) (Machine, error)
	SetSandboxInstanceState(ctx context.Context, id string, to providers.InstanceState, readyAt time.Time, from ...providers.InstanceState) (bool, error)
}

// Options configure the simulated providers.
type Options struct {
	Machines  Machines
	Behaviour func() Behaviour
	Now       func() time.Time
}

// Provider simulates one provider: its share of the catalog and its
// machines.
type Provider struct {
	id      string
	entries []Entry
	bySKU   map[string]*Entry
	shapes  providers.Shapes
	o       Options
}

// Providers builds one simulated provider per provider in the catalog,
// sorted by id.
func Providers(entries []Entry, o Options) []*Provider {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Behaviour == nil {
		o.Behaviour = func() Behaviour { return Behaviour{} }
	}
	byProvider := map[string]*Provider{}
	for _, e := range entries {
		p := byProvider[e.Provider]
		if p == nil {
			p = &Provider{id: e.Provider, bySKU: map[string]*Entry{}, o: o}
			byProvider[e.Provider] = p
		}
		p.entries = append(p.entries, e)
	}
	var out []*Provider
	for _, p := range byProvider {
		for i := range p.entries {
			e := &p.entries[i]
			p.bySKU[e.SKU+"\x00"+e.Region] = e
		}
		p.shapes = providers.Span(slices.Values(p.entries), func(e Entry) providers.Machine {
			return providers.Machine{GPUs: e.GPUCount, VCPU: e.VCPU, RAMGiB: e.RAMGB, Region: e.Region}
		}, providers.AnyDisk, nil)
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Adapters returns the providers as aggregator adapters.
func Adapters(ps []*Provider) []providers.Adapter {
	out := make([]providers.Adapter, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// Provider implements providers.Adapter.
func (p *Provider) Provider() string { return p.id }

// Shapes implements providers.Shaper: the machines the provider's rows of
// the catalog describe (their GPU counts, the span of their vCPUs and
// RAM, their regions). A simulated machine takes any disk: the catalog's
// figure is the disk a shape includes, not a limit.
func (p *Provider) Shapes() providers.Shapes { return p.shapes }

// ListOffers returns the provider's catalog rows at this moment's
// simulated prices and availability.
func (p *Provider) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := p.o.Now()
	out := make([]providers.Offer, 0, len(p.entries))
	for i := range p.entries {
		out = append(out, p.offer(&p.entries[i], now))
	}
	return out, nil
}

func (p *Provider) offer(e *Entry, now time.Time) providers.Offer {
	o := providers.Offer{Provider: e.Provider, SKU: e.SKU, GPU: e.GPU, GPUCount: e.GPUCount, VCPU: e.VCPU, RAMGB: e.RAMGB,
		DiskGB: e.DiskGB, Region: e.Region, Interconnect: e.Interconnect}
	seed := hash64(e.Provider, e.SKU, e.Region)
	o.PriceHour, o.SpotPriceHour = Price(e.PriceHour, e.SpotPriceHour, seed, now)
	o.Availability, o.AvailableCount = Availability(seed, now)
	// Prices move once a minute; the offer was last updated then.
	o.Normalize(now.Truncate(time.Minute))
	return o
}

// Price is the simulated price at t: the list price moved by a daily wave
// of ±5 %, an hourly wave of ±2 % and a per-minute step of ±1 %, each with
// the offer's own phase. Spot prices swing twice as wide and stay at or
// below 90 % of on-demand. Both are rounded to a tenth of a cent.
func Price(base, spot float64, seed uint64, t time.Time) (float64, float64) {
	// Prices move once a minute: every instance shows the same price for
	// the whole minute.
	sec := float64(t.Truncate(time.Minute).Unix())
	phase := float64(seed%1000) / 1000 * 2 * math.Pi
	minute := uint64(t.Unix() / 60)
	step := unit(seed^minute*0x9e3779b97f4a7c15)*2 - 1
	move := 0.05*math.Sin(2*math.Pi*sec/86400+phase) + 0.02*math.Sin(2*math.Pi*sec/3600+1.7*phase) + 0.01*step
	price := round3(base * (1 + move))
	if spot > 0 {
		spot = round3(math.Min(spot*(1+2*move), price*0.9))
	}
	return price, spot
}

// Availability changes every five minutes: about 72 % of the time an
// offer is available (3 to 40 machines), 18 % limited (1 or 2), 10 % none.
func Availability(seed uint64, t time.Time) (providers.Availability, int) {
	bucket := uint64(t.Unix() / 300)
	r := unit(seed ^ (bucket+1)*0xbf58476d1ce4e5b9)
	switch {
	case r < 0.72:
		return providers.Available, 3 + int(unit(seed+bucket)*38)
	case r < 0.90:
		return providers.Limited, 1 + int(unit(seed+bucket)*2)
	}
	return providers.None, 0
}

func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}

// unit maps a 64-bit value to [0,1) through splitmix64, so neighbouring
// inputs give unrelated outputs.
func unit(x uint64) float64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func (p *Provider) machine(ctx context.Context, id string) (Machine, error) {
	m, err := p.o.Machines.GetSandboxInstance(ctx, id)
	if fault.KindOf(err) == fault.KindNotFound || (err == nil && m.Provider != p.id) {
		return m, &providers.Error{Provider: p.id, Op: "get instance", Kind: providers.KindNotFound, Status: 404, Message: "no instance " + id}
	}
	return m, err
}

// Create starts a simulated machine of the offer's shape. A shape the
// catalog lacks is not found; one with no availability now has no
// capacity. With the failure rate, a machine fails: at once when there is
// no delay, else when its boot would end.
func (p *Provider) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	e, ok := p.bySKU[req.Offer.SKU+"\x00"+req.Offer.Region]
	if !ok {
		return providers.Instance{}, &providers.Error{Provider: p.id, Op: "create", Kind: providers.KindNotFound, Status: 404,
			Message: fmt.Sprintf("no shape %s in %s", req.Offer.SKU, req.Offer.Region)}
	}
	now := p.o.Now()
	offer := p.offer(e, now)
	if offer.Availability == providers.None {
		return providers.Instance{}, &providers.Error{Provider: p.id, Op: "create", Kind: providers.KindNoCapacity, Status: 409,
			Message: "no capacity for " + e.SKU + " in " + e.Region + " right now"}
	}
	b := p.o.Behaviour()
	fail := b.FailureRate > 0 && mrand.Float64() < b.FailureRate
	if fail && b.Delay == 0 {
		return providers.Instance{}, &providers.Error{Provider: p.id, Op: "create", Kind: providers.KindNoCapacity, Status: 409,
			Message: "simulated failure: the provider ran out of capacity"}
	}
	var raw [6]byte
	_, _ = rand.Read(raw[:])
	price := offer.PriceHour
	if req.Spot && offer.SpotPriceHour > 0 {
		price = offer.SpotPriceHour
	}
	m := Machine{Instance: providers.Instance{
		ID: "sbx-" + p.id + "-" + hex.EncodeToString(raw[:]), Provider: p.id, SKU: e.SKU, Region: e.Region,
		State: providers.StatePending, PriceHour: price, SSHPort: 22, CreatedAt: now,
		PublicIP: fmt.Sprintf("203.0.113.%d", 1+binary.BigEndian.Uint16(raw[4:])%254),
	}, Name: req.Name, Fail: fail, ReadyAt: now.Add(b.Delay), UpdatedAt: now}
	if b.Delay == 0 {
		m.State = providers.StateRunning
	}
	if err := p.o.Machines.CreateSandboxInstance(ctx, m); err != nil {
		return providers.Instance{}, err
	}
	return m.Instance, nil
}

// Instance reads a machine, finishing its boot when the delay has passed.
func (p *Provider) Instance(ctx context.Context, id string) (providers.Instance, error) {
	m, err := p.machine(ctx, id)
	if err != nil {
		return providers.Instance{}, err
	}
	if m.State == providers.StatePending && !p.o.Now().Before(m.ReadyAt) {
		to := providers.StateRunning
		if m.Fail {
			to = providers.StateFailed
		}
		if _, err := p.o.Machines.SetSandboxInstanceState(ctx, id, to, m.ReadyAt, providers.StatePending); err != nil {
			return providers.Instance{}, err
		}
		m.State = to
	}
	return m.Instance, nil
}

// Start boots a stopped machine again.
func (p *Provider) Start(ctx context.Context, id string) error {
	b := p.o.Behaviour()
	to := providers.StatePending
	if b.Delay == 0 {
		to = providers.StateRunning
	}
	return p.move(ctx, "start", id, to, p.o.Now().Add(b.Delay), providers.StateStopped)
}

// Stop halts a running machine.
func (p *Provider) Stop(ctx context.Context, id string) error {
	return p.move(ctx, "stop", id, providers.StateStopped, p.o.Now(), providers.StateRunning)
}

// Terminate ends a machine in any state but terminated.
func (p *Provider) Terminate(ctx context.Context, id string) error {
	return p.move(ctx, "terminate", id, providers.StateTerminated, p.o.Now(),
		providers.StatePending, providers.StateRunning, providers.StateStopping, providers.StateStopped, providers.StateFailed)
}

func (p *Provider) move(ctx context.Context, op, id string, to providers.InstanceState, readyAt time.Time, from ...providers.InstanceState) error {
	cur, err := p.Instance(ctx, id) // settles a finished boot first
	if err != nil {
		return err
	}
	ok, err := p.o.Machines.SetSandboxInstanceState(ctx, id, to, readyAt, from...)
	if err != nil {
		return err
	}
	if !ok {
		return &providers.Error{Provider: p.id, Op: op, Kind: providers.KindInvalid, Status: 409,
			Message: fmt.Sprintf("cannot %s an instance that is %s", op, cur.State)}
	}
	return nil
}
