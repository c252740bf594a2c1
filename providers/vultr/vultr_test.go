package vultr

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const instanceID = "cb676a46-66fd-4dfb-b839-443f2e6c0b60"

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "vcg-a100-12c-120g-80vram", Region: "ewr", PriceHour: 2.397}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_key": "k"}})
		},
		Auth:   pt.Header("Authorization", "Bearer k"),
		List:   []pt.Route{{Method: "GET", Path: "/plans", File: "plans.json"}},
		Offers: 3 + 2 + 3 + 1,
		Expect: []pt.Want{
			{SKU: "vcg-a100-12c-120g-80vram", Region: "lax", GPU: "A100-PCIE-80GB", Count: 1, Price: 2.397, Availability: providers.Available},
			{SKU: "vcg-h100-24c-240g-80vram", Region: "sjc", GPU: "H100-SXM-80GB", Count: 1, Price: 2.99},
			{SKU: "vcg-mi300x-8c-1536g-1536vram", Region: "ewr", GPU: "MI300X-OAM-192GB", Count: 8, Price: 17.52},
		},
		Calls: []pt.Call{
			{Name: "create then read an instance", Routes: []pt.Route{
				{Method: "POST", Path: "/instances", File: "create.json", Status: 202},
				{Method: "GET", Path: "/instances/" + instanceID, File: "instance.json"}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					inst, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					if err := pt.Expect(inst.ID == instanceID && inst.State == providers.StatePending, "created %+v", inst); err != nil {
						return err
					}
					got, err := p.Instance(ctx, inst.ID)
					if err != nil {
						return err
					}
					return pt.Expect(got.State == providers.StateRunning && got.PublicIP == "192.0.2.123", "instance %+v", got)
				}},
			{Name: "halt, start and delete", Routes: []pt.Route{
				{Method: "POST", Path: "/instances/" + instanceID + "/halt", Status: 204},
				{Method: "POST", Path: "/instances/" + instanceID + "/start", Status: 204},
				{Method: "DELETE", Path: "/instances/" + instanceID, Status: 204}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					if err := p.Stop(ctx, instanceID); err != nil {
						return err
					}
					if err := p.Start(ctx, instanceID); err != nil {
						return err
					}
					return p.Terminate(ctx, instanceID)
				}},
			{Name: "a plan missing from the region is no capacity", Routes: []pt.Route{
				{Method: "POST", Path: "/instances", File: "create_unavailable.json", Status: 400}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer})
					return err
				}, Want: providers.ErrNoCapacity},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "plans.json", "malformed.json", "unauthorized.json")
}
