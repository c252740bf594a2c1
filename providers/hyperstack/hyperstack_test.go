package hyperstack

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "n3-A100x1", Region: "CANADA-1", PriceHour: 1.35}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_key": "hs"}})
		},
		Auth:   pt.Header("api_key", "hs"),
		List:   []pt.Route{{Method: "GET", Path: "/core/flavors", File: "flavors.json"}, {Method: "GET", Path: "/pricebook", File: "pricebook.json"}},
		Offers: 4,
		Expect: []pt.Want{
			{SKU: "n3-A100x1", Region: "CANADA-1", GPU: "A100-PCIE-80GB", Count: 1, Price: 1.35, Availability: providers.Available},
			{SKU: "n3-A100x8", Region: "CANADA-1", GPU: "A100-PCIE-80GB", Count: 8, Price: 10.8, Availability: providers.None},
			{SKU: "n3-H100-SXM5x8", Region: "NORWAY-1", GPU: "H100-SXM-80GB", Count: 8, Price: 19.2},
			{SKU: "n3-RTX-A6000x1", Region: "NORWAY-1", GPU: "RTX-A6000-48GB", Count: 1, Price: 0.5},
		},
		Calls: []pt.Call{
			{Name: "create in an existing environment with a key, read, stop, start and delete", Routes: []pt.Route{
				{Method: "POST", Path: "/core/environments", File: "environment_exists.json", Status: 409},
				{Method: "POST", Path: "/core/keypairs", File: "keypair.json"},
				{Method: "POST", Path: "/core/virtual-machines", File: "create.json", Contains: `"flavor_name":"n3-A100x1"`},
				{Method: "GET", Path: "/core/virtual-machines/31337", File: "vm.json"},
				{Method: "GET", Path: "/core/virtual-machines/31337/stop", File: "ok.json"},
				{Method: "GET", Path: "/core/virtual-machines/31337/start", File: "ok.json"},
				{Method: "DELETE", Path: "/core/virtual-machines/31337", File: "ok.json"}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					inst, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					if err := pt.Expect(inst.ID == "31337" && inst.State == providers.StatePending, "created %+v", inst); err != nil {
						return err
					}
					got, err := p.Instance(ctx, "31337")
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning && got.PublicIP == "38.80.122.10", "vm %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, "31337"); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "no stock is no capacity", Routes: []pt.Route{
				{Method: "POST", Path: "/core/environments", File: "ok.json"},
				{Method: "POST", Path: "/core/virtual-machines", File: "create_no_stock.json", Status: 400}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-2"})
					return err
				}, Want: providers.ErrNoCapacity},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pb := []byte(`[{"name":"A100-80G-PCIe","value":"1.35"},{"name":"RTX-A6000","value":"0.5"}]`)
	pt.Fuzz(f, func(b []byte) ([]providers.Offer, error) { return DecodeOffers(b, pb) }, "flavors.json", "malformed.json", "unauthorized.json")
}
