package coreweave

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const pods = "/api/v1/namespaces/tenant-acme/pods"

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "H100_NVLINK_80GB:8", Region: "US-EAST-04", PriceHour: 49.24}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_token": "cw", "namespace": "tenant-acme"}})
		},
		Auth:   pt.Header("Authorization", "Bearer cw"),
		List:   []pt.Route{{Method: "GET", Path: "/api/v1/nodes", File: "nodes.json", Query: "labelSelector="}},
		Offers: 2,
		Expect: []pt.Want{
			{SKU: "H100_NVLINK_80GB:8", Region: "US-EAST-04", GPU: "H100-SXM-80GB", Count: 8, Price: 49.24, Availability: providers.Available},
			{SKU: "L40S:4", Region: "US-WEST-04", GPU: "L40S-PCIE-48GB", Count: 4, Price: 9, Availability: providers.None},
		},
		Calls: []pt.Call{
			{Name: "create, read and delete a pod; it cannot be stopped", Routes: []pt.Route{
				{Method: "POST", Path: pods, File: "pod_created.json", Status: 201, Contains: `"nvidia.com/gpu":"8"`},
				{Method: "GET", Path: pods + "/pod-1", File: "pod.json"},
				{Method: "DELETE", Path: pods + "/pod-1", File: "pod.json"}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					in, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1"})
					if err != nil {
						return err
					}
					got, err := p.Instance(ctx, in.ID)
					if err != nil {
						return err
					}
					if err := pt.Expect(in.State == providers.StatePending && got.State == providers.StateRunning, "pod %+v", got); err != nil {
						return err
					}
					if err := pt.Expect(providers.KindOf(p.Stop(ctx, "pod-1")) == providers.KindUnsupported, "stop must be unsupported"); err != nil {
						return err
					}
					return p.Terminate(ctx, "pod-1")
				}},
			{Name: "an exceeded GPU quota is a quota error", Routes: []pt.Route{{Method: "POST", Path: pods, File: "quota.json", Status: 403}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-2"})
					return err
				}, Want: providers.ErrQuota},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "nodes.json", "malformed.json", "unauthorized.json")
}
