package vastai

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "14201843", Region: "US", PriceHour: 0.367, SpotPriceHour: 0.18}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_key": "vk"}})
		},
		Auth:   pt.Header("Authorization", "Bearer vk"),
		List:   []pt.Route{{Method: "POST", Path: "/bundles/", File: "bundles.json", Contains: `"rentable":{"eq":true}`}},
		Offers: 4,
		Expect: []pt.Want{
			{SKU: "14201843", Region: "US", GPU: "RTX-4090-24GB", Count: 1, Price: 0.367, Spot: 0.18, Availability: providers.Available},
			{SKU: "13877201", Region: "CA", GPU: "H100-SXM-80GB", Count: 8, Price: 14.51, Spot: 8.8},
			{SKU: "12010455", Region: "DE", GPU: "A100-SXM-80GB", Count: 2, Price: 1.93, Spot: 1.04, Availability: providers.None},
			{SKU: "11009977", Region: "unknown", GPU: "V100-SXM-16GB", Count: 1, Price: 0.2, Spot: 0.09},
		},
		Calls: []pt.Call{
			{Name: "accept an ask, read, stop, start and destroy", Routes: []pt.Route{
				{Method: "PUT", Path: "/asks/14201843/", File: "accept.json"},
				{Method: "GET", Path: "/instances/14299901/", File: "instance.json"},
				{Method: "PUT", Path: "/instances/14299901/", File: "ok.json"},
				{Method: "DELETE", Path: "/instances/14299901/", File: "ok.json"}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					inst, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					if err := pt.Expect(inst.ID == "14299901" && inst.State == providers.StatePending, "created %+v", inst); err != nil {
						return err
					}
					got, err := p.Instance(ctx, inst.ID)
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning && got.SSHPort == 19901 && got.PublicIP == "ssh5.vast.ai", "instance %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, inst.ID); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "an ask taken by someone else is no capacity", Routes: []pt.Route{{Method: "PUT", Path: "/asks/14201843/", File: "accept_taken.json"}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Spot: true})
					return err
				}, Want: providers.ErrNoCapacity},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "bundles.json", "malformed.json", "unauthorized.json")
}
