package scaleway

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const serverID = "fr-par-2/5c3f7a1e-0a2b-4c8d-9e6f-1a2b3c4d5e6f"

func listing() []pt.Route {
	var rs []pt.Route
	for _, z := range Zones {
		types, avail := "servers_empty.json", "availability_empty.json"
		if z == "fr-par-2" {
			types, avail = "servers_fr_par_2.json", "availability_fr_par_2.json"
		}
		rs = append(rs, pt.Route{Method: "GET", Path: "/zones/" + z + "/products/servers", File: types},
			pt.Route{Method: "GET", Path: "/zones/" + z + "/products/servers/availability", File: avail})
	}
	return rs
}

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "L4-1-24G", Region: "fr-par-2", PriceHour: 0.81}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"secret_key": "scw-secret", "project_id": "p"}})
		},
		Auth:   pt.Header("X-Auth-Token", "scw-secret"),
		List:   listing(),
		Offers: 3,
		Expect: []pt.Want{
			{SKU: "H100-1-80G", Region: "fr-par-2", GPU: "H100-PCIE-80GB", Count: 1, Price: 2.948, Availability: providers.Limited},
			{SKU: "H100-SXM-8-80G", Region: "fr-par-2", GPU: "H100-SXM-80GB", Count: 8, Price: 24.883, Availability: providers.None},
			{SKU: "L4-1-24G", Region: "fr-par-2", GPU: "L4-PCIE-24GB", Count: 1, Price: 0.81, Availability: providers.Available},
		},
		Calls: []pt.Call{
			{Name: "create and power on, read, power off and terminate", Routes: []pt.Route{
				{Method: "POST", Path: "/zones/fr-par-2/servers", File: "create.json", Status: 201},
				{Method: "POST", Path: "/zones/fr-par-2/servers/5c3f7a1e-0a2b-4c8d-9e6f-1a2b3c4d5e6f/action", File: "task.json", Status: 202},
				{Method: "GET", Path: "/zones/fr-par-2/servers/5c3f7a1e-0a2b-4c8d-9e6f-1a2b3c4d5e6f", File: "server.json"}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					inst, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1"})
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
					if err := pt.Expect(got.State == providers.StateRunning && got.PublicIP == "51.15.0.10", "server %+v", got); err != nil {
						return err
					}
					if err := p.Stop(ctx, serverID); err != nil {
						return err
					}
					return p.Terminate(ctx, serverID)
				}},
			{Name: "an exceeded quota is a quota error", Routes: []pt.Route{{Method: "POST", Path: "/zones/fr-par-2/servers", File: "quota.json", Status: 403}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer})
					return err
				}, Want: providers.ErrQuota},
			{Name: "an id without its zone is refused", Do: func(ctx context.Context, a providers.Adapter) error {
				return a.(*Adapter).Stop(ctx, "5c3f7a1e")
			}, Want: providers.ErrInvalid},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	avail := []byte(`{"servers":{"H100-1-80G":{"availability":"available"}}}`)
	pt.Fuzz(f, func(b []byte) ([]providers.Offer, error) { return DecodeOffers("fr-par-2", b, avail) },
		"servers_fr_par_2.json", "malformed.json", "servers_empty.json")
}
