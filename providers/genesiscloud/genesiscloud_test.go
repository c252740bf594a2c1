package genesiscloud

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const inst = "b8d3f0a2-6c41-4e7b-9a15-3f2e8c7d6b50"

func TestParseType(t *testing.T) {
	for name, want := range map[string]Shape{
		"vcpu-24_memory-240g_nvidia-h100-sxm5-1":         {VCPU: 24, RAMGB: 240, GPUs: 1, GPU: "H100-SXM-80GB"},
		"vcpu-16_memory-96g_disk-160g_nvidia-rtx-3090-2": {VCPU: 16, RAMGB: 96, DiskGB: 160, GPUs: 2, GPU: "RTX-3090-24GB"},
	} {
		if got, ok := ParseType(name); !ok || got != want {
			t.Errorf("ParseType(%q) = %+v %v, want %+v", name, got, ok, want)
		}
	}
	for _, bad := range []string{"vcpu-2_memory-4g", "vcpu-4_memory-12g_nvidia-h100", "vcpu-x_nvidia-h100-sxm5-0", "nvidia-", ""} {
		if s, ok := ParseType(bad); ok {
			t.Errorf("ParseType(%q) = %+v, want no GPU shape", bad, s)
		}
	}
}

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "vcpu-24_memory-240g_nvidia-h100-sxm5-1", Region: "NORD-NO-KRS-1", PriceHour: 2.19}
	create := func(ctx context.Context, a providers.Adapter) error {
		_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-2"})
		return err
	}
	list := []pt.Route{
		{Method: "GET", Path: "/availability/NORD-NO-KRS-1/instances", File: "availability_nord.json"},
		{Method: "GET", Path: "/availability/EUC-DE-MUC-1/instances", File: "availability_muc.json"},
	}
	for _, r := range Regions[2:] {
		list = append(list, pt.Route{Method: "GET", Path: "/availability/" + r + "/instances", File: "not_found.json", Status: 404})
	}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_token": "gt"}})
		},
		Auth:   pt.Header("X-Auth-Token", "gt"),
		List:   list,
		Offers: 4 + 2,
		Expect: []pt.Want{
			{SKU: "vcpu-24_memory-240g_nvidia-h100-sxm5-1", Region: "NORD-NO-KRS-1", GPU: "H100-SXM-80GB", Count: 1, Price: 2.19, Availability: providers.Available},
			{SKU: "vcpu-192_memory-1920g_nvidia-h100-sxm5-8", Region: "NORD-NO-KRS-1", GPU: "H100-SXM-80GB", Count: 8, Price: 17.52, Availability: providers.Limited},
			{SKU: "vcpu-24_memory-240g_nvidia-h200-sxm5-1", Region: "NORD-NO-KRS-1", GPU: "H200-SXM-141GB", Count: 1, Price: 3.3, Availability: providers.None},
			{SKU: "vcpu-8_memory-48g_nvidia-rtx-3090-1", Region: "NORD-NO-KRS-1", GPU: "RTX-3090-24GB", Count: 1, Price: 0.3, Availability: providers.Available},
			{SKU: "vcpu-16_memory-96g_disk-160g_nvidia-rtx-3090-2", Region: "EUC-DE-MUC-1", GPU: "RTX-3090-24GB", Count: 2, Price: 0.6, Availability: providers.Available},
		},
		Calls: []pt.Call{
			{Name: "create with a key, read, stop, start and delete", Routes: []pt.Route{
				{Method: "POST", Path: "/ssh-keys", File: "ssh_key.json"},
				{Method: "POST", Path: "/instances", File: "create.json", Status: 201, Contains: `"ssh_keys":["0d7a5b1e-8c3f-4e2a-9b61-2f4c8d7e6a13"]`},
				{Method: "GET", Path: "/instances/" + inst, File: "instance.json"},
				{Method: "POST", Path: "/instances/" + inst + "/actions", Contains: `"action":"stop"`, Status: 204},
				{Method: "POST", Path: "/instances/" + inst + "/actions", Contains: `"action":"start"`, Status: 204},
				{Method: "DELETE", Path: "/instances/" + inst, Status: 204}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					in, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					if err := pt.Expect(in.ID == inst && in.State == providers.StatePending && in.PriceHour == 2.19, "created %+v", in); err != nil {
						return err
					}
					got, err := p.Instance(ctx, in.ID)
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning && got.PublicIP == "194.61.21.88", "instance %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, in.ID); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "no capacity is no capacity", Routes: []pt.Route{{Method: "POST", Path: "/instances", File: "no_capacity.json", Status: 400}},
				Do: create, Want: providers.ErrNoCapacity},
			{Name: "an exceeded quota is a quota error", Routes: []pt.Route{{Method: "POST", Path: "/instances", File: "quota.json", Status: 403}},
				Do: create, Want: providers.ErrQuota},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "availability_nord.json", "availability_muc.json", "malformed.json", "unauthorized.json")
}
