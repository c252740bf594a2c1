package salad

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const base = "/organizations/acme/projects/gpubroker/containers"

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "ed563892-aacd-40f5-80b7-90c9be6c759b", Region: "global", PriceHour: 0.30, SpotPriceHour: 0.16}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_key": "sk", "organization": "acme", "project": "gpubroker"}})
		},
		Auth:   pt.Header("Salad-Api-Key", "sk"),
		List:   []pt.Route{{Method: "GET", Path: "/organizations/acme/gpu-classes", File: "gpu_classes.json"}},
		Offers: 3,
		Expect: []pt.Want{
			{SKU: "ed563892-aacd-40f5-80b7-90c9be6c759b", Region: "global", GPU: "RTX-4090-24GB", Count: 1, Price: 0.30, Spot: 0.16, Availability: providers.Limited},
			{SKU: "f1380143-6b0b-4bd1-bd1e-ac6fb8fa6b16", Region: "global", GPU: "RTX-5090-32GB", Count: 1, Price: 0.37, Spot: 0.25, Availability: providers.Available},
		},
		Calls: []pt.Call{
			{Name: "create, read, stop, start and delete a container group", Routes: []pt.Route{
				{Method: "POST", Path: base, File: "group_created.json", Status: 201, Contains: `"priority":"batch"`},
				{Method: "GET", Path: base + "/pod-1", File: "group.json"},
				{Method: "POST", Path: base + "/pod-1/stop", Status: 202},
				{Method: "POST", Path: base + "/pod-1/start", Status: 202},
				{Method: "DELETE", Path: base + "/pod-1", Status: 202}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					inst, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", Spot: true})
					if err != nil {
						return err
					}
					if err := pt.Expect(inst.ID == "pod-1" && inst.PriceHour == 0.16, "created %+v", inst); err != nil {
						return err
					}
					got, err := p.Instance(ctx, "pod-1")
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning, "group %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, "pod-1"); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "an exceeded quota is a quota error", Routes: []pt.Route{{Method: "POST", Path: base, File: "quota.json", Status: 400}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-2"})
					return err
				}, Want: providers.ErrQuota},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "gpu_classes.json", "malformed.json", "unauthorized.json")
}
