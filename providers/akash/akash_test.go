package akash

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const dseq = "23198734"

func newAdapter(u string) providers.Adapter {
	a := New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_key": "ak"}})
	a.BidWait, a.BidPoll = 30*time.Millisecond, 5*time.Millisecond
	return a
}

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "nvidia/h100/80Gi/sxm5:1", Region: Region, PriceHour: 1.74}
	create := func(ctx context.Context, a providers.Adapter) error {
		_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-2"})
		return err
	}
	pt.Run(t, pt.Suite{
		New:    newAdapter,
		Auth:   pt.Header("x-api-key", "ak"),
		List:   []pt.Route{{Method: "GET", Path: "/v1/gpu-prices", File: "gpu_prices.json"}},
		Offers: 16,
		Expect: []pt.Want{
			{SKU: "nvidia/h100/80Gi/sxm5:8", Region: Region, GPU: "H100-SXM-80GB", Count: 8, Price: 13.92, Availability: providers.Available},
			{SKU: "nvidia/a100/80Gi/pcie:1", Region: Region, GPU: "A100-PCIE-80GB", Count: 1, Price: 0.96, Availability: providers.Available},
			{SKU: "nvidia/a100/80Gi/pcie:2", Region: Region, GPU: "A100-PCIE-80GB", Count: 2, Price: 1.92, Availability: providers.Limited},
			{SKU: "nvidia/a100/80Gi/pcie:4", Region: Region, GPU: "A100-PCIE-80GB", Count: 4, Price: 3.84, Availability: providers.None},
			{SKU: "nvidia/rtx4090/24Gi/pcie:1", Region: Region, GPU: "RTX-4090-24GB", Count: 1, Price: 0.41, Availability: providers.None},
			{SKU: "nvidia/a6000/48Gi/pcie:8", Region: Region, GPU: "RTX-A6000-48GB", Count: 8, Price: 3.76, Availability: providers.Limited},
		},
		Calls: []pt.Call{
			{Name: "deploy, lease the cheapest open bid, read the SSH port, close", Routes: []pt.Route{
				{Method: "POST", Path: "/v1/deployments", File: "deployment_created.json", Contains: `model: h100`},
				{Method: "GET", Path: "/v1/bids", Query: "dseq=" + dseq, File: "bids.json"},
				{Method: "POST", Path: "/v1/leases", File: "lease_created.json", Contains: `"provider":"akash1providercheap"`},
				{Method: "GET", Path: "/v1/deployments/" + dseq, File: "deployment.json"},
				{Method: "DELETE", Path: "/v1/deployments/" + dseq, File: "closed.json"}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					in, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					if err := pt.Expect(in.ID == dseq && in.PriceHour == 1.711, "created %+v", in); err != nil {
						return err
					}
					got, err := p.Instance(ctx, dseq)
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning && got.PublicIP == "provider.gpu-east.example.net" && got.SSHPort == 31022,
						"instance %+v", got); err != nil {
						return err
					}
					if err := pt.Expect(providers.KindOf(p.Stop(ctx, dseq)) == providers.KindUnsupported, "stop must be unsupported"); err != nil {
						return err
					}
					return p.Terminate(ctx, dseq)
				}},
			{Name: "no bid in time closes the deployment and is no capacity", Routes: []pt.Route{
				{Method: "POST", Path: "/v1/deployments", File: "deployment_created.json"},
				{Method: "GET", Path: "/v1/bids", File: "no_bids.json"},
				{Method: "DELETE", Path: "/v1/deployments/" + dseq, File: "closed.json"}},
				Do: create, Want: providers.ErrNoCapacity},
			{Name: "a wallet that cannot fund the deposit is a quota error", Routes: []pt.Route{
				{Method: "POST", Path: "/v1/deployments", File: "insufficient_funds.json", Status: 400}},
				Do: create, Want: providers.ErrQuota},
		},
	})
}

func TestSDLAsksForTheOffersGPUsUnderACeiling(t *testing.T) {
	sdl, err := SDL(providers.CreateRequest{Offer: providers.Offer{SKU: "nvidia/a100/80Gi/pcie:2", PriceHour: 1.92}, SSHPublicKey: `ssh-ed25519 AAAA "q"`})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"units: 2\n", "nvidia:\n                - model: a100\n                  ram: 80Gi\n                  interface: pcie\n",
		"denom: uact\n          amount: 4067\n", // 1.92 × 1.25 $/h in micro-dollars per 6.1 s block, rounded up
		`- "PUBLIC_KEY=ssh-ed25519 AAAA \"q\""`, "size: 64Gi", "units: 16\n",
	} {
		if !strings.Contains(sdl, want) {
			t.Errorf("SDL lacks %q:\n%s", want, sdl)
		}
	}
	if _, err := SDL(providers.CreateRequest{Offer: providers.Offer{SKU: "h100"}}); providers.KindOf(err) != providers.KindInvalid {
		t.Errorf("a bad SKU: %v", err)
	}
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "gpu_prices.json", "malformed.json", "unauthorized.json")
}
