package fluidstack

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "H100_SXM5_80GB::1", Region: "norway", PriceHour: 2.89}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_key": "fk"}})
		},
		Auth:   pt.Header("api-key", "fk"),
		List:   []pt.Route{{Method: "GET", Path: "/list_available_configurations", File: "configurations.json"}},
		Offers: 4*2 + 2 + 1,
		Expect: []pt.Want{
			{SKU: "H100_SXM5_80GB::8", Region: "iceland", GPU: "H100-SXM-80GB", Count: 8, Price: 23.12, Availability: providers.Available},
			{SKU: "A100_SXM4_80GB::1", Region: "us_east", GPU: "A100-SXM-80GB", Count: 1, Price: 1.8},
			{SKU: "RTX_A6000_48GB::1", Region: "norway", GPU: "RTX-A6000-48GB", Count: 1, Price: 0.8},
		},
		Calls: []pt.Call{
			{Name: "create with a key, find, stop, start and delete", Routes: []pt.Route{
				{Method: "POST", Path: "/ssh_keys", File: "ssh_key.json"},
				{Method: "POST", Path: "/instances", File: "create.json", Contains: `"ssh_key":"pod-1-key"`},
				{Method: "GET", Path: "/instances", File: "instances.json"},
				{Method: "PUT", Path: "/instances/inst-7f3a9c/stop", File: "ok.json"},
				{Method: "PUT", Path: "/instances/inst-7f3a9c/start", File: "ok.json"},
				{Method: "DELETE", Path: "/instances/inst-7f3a9c", File: "ok.json"}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					in, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					got, err := p.Instance(ctx, in.ID)
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning && got.PublicIP == "185.216.21.40", "instance %+v", got); err != nil {
						return err
					}
					if _, err := p.Instance(ctx, "nope"); providers.KindOf(err) != providers.KindNotFound {
						return pt.Expect(false, "an instance missing from the list: %v, want not found", err)
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, in.ID); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "out of stock is no capacity", Routes: []pt.Route{{Method: "POST", Path: "/instances", File: "out_of_stock.json", Status: 400}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-2"})
					return err
				}, Want: providers.ErrNoCapacity},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "configurations.json", "malformed.json", "unauthorized.json")
}
