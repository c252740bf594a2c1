package azure

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const vmPath = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/pod-1"

var (
	arm   = pt.Header("Authorization", "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.arm")
	token = pt.Route{Method: "POST", Path: "/tid/oauth2/v2.0/token", File: "token.json", Contains: "grant_type=client_credentials",
		Check: pt.Header("Content-Type", "application/x-www-form-urlencoded")}
)

func creds(u string) providers.Config {
	return providers.Config{BaseURL: u, Credentials: map[string]string{"tenant_id": "tid", "client_id": "cid", "client_secret": "cs",
		"subscription_id": "sub", "resource_group": "rg", "subnet_id": "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"}}
}

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "Standard_NC4as_T4_v3", Region: "eastus", PriceHour: 0.526}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter { return New(creds(u)) },
		// Two pages: the second is reached through NextPageLink.
		List: []pt.Route{
			{Method: "GET", Path: "/api/retail/prices", File: "prices_1.json"},
			{Method: "GET", Path: "/api/retail/prices", File: "prices_2.json", Query: "skip=1000"},
		},
		Offers: 3,
		Expect: []pt.Want{
			{SKU: "Standard_ND96isr_H100_v5", Region: "eastus", GPU: "H100-SXM-80GB", Count: 8, Price: 98.32, Spot: 39.33, Availability: providers.Available},
			{SKU: "Standard_NC24ads_A100_v4", Region: "westeurope", GPU: "A100-PCIE-80GB", Count: 1, Price: 3.673},
			{SKU: "Standard_NC4as_T4_v3", Region: "eastus", GPU: "T4-PCIE-16GB", Count: 1, Price: 0.526},
		},
		Calls: []pt.Call{
			{Name: "create, read, deallocate, start and delete a VM", Routes: []pt.Route{token,
				{Method: "PUT", Path: vmPath, File: "vm.json", Status: 201, Check: arm, Contains: `"vmSize":"Standard_NC4as_T4_v3"`},
				{Method: "GET", Path: vmPath + "/instanceView", File: "instance_view.json", Check: arm},
				{Method: "POST", Path: vmPath + "/deallocate", Status: 202, Check: arm},
				{Method: "POST", Path: vmPath + "/start", Status: 202, Check: arm},
				{Method: "DELETE", Path: vmPath, Status: 202, Check: arm}},
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
					if err := pt.Expect(got.State == providers.StateRunning, "vm %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, "pod-1"); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "a size not available is no capacity", Routes: []pt.Route{token, {Method: "PUT", Path: vmPath, File: "sku_not_available.json", Status: 409}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1"})
					return err
				}, Want: providers.ErrNoCapacity},
			{Name: "exceeding the cores quota is a quota error", Routes: []pt.Route{token, {Method: "PUT", Path: vmPath, File: "quota.json", Status: 409}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", Spot: true})
					return err
				}, Want: providers.ErrQuota},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, func(b []byte) ([]providers.Offer, error) { return DecodeOffers(b) }, "prices_1.json", "prices_2.json", "malformed.json")
}
