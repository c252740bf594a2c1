package datacrunch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const instanceID = "eb6a2a8c-6b1e-4d8f-9a8a-9d1b1f0c1e55"

// tokenRoute checks the client-credentials exchange.
var tokenRoute = pt.Route{Method: "POST", Path: "/oauth2/token", File: "token.json", Check: func(r *http.Request) error {
	b, _ := io.ReadAll(r.Body)
	if !strings.Contains(string(b), `"client_id":"cid"`) || !strings.Contains(string(b), `"grant_type":"client_credentials"`) {
		return fmt.Errorf("token request %s", b)
	}
	return nil
}}

func body(want string) func(*http.Request) error {
	return func(r *http.Request) error {
		if err := pt.Header("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.test")(r); err != nil {
			return err
		}
		b, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("body %s lacks %s", b, want)
		}
		return nil
	}
}

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "1H100.80S.30V", Region: "FIN-01", PriceHour: 2.19, SpotPriceHour: 1.05}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"client_id": "cid", "client_secret": "sec"}})
		},
		Auth: pt.Header("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.test"),
		List: []pt.Route{{Method: "GET", Path: "/instance-types", File: "instance_types.json"}, tokenRoute,
			{Method: "GET", Path: "/instance-availability", File: "availability.json"}},
		Offers: 4 * 2,
		Expect: []pt.Want{
			{SKU: "1H100.80S.30V", Region: "FIN-01", GPU: "H100-SXM-80GB", Count: 1, Price: 2.19, Spot: 1.05, Availability: providers.Available},
			{SKU: "1H100.80S.30V", Region: "ICE-01", GPU: "H100-SXM-80GB", Count: 1, Price: 2.19, Spot: 1.05, Availability: providers.None},
			{SKU: "8H100.80S.176V", Region: "ICE-01", GPU: "H100-SXM-80GB", Count: 8, Price: 17.52, Spot: 8.40, Availability: providers.Available},
			{SKU: "1RTX6000ADA.10V", Region: "ICE-01", GPU: "RTX-6000-ADA-48GB", Count: 1, Price: 0.84, Spot: 0.40},
		},
		Calls: []pt.Call{
			{Name: "deploy with a key, read, shut down, start and delete", Routes: []pt.Route{tokenRoute,
				{Method: "POST", Path: "/sshkeys", File: "sshkey.txt"},
				{Method: "POST", Path: "/instances", File: "deploy.txt", Check: body(`"location_code":"FIN-01"`)},
				{Method: "GET", Path: "/instances/" + instanceID, File: "instance.json"},
				{Method: "PUT", Path: "/instances", Status: 202}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					inst, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					if err := pt.Expect(inst.ID == instanceID, "created %+v", inst); err != nil {
						return err
					}
					got, err := p.Instance(ctx, instanceID)
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning && got.PublicIP == "192.0.2.44" && got.PriceHour == 2.19, "instance %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, instanceID); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "insufficient resources is no capacity", Routes: []pt.Route{tokenRoute,
				{Method: "POST", Path: "/instances", File: "insufficient.json", Status: 400}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Spot: true})
					return err
				}, Want: providers.ErrNoCapacity},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	avail := []byte(`[{"location_code":"FIN-01","availabilities":["1H100.80S.30V"]}]`)
	pt.Fuzz(f, func(b []byte) ([]providers.Offer, error) { return DecodeOffers(b, avail) },
		"instance_types.json", "malformed.json", "unauthorized.json")
}
