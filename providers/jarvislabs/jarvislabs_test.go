package jarvislabs

import (
	"context"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

func TestParseSSH(t *testing.T) {
	if h, p, ok := parseSSH("ssh -p 11114 root@sshc.jarvislabs.ai"); !ok || h != "sshc.jarvislabs.ai" || p != 11114 {
		t.Errorf("got %q %d %v", h, p, ok)
	}
	if h, p, ok := parseSSH("ssh root@203.0.113.9"); !ok || h != "203.0.113.9" || p != 22 {
		t.Errorf("got %q %d %v", h, p, ok)
	}
	for _, bad := range []string{"", "ssh", "ssh -p x root@h", "scp -p 2 root@h", "ssh -p 70000 root@h"} {
		if _, _, ok := parseSSH(bad); ok {
			t.Errorf("parseSSH(%q) accepted", bad)
		}
	}
}

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "H100::2", Region: "india-01", PriceHour: 5.98, SpotPriceHour: 2.98}
	create := func(ctx context.Context, a providers.Adapter) error {
		_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: providers.Offer{SKU: "H100::4", Region: "india-01"}, Name: "pod-2"})
		return err
	}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_key": "jk"}})
		},
		Auth:   pt.Header("Authorization", "Bearer jk"),
		List:   []pt.Route{{Method: "GET", Path: "/misc/server_meta", File: "server_meta.json"}},
		Offers: 5 + 1 + 1 + 2,
		Expect: []pt.Want{
			{SKU: "H100::1", Region: "india-01", GPU: "H100-SXM-80GB", Count: 1, Price: 2.99, Spot: 1.49, Availability: providers.Available},
			{SKU: "H100::2", Region: "india-01", GPU: "H100-SXM-80GB", Count: 2, Price: 5.98, Spot: 2.98, Availability: providers.Available},
			{SKU: "H100::5", Region: "india-01", GPU: "H100-SXM-80GB", Count: 5, Price: 14.95, Spot: 7.45, Availability: providers.Limited},
			{SKU: "A100::1", Region: "india-01", GPU: "A100-SXM-40GB", Count: 1, Price: 1.29, Availability: providers.None},
			{SKU: "A100-80GB::1", Region: "europe-01", GPU: "A100-SXM-80GB", Count: 1, Price: 1.49, Availability: providers.Limited},
			{SKU: "RTX6000Ada::2", Region: "india-noida-01", GPU: "RTX-6000-ADA-48GB", Count: 2, Price: 1.98, Spot: 0.98, Availability: providers.Available},
		},
		Calls: []pt.Call{
			{Name: "create with a key, read, pause, resume and destroy", Routes: []pt.Route{
				{Method: "POST", Path: "/ssh/", File: "ssh_key.json", Contains: `"key_name":"pod-1-key"`},
				{Method: "POST", Path: "/templates/vm/create", File: "create.json", Contains: `"num_gpus":2`},
				{Method: "GET", Path: "/users/fetch/418209", File: "instance.json"},
				{Method: "POST", Path: "/templates/vm/pause", Query: "machine_id=418209", File: "ok.json"},
				{Method: "POST", Path: "/templates/vm/resume", Query: "machine_id=418209", File: "ok.json"},
				{Method: "POST", Path: "/templates/vm/destroy", Query: "machine_id=418209", File: "ok.json"}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					in, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					if err := pt.Expect(in.ID == "418209" && in.State == providers.StatePending && in.PriceHour == 5.98, "created %+v", in); err != nil {
						return err
					}
					got, err := p.Instance(ctx, in.ID)
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning && got.PublicIP == "sshc.jarvislabs.ai" && got.SSHPort == 11114 &&
						got.SKU == "H100::2" && got.PriceHour == 5.98, "instance %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, in.ID); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "a 200 that says no capacity is no capacity", Routes: []pt.Route{
				{Method: "POST", Path: "/templates/vm/create", File: "create_no_capacity.json"}},
				Do: create, Want: providers.ErrNoCapacity},
			{Name: "a missing machine is not found", Routes: []pt.Route{
				{Method: "GET", Path: "/users/fetch/9", Body: `{"detail":"Instance not found"}`, Status: 404}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Instance(ctx, "9")
					return err
				}, Want: providers.ErrNotFound},
		},
	})
}

func TestRegionsWithoutAHostAreRefused(t *testing.T) {
	a := New(providers.Config{Credentials: map[string]string{"api_key": "jk"}})
	_, err := a.Create(context.Background(), providers.CreateRequest{Offer: providers.Offer{SKU: "H100::1", Region: "us-texas-01"}})
	if providers.KindOf(err) != providers.KindInvalid {
		t.Fatalf("err = %v, want invalid before any call", err)
	}
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "server_meta.json", "malformed.json", "unauthorized.json")
}
