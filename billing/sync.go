package billing

import (
	"context"
	"fmt"

	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/tenant"
)

// Synced is one product or price SyncPlans looked at.
type Synced struct {
	Tenant    string       `json:"tenant"`
	Backend   BackendKind  `json:"backend"`
	Object    string       `json:"object"`
	ID        string       `json:"id"`
	LookupKey string       `json:"lookup_key,omitempty"`
	Amount    money.Amount `json:"amount,omitempty"`
	Currency  string       `json:"currency,omitempty"`
	Interval  Interval     `json:"interval,omitempty"`
	Created   bool         `json:"created"`
}

func (s Synced) String() string {
	verb := "up to date"
	if s.Created {
		verb = "created"
	}
	if s.Object == "product" {
		return fmt.Sprintf("%s %s: product %s %s", s.Tenant, s.Backend, s.ID, verb)
	}
	return fmt.Sprintf("%s %s: price %s (%s %s %s) %s", s.Tenant, s.Backend, s.LookupKey, s.Amount.Decimal(), s.Currency, s.Interval, verb)
}

// pricesByKey finds the prices of these lookup keys at b.
func pricesByKey(ctx context.Context, b Backend, keys []string) (map[string]Price, error) {
	list, err := b.Prices(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Price, len(list))
	for _, p := range list {
		out[p.LookupKey] = p
	}
	return out, nil
}

// ensurePrice answers the price found for want's lookup key when it asks
// what want says, and otherwise makes one that does (taking the lookup
// key over), with its plan's product. It reports whether it made it.
func ensurePrice(ctx context.Context, b Backend, plan Plan, want PlanPrice, found map[string]Price) (Price, bool, error) {
	if p, ok := found[want.LookupKey]; ok && p.Amount == want.Amount && p.Currency == want.Currency && p.Interval == want.Interval {
		return p, false, nil
	}
	if _, err := b.EnsureProduct(ctx, productOf(plan.ID)); err != nil {
		return Price{}, false, err
	}
	p, err := b.CreatePrice(ctx, PriceSpec{Product: ProductID(plan.ID), LookupKey: want.LookupKey, Amount: want.Amount,
		Currency: want.Currency, Interval: want.Interval})
	return p, err == nil, err
}

func productOf(p PlanID) ProductSpec {
	return ProductSpec{ID: ProductID(p), Name: "GPUBROKER POD " + p.Name(),
		Description: fmt.Sprintf("The %s plan of GPUBROKER POD", p.Name())}
}

// SyncPlans makes, at the backend serving tenant t, each paid plan's
// product and each price the parameters declare that the backend lacks
// (or prices otherwise), and lists what it found and made.
func (s *Service) SyncPlans(ctx context.Context, t tenant.Tenant) ([]Synced, error) {
	b, _, err := s.backend(t)
	if err != nil {
		return nil, err
	}
	plans := PlansFrom(s.params.Snapshot(), t.ID, t.Mode)
	found, err := pricesByKey(ctx, b, lookupKeys(plans))
	if err != nil {
		return nil, err
	}
	var out []Synced
	for _, plan := range plans.Plans {
		if !plan.ID.Paid() {
			continue
		}
		created, err := b.EnsureProduct(ctx, productOf(plan.ID))
		if err != nil {
			return out, err
		}
		out = append(out, Synced{Tenant: t.ID, Backend: b.Kind(), Object: "product", ID: ProductID(plan.ID), Created: created})
		for _, i := range Intervals {
			want := plan.Price(i)
			p, made, err := ensurePrice(ctx, b, plan, want, found)
			if err != nil {
				return out, err
			}
			out = append(out, Synced{Tenant: t.ID, Backend: b.Kind(), Object: "price", ID: p.ID, LookupKey: want.LookupKey,
				Amount: want.Amount, Currency: want.Currency, Interval: i, Created: made})
		}
	}
	s.catalogue.Forget(t)
	return out, nil
}

// SyncAccounts syncs the plans of every Stripe account the tenants use,
// once per account (the first tenant reaching it speaks for it). The
// Mock is left out: it makes its prices when they are first needed.
func (s *Service) SyncAccounts(ctx context.Context, tenants []tenant.Tenant) ([]Synced, error) {
	seen := map[string]bool{}
	var out []Synced
	for _, t := range tenants {
		c, err := Choose(s.params.Snapshot(), t)
		if err != nil || c.Kind != BackendStripe || seen[c.Account(t.ID)] {
			continue
		}
		seen[c.Account(t.ID)] = true
		done, err := s.SyncPlans(ctx, t)
		out = append(out, done...)
		if err != nil {
			return out, fmt.Errorf("sync the plans of tenant %s: %w", t.ID, err)
		}
	}
	return out, nil
}
