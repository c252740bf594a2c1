package kubernetes

import (
	"context"
	"slices"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const pods = "/api/v1/namespaces/ml-team/pods"

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "NVIDIA-H100-80GB-HBM3:8", Region: "eu-west", PriceHour: 16.8}
	create := func(o providers.Offer) func(context.Context, providers.Adapter) error {
		return func(ctx context.Context, a providers.Adapter) error {
			_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: o, Name: "pod-2"})
			return err
		}
	}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{Credentials: map[string]string{"api_server": u, "api_token": "kt", "namespace": "ml-team"}})
		},
		Auth:   pt.Header("Authorization", "Bearer kt"),
		List:   []pt.Route{{Method: "GET", Path: "/api/v1/nodes", File: "nodes.json", Query: "labelSelector=nvidia.com"}},
		Offers: 4,
		Expect: []pt.Want{
			{SKU: "NVIDIA-H100-80GB-HBM3:8", Region: "eu-west", GPU: "H100-SXM-80GB", Count: 8, Price: 16.8, Availability: providers.Available},
			{SKU: "NVIDIA-A100-SXM4-40GB:4", Region: "eu-west", GPU: "A100-SXM-40GB", Count: 4, Price: 4.2, Availability: providers.None},
			{SKU: "NVIDIA-L4:1", Region: NoRegion, GPU: "L4-PCIE-24GB", Count: 1, Price: 0.45, Availability: providers.Limited},
			{SKU: "Tesla-T4:1", Region: "eu-west", GPU: "T4-PCIE-16GB", Count: 1, Price: 0.2, Availability: providers.None},
		},
		Calls: []pt.Call{
			{Name: "create, read and delete a pod; it cannot be stopped", Routes: []pt.Route{
				{Method: "POST", Path: pods, File: "pod_created.json", Status: 201,
					Contains: `"nodeSelector":{"nvidia.com/gpu.product":"NVIDIA-H100-80GB-HBM3","topology.kubernetes.io/region":"eu-west"}`},
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
					if err := pt.Expect(in.State == providers.StatePending && in.PriceHour == 16.8 && got.State == providers.StateRunning &&
						got.PublicIP == "10.244.3.17", "pod %+v then %+v", in, got); err != nil {
						return err
					}
					if err := pt.Expect(providers.KindOf(p.Stop(ctx, "pod-1")) == providers.KindUnsupported, "stop must be unsupported"); err != nil {
						return err
					}
					return p.Terminate(ctx, "pod-1")
				}},
			{Name: "a node without a region label is selected by product only", Routes: []pt.Route{
				{Method: "POST", Path: pods, File: "pod_created.json", Status: 201, Contains: `"nodeSelector":{"nvidia.com/gpu.product":"NVIDIA-L4"}`}},
				Do: create(providers.Offer{SKU: "NVIDIA-L4:1", Region: NoRegion})},
			{Name: "an exceeded GPU quota is a quota error", Routes: []pt.Route{{Method: "POST", Path: pods, File: "quota.json", Status: 403}},
				Do: create(offer), Want: providers.ErrQuota},
			{Name: "a SKU that names no GPU count is refused before any call", Do: create(providers.Offer{SKU: "NVIDIA-L4", Region: "eu-west"}),
				Want: providers.ErrInvalid},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "nodes.json", "malformed.json", "unauthorized.json")
}

func TestShapesAreTheClustersOwnOnceListed(t *testing.T) {
	srv, _ := pt.Server(t, pt.Route{Method: "GET", Path: "/api/v1/nodes", File: "nodes.json"})
	a := New(providers.Config{Credentials: map[string]string{"api_server": srv.URL, "api_token": "kt", "namespace": "ml-team"}})
	before := a.Shapes()
	if ps := providers.Check(before, 16, 512, 4096, 100, NoRegion); len(ps) > 0 {
		t.Errorf("before a listing any node must fit: %v", ps)
	}
	if ps := providers.Check(before, 1, 8, 32, 100, "eu-west"); len(ps) != 1 || ps[0].Field != "region" {
		t.Errorf("before a listing only unlabelled nodes' region is known: %v", ps)
	}
	if _, err := a.ListOffers(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := a.Shapes()
	if want := []int{1, 4, 8}; !slices.Equal(after.GPUCounts, want) {
		t.Errorf("GPU counts %v, want %v", after.GPUCounts, want)
	}
	if want := []string{NoRegion, "eu-west"}; !slices.Equal(after.Regions, want) {
		t.Errorf("regions %v, want %v", after.Regions, want)
	}
	if ps := providers.Check(after, 16, 8, 32, 100, "eu-west"); len(ps) != 1 || ps[0].Field != "gpu_count" {
		t.Errorf("a GPU count no node has: %v", ps)
	}
}
