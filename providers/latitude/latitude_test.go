package latitude

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const serverID = "sv_KXgRdRyoOv9k5"

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "g3-h100-small", Region: "DAL", PriceHour: 2.1}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_key": "lk", "project": "proj_1"}})
		},
		Auth:   pt.Header("Authorization", "Bearer lk"),
		List:   []pt.Route{{Method: "GET", Path: "/plans", File: "plans.json"}},
		Offers: 4,
		Expect: []pt.Want{
			{SKU: "g3-h100-small", Region: "DAL", GPU: "H100-PCIE-80GB", Count: 1, Price: 2.1, Availability: providers.Available},
			{SKU: "g3-h100-small", Region: "NYC", GPU: "H100-PCIE-80GB", Count: 1, Price: 2.1, Availability: providers.None},
			{SKU: "g3-h100-small", Region: "FRA", GPU: "H100-PCIE-80GB", Count: 1, Price: 2.25, Availability: providers.Limited},
			{SKU: "g3-h100-large", Region: "DAL", GPU: "H100-SXM-80GB", Count: 8, Price: 17.6, Availability: providers.None},
		},
		Calls: []pt.Call{
			{Name: "deploy with a key, read, power off and on, delete", Routes: []pt.Route{
				{Method: "POST", Path: "/ssh_keys", File: "ssh_key.json", Status: 201},
				{Method: "POST", Path: "/servers", File: "deployed.json", Status: 201, Contains: `"ssh_keys":["ssh_59bgLMQlx6jLZ"]`},
				{Method: "GET", Path: "/servers/" + serverID, File: "server.json"},
				{Method: "POST", Path: "/servers/" + serverID + "/actions", File: "action.json", Status: 201},
				{Method: "DELETE", Path: "/servers/" + serverID, Status: 204}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					inst, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					if err := pt.Expect(inst.ID == serverID && inst.State == providers.StatePending, "created %+v", inst); err != nil {
						return err
					}
					got, err := p.Instance(ctx, serverID)
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning && got.PublicIP == "186.233.187.20" && got.Region == "DAL", "server %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, serverID); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "out of stock is no capacity", Routes: []pt.Route{{Method: "POST", Path: "/servers", File: "out_of_stock.json", Status: 422}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-2"})
					return err
				}, Want: providers.ErrNoCapacity},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "plans.json", "malformed.json", "unauthorized.json")
}
