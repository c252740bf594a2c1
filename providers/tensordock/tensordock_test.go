package tensordock

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const (
	node   = "0d6fbd6f-5b2e-4a59-8d0b-7e3f1a2b3c4d"
	server = "9c8b7a6d-5e4f-3a2b-1c0d-ffeeddccbbaa"
)

// creds checks the form fields account calls carry.
func creds(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	if r.PostForm.Get("api_key") != "tk" || r.PostForm.Get("api_token") != "tt" {
		return fmt.Errorf("form credentials %v", r.PostForm)
	}
	return nil
}

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: node + ":geforcertx4090-pcie-24gb:1", Region: "United States/Idaho", PriceHour: 0.349}
	post := func(path, file string) pt.Route {
		return pt.Route{Method: "POST", Path: path, File: file, Check: creds}
	}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_key": "tk", "api_token": "tt"}})
		},
		List:   []pt.Route{{Method: "GET", Path: "/client/deploy/hostnodes", File: "hostnodes.json"}},
		Offers: 2 + 1 + 2,
		Expect: []pt.Want{
			// 0.30 + 4 × 0.003 + 16 × 0.002, plus 100 GB × 0.00005
			{SKU: node + ":geforcertx4090-pcie-24gb:1", Region: "United States/Idaho", GPU: "RTX-4090-24GB", Count: 1, Price: 0.349, Availability: providers.Available},
			{SKU: node + ":geforcertx4090-pcie-24gb:4", Region: "United States/Idaho", GPU: "RTX-4090-24GB", Count: 4, Price: 1.381, Availability: providers.Limited},
			{SKU: "1f0e2d3c-4b5a-6978-8796-a5b4c3d2e1f0:h100-sxm5-80gb:8", Region: "Canada/Quebec", GPU: "H100-SXM-80GB", Count: 8, Price: 17.157},
			{SKU: "1f0e2d3c-4b5a-6978-8796-a5b4c3d2e1f0:a100-pcie-80gb:1", Region: "Canada/Quebec", GPU: "A100-PCIE-80GB", Count: 1, Price: 1.349},
		},
		Calls: []pt.Call{
			{Name: "deploy, read, stop, start and delete", Routes: []pt.Route{
				post("/client/deploy/single", "deploy.json"), post("/client/get/single", "get.json"),
				post("/client/stop/single", "ok.json"), post("/client/start/single", "ok.json"), post("/client/delete/single", "ok.json")},
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
					if err := pt.Expect(inst.ID == server && got.State == providers.StateRunning && got.SSHPort == 20000, "vm %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, server); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "GPUs taken meanwhile are no capacity, though the answer is 200", Routes: []pt.Route{post("/client/deploy/single", "deploy_unavailable.json")},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-2"})
					return err
				}, Want: providers.ErrNoCapacity},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "hostnodes.json", "malformed.json", "unauthorized.json")
}
