package runpod

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const podID = "x8wmjyq1x7hrko"

func gql(contains, file string) pt.Route {
	return pt.Route{Method: "POST", Path: "/graphql", Contains: contains, File: file}
}

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "NVIDIA H100 80GB HBM3:1", Region: "SECURE", PriceHour: 2.69, SpotPriceHour: 1.75}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_key": "rpa_k"}})
		},
		Auth: pt.Header("Authorization", "Bearer rpa_k"),
		List: []pt.Route{gql("gpuTypes", "gpu_types.json")},
		// H100 and 4090 in both clouds, A100 and MI300X in secure: 6 × (1 and 8 GPUs).
		Offers: 12,
		Expect: []pt.Want{
			{SKU: "NVIDIA H100 80GB HBM3:8", Region: "SECURE", GPU: "H100-SXM-80GB", Count: 8, Price: 21.52, Spot: 14, Availability: providers.Available},
			{SKU: "NVIDIA GeForce RTX 4090:1", Region: "COMMUNITY", GPU: "RTX-4090-24GB", Count: 1, Price: 0.34, Spot: 0.2, Availability: providers.Limited},
			{SKU: "NVIDIA A100-SXM4-80GB:1", Region: "SECURE", GPU: "A100-SXM-80GB", Count: 1, Price: 1.49, Spot: 0.99, Availability: providers.None},
			{SKU: "AMD Instinct MI300X OAM:8", Region: "SECURE", GPU: "MI300X-OAM-192GB", Count: 8, Price: 19.92},
		},
		Calls: []pt.Call{
			{Name: "deploy, read, stop, resume and terminate a pod", Routes: []pt.Route{
				gql("podFindAndDeployOnDemand", "deploy.json"), gql("query Pod", "pod.json"),
				{Method: "POST", Path: "/graphql", Contains: "podStop", Body: `{"data":{"podStop":{"id":"x8wmjyq1x7hrko","desiredStatus":"EXITED"}}}`},
				{Method: "POST", Path: "/graphql", Contains: "podResume", Body: `{"data":{"podResume":{"id":"x8wmjyq1x7hrko","desiredStatus":"RUNNING"}}}`},
				{Method: "POST", Path: "/graphql", Contains: "podTerminate", Body: `{"data":{"podTerminate":null}}`}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					inst, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					if err := pt.Expect(inst.ID == podID && inst.PriceHour == 2.69, "created %+v", inst); err != nil {
						return err
					}
					got, err := p.Instance(ctx, podID)
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning && got.PublicIP == "203.0.113.71" && got.SSHPort == 40123, "pod %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, podID); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "no instances left is no capacity, though GraphQL answers 200", Routes: []pt.Route{gql("podFindAndDeployOnDemand", "deploy_no_capacity.json")},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer})
					return err
				}, Want: providers.ErrNoCapacity},
			{Name: "a SKU without a count is refused before any call", Do: func(ctx context.Context, a providers.Adapter) error {
				_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: providers.Offer{SKU: "H100", Region: "SECURE"}})
				return err
			}, Want: providers.ErrInvalid},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "gpu_types.json", "malformed.json", "deploy_no_capacity.json")
}
