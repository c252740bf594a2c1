package sandbox

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/providers/providertest"
)

func TestTheCatalogIsLargeAndValid(t *testing.T) {
	entries, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	perProvider := map[string]int{}
	h100 := 0
	for _, e := range entries {
		perProvider[e.Provider]++
		if e.GPU == "H100-SXM-80GB" {
			h100++
		}
		if e.SpotPriceHour > e.PriceHour {
			t.Errorf("%s %s %s: spot %v above on-demand %v", e.Provider, e.SKU, e.Region, e.SpotPriceHour, e.PriceHour)
		}
	}
	if len(entries) < 200 || len(perProvider) < 15 {
		t.Fatalf("catalog has %d offers across %d providers; want ≥ 200 across ≥ 15", len(entries), len(perProvider))
	}
	if h100 < 20 {
		t.Errorf("only %d H100-SXM-80GB offers", h100)
	}
	if !strings.Contains(catalogCSV, "2026") {
		t.Error("the catalog must say when its prices were compiled")
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, p := range Providers(entries, Options{Now: func() time.Time { return now }}) {
		offers, err := p.ListOffers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		providertest.CheckOffers(t, p.Provider(), offers)
		providertest.CheckShapes(t, p, offers)
	}
}

func TestCatalogErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct{ name, csv, want string }{
		{"bad header", "a,b\n", "header"},
		{"unknown gpu", strings.Join(header, ",") + "\nlambda,x,H900,1,8,32,100,us-east-1,1.0,,\n", `line 2: gpu "H900"`},
		{"unknown provider", strings.Join(header, ",") + "\nacme,x,A10-PCIE-24GB,1,8,32,100,r,1.0,,\n", `provider "acme"`},
		{"bad price", strings.Join(header, ",") + "\nlambda,x,A10-PCIE-24GB,1,8,32,100,r,cheap,,\n", `price_hour "cheap"`},
		{"repeated row", strings.Join(header, ",") + "\nlambda,x,A10-PCIE-24GB,1,8,32,100,r,1,,\nlambda,x,A10-PCIE-24GB,1,8,32,100,r,1,,\n", "line 3: repeats lambda/x/r"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCatalog(strings.NewReader(c.csv))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestPricesDriftAndAvailabilityChangesOverTime(t *testing.T) {
	seed := hash64("lambda", "gpu_1x_h100_pcie", "us-east-1")
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	seen := map[float64]bool{}
	avail := map[providers.Availability]bool{}
	for i := 0; i < 24*60; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		price, spot := Price(2.49, 1.5, seed, at)
		if price < 2.49*0.92 || price > 2.49*1.08 {
			t.Fatalf("price %v strays more than 8 %% from 2.49", price)
		}
		if spot > price*0.9+1e-9 || spot <= 0 {
			t.Fatalf("spot %v against on-demand %v", spot, price)
		}
		seen[price] = true
		a, n := Availability(seed, at)
		avail[a] = true
		if (a == providers.None) != (n == 0) {
			t.Fatalf("availability %s with count %d", a, n)
		}
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct prices in a day", len(seen))
	}
	if len(avail) != 3 {
		t.Errorf("availability levels seen in a day: %v", avail)
	}
	p1, _ := Price(2.49, 0, seed, t0.Add(10*time.Second))
	p2, _ := Price(2.49, 0, seed, t0.Add(10*time.Second))
	if p1 != p2 {
		t.Error("the same instant must give the same price on every instance")
	}
}
