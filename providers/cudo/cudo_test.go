package cudo

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "epyc-milan-rtx-a6000:1", Region: "se-smedjebacken-1", VCPU: 4, PriceHour: 0.465}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_key": "ck", "project_id": "proj-1"}})
		},
		Auth:   pt.Header("Authorization", "Bearer ck"),
		List:   []pt.Route{{Method: "GET", Path: "/vms/machine-types-2", File: "machine_types.json"}},
		Offers: 3,
		Expect: []pt.Want{
			// 4 vCPU × 0.0022 + 16 GiB × 0.0026 + 0.40 + 100 GiB × 0.00013 + 0.005 = 0.4684
			{SKU: "epyc-milan-rtx-a6000:1", Region: "se-smedjebacken-1", GPU: "RTX-A6000-48GB", Count: 1, Price: 0.468, Availability: providers.Available},
			{SKU: "epyc-milan-rtx-a6000:4", Region: "se-smedjebacken-1", GPU: "RTX-A6000-48GB", Count: 4, Price: 1.82, Availability: providers.Limited},
			{SKU: "epyc-genoa-h100-pcie:1", Region: "no-luster-1", GPU: "H100-PCIE-80GB", Count: 1, Price: 2.392, Availability: providers.Limited},
		},
		Calls: []pt.Call{
			{Name: "create, read, stop, start and terminate a VM", Routes: []pt.Route{
				{Method: "POST", Path: "/projects/proj-1/vm", File: "create.json", Contains: `"gpus":1`},
				{Method: "GET", Path: "/projects/proj-1/vms/pod-1", File: "vm.json"},
				{Method: "POST", Path: "/projects/proj-1/vms/pod-1/stop", File: "empty.json"},
				{Method: "POST", Path: "/projects/proj-1/vms/pod-1/start", File: "empty.json"},
				{Method: "POST", Path: "/projects/proj-1/vms/pod-1/terminate", File: "empty.json"}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					inst, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					got, err := p.Instance(ctx, inst.ID)
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning && got.PublicIP == "185.0.2.77", "vm %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, inst.ID); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "insufficient capacity is no capacity", Routes: []pt.Route{{Method: "POST", Path: "/projects/proj-1/vm", File: "no_capacity.json", Status: 400}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-2"})
					return err
				}, Want: providers.ErrNoCapacity},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "machine_types.json", "malformed.json", "unauthorized.json")
}
