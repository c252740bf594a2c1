package ovhcloud

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

var now = time.Unix(1795000000, 0)

const inst = "a6a1b2c3-d4e5-4f60-8172-93a4b5c6d7e8"

// signed checks the headers of a signed request (body-less calls; the
// signature over a body is covered by TestSign).
func signed(r *http.Request) error {
	if r.Header.Get("X-Ovh-Application") != "ak" || r.Header.Get("X-Ovh-Consumer") != "ck" || r.Header.Get("X-Ovh-Timestamp") != "1795000000" {
		return fmt.Errorf("ovh headers %v", r.Header)
	}
	if r.ContentLength > 0 {
		return nil
	}
	full := "http://" + r.Host + r.URL.RequestURI()
	if got, want := r.Header.Get("X-Ovh-Signature"), Sign("as", "ck", r.Method, full, "", "1795000000"); got != want {
		return fmt.Errorf("signature %s, want %s", got, want)
	}
	return nil
}

func TestSign(t *testing.T) {
	// "$1$" + SHA-1 of "AS+CK+GET+https://eu.api.ovh.com/1.0/me++1366560945".
	got := Sign("AS", "CK", "GET", "https://eu.api.ovh.com/1.0/me", "", "1366560945")
	if len(got) != 3+40 || got[:3] != "$1$" {
		t.Fatalf("signature %q", got)
	}
	if got == Sign("AS", "CK", "GET", "https://eu.api.ovh.com/1.0/me", "{}", "1366560945") {
		t.Fatal("the body must change the signature")
	}
}

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "h100-380", Region: "GRA11", PriceHour: 2.99}
	const project = "/cloud/project/p1"
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Now: func() time.Time { return now },
				Credentials: map[string]string{"application_key": "ak", "application_secret": "as", "consumer_key": "ck", "project_id": "p1"}})
		},
		Auth: signed,
		List: []pt.Route{{Method: "GET", Path: project + "/flavor", File: "flavors.json"},
			{Method: "GET", Path: "/order/catalog/public/cloud", File: "catalog.json"}},
		Offers: 3,
		Expect: []pt.Want{
			{SKU: "h100-380", Region: "GRA11", GPU: "H100-PCIE-80GB", Count: 1, Price: 2.99, Availability: providers.Available},
			{SKU: "h100-1520", Region: "GRA11", GPU: "H100-PCIE-80GB", Count: 4, Price: 11.96, Availability: providers.None},
			{SKU: "l40s-90", Region: "BHS5", GPU: "L40S-PCIE-48GB", Count: 1, Price: 1.8},
		},
		Calls: []pt.Call{
			{Name: "create with a key, read, stop, start and delete", Routes: []pt.Route{
				{Method: "GET", Path: project + "/flavor", File: "flavors.json"},
				{Method: "POST", Path: project + "/sshkey", File: "sshkey.json"},
				{Method: "POST", Path: project + "/instance", File: "create.json", Contains: `"flavorId":"0c9ab4a6-7c3b-4e2f-9d8a-1b2c3d4e5f60"`},
				{Method: "GET", Path: project + "/instance/" + inst, File: "instance.json"},
				{Method: "POST", Path: project + "/instance/" + inst + "/stop"},
				{Method: "POST", Path: project + "/instance/" + inst + "/start"},
				{Method: "DELETE", Path: project + "/instance/" + inst}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					in, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", Image: "img-ubuntu-2204", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					got, err := p.Instance(ctx, in.ID)
					if err != nil {
						return err
					}
					if err := pt.Expect(in.ID == inst && got.State == providers.StateRunning && got.PublicIP == "51.68.0.20", "instance %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, inst); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "an exceeded quota is a quota error", Routes: []pt.Route{
				{Method: "GET", Path: project + "/flavor", File: "flavors.json"},
				{Method: "POST", Path: project + "/instance", File: "quota.json", Status: 400}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-2"})
					return err
				}, Want: providers.ErrQuota},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	cat := []byte(`{"addons":[{"planCode":"h100-380.consumption","pricings":[{"intervalUnit":"hour","price":299000000}]}]}`)
	pt.Fuzz(f, func(b []byte) ([]providers.Offer, error) { return DecodeOffers(b, cat) }, "flavors.json", "malformed.json", "unauthorized.json")
}
