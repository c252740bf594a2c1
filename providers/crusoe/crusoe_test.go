package crusoe

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// secret is the URL-safe base64 of "crusoe-test-secret", unpadded as
// Crusoe hands secret keys out.
var secret = base64.RawURLEncoding.EncodeToString([]byte("crusoe-test-secret"))

// signed checks a request's signature by Crusoe's documented recipe,
// computed here independently of Signer.
func signed(r *http.Request) error {
	const ts = "2026-11-24T12:00:00+00:00"
	if got := r.Header.Get("X-Crusoe-Timestamp"); got != ts {
		return fmt.Errorf("timestamp %q, want %q", got, ts)
	}
	q := ""
	if v := r.URL.Query().Get("names"); v != "" {
		q = "names=" + v
	}
	mac := hmac.New(sha256.New, []byte("crusoe-test-secret"))
	fmt.Fprintf(mac, "%s\n%s\n%s\n%s\n", r.URL.Path, q, r.Method, ts)
	want := "Bearer 1.0:ak-1:" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	if got := r.Header.Get("Authorization"); got != want {
		return fmt.Errorf("authorization %q, want %q", got, want)
	}
	return nil
}

func TestSignatureCoversPathQueryMethodAndTime(t *testing.T) {
	key := []byte("k")
	u, _ := url.Parse("https://api.crusoecloud.com/v1alpha5/projects/p/compute/vms/instances?names=b&ids=a")
	base := Signature(key, "GET", u, "2026-11-24T12:00:00+00:00")
	u2, _ := url.Parse("https://api.crusoecloud.com/v1alpha5/projects/p/compute/vms/instances?ids=a&names=b")
	if Signature(key, "GET", u2, "2026-11-24T12:00:00+00:00") != base {
		t.Error("the query is signed sorted, so its order must not matter")
	}
	for name, other := range map[string]string{
		"method": Signature(key, "DELETE", u, "2026-11-24T12:00:00+00:00"),
		"time":   Signature(key, "GET", u, "2026-11-24T12:00:01+00:00"),
		"key":    Signature([]byte("k2"), "GET", u, "2026-11-24T12:00:00+00:00"),
	} {
		if other == base {
			t.Errorf("changing the %s left the signature unchanged", name)
		}
	}
}

func TestAdapter(t *testing.T) {
	const project = "/v1alpha5/projects/proj-1"
	const vmID = "7d1b2c3e-4f50-4a61-8b72-93c4d5e6f708"
	offer := providers.Offer{SKU: "l40s-48gb.4x", Region: "us-east1-a", PriceHour: 4}
	create := func(ctx context.Context, a providers.Adapter) error {
		_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA"})
		return err
	}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u + "/v1alpha5", Now: func() time.Time { return now },
				Credentials: map[string]string{"access_key": "ak-1", "secret_key": secret, "project_id": "proj-1"}})
		},
		Auth: signed,
		List: []pt.Route{
			{Method: "GET", Path: project + "/compute/vms/types", File: "vm_types.json"},
			{Method: "GET", Path: "/v1alpha5/capacities", File: "capacities.json"},
		},
		Offers: 7,
		Expect: []pt.Want{
			{SKU: "h100-80gb-sxm-ib.8x", Region: "us-east1-a", GPU: "H100-SXM-80GB", Count: 8, Price: 31.2, Availability: providers.Available},
			{SKU: "h100-80gb-sxm-ib.8x", Region: "us-southcentral1-a", GPU: "H100-SXM-80GB", Count: 8, Price: 31.2, Availability: providers.None},
			{SKU: "a100-80gb-sxm-ib.8x", Region: "us-east1-a", GPU: "A100-SXM-80GB", Count: 8, Price: 15.6, Availability: providers.Limited},
			{SKU: "a100-80gb.1x", Region: "us-northcentral1-a", GPU: "A100-PCIE-80GB", Count: 1, Price: 1.65, Availability: providers.Available},
			{SKU: "l40s-48gb.4x", Region: "us-east1-a", GPU: "L40S-PCIE-48GB", Count: 4, Price: 4},
			{SKU: "a40.1x", Region: "us-northcentral1-a", GPU: "A40-PCIE-48GB", Count: 1, Price: 0.9},
			{SKU: "mi300x-192gb.8x", Region: "us-southcentral1-a", GPU: "MI300X-OAM-192GB", Count: 8, Price: 27.6},
		},
		Calls: []pt.Call{
			{Name: "create, find by name, read, stop, start and delete", Routes: []pt.Route{
				{Method: "POST", Path: project + "/compute/vms/instances", File: "create.json", Contains: `"type":"l40s-48gb.4x"`},
				{Method: "GET", Path: project + "/compute/vms/instances", Query: "names=pod-1", File: "instances.json"},
				{Method: "GET", Path: project + "/compute/vms/instances/" + vmID, File: "instance.json"},
				{Method: "PATCH", Path: project + "/compute/vms/instances/" + vmID, Contains: `"action":"STOP"`, File: "operation.json"},
				{Method: "PATCH", Path: project + "/compute/vms/instances/" + vmID, Contains: `"action":"START"`, File: "operation.json"},
				{Method: "DELETE", Path: project + "/compute/vms/instances/" + vmID, File: "operation.json"}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					in, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					if err := pt.Expect(in.ID == vmID && in.State == providers.StatePending && in.PriceHour == 4, "created %+v", in); err != nil {
						return err
					}
					got, err := p.Instance(ctx, in.ID)
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning && got.PublicIP == "204.52.24.17" && got.SKU == offer.SKU, "instance %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, in.ID); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "out of stock is no capacity", Routes: []pt.Route{
				{Method: "POST", Path: project + "/compute/vms/instances", File: "out_of_stock.json", Status: http.StatusBadRequest}},
				Do: create, Want: providers.ErrNoCapacity},
			{Name: "a project over its quota is a quota error", Routes: []pt.Route{
				{Method: "POST", Path: project + "/compute/vms/instances", File: "quota.json", Status: http.StatusForbidden}},
				Do: create, Want: providers.ErrQuota},
			{Name: "a missing VM is not found", Routes: []pt.Route{
				{Method: "GET", Path: project + "/compute/vms/instances/gone", Body: `{"code":"not_found","message":"vm not found"}`, Status: http.StatusNotFound}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Instance(ctx, "gone")
					return err
				}, Want: providers.ErrNotFound},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	caps := pt.Read(f, "capacities.json")
	pt.Fuzz(f, func(b []byte) ([]providers.Offer, error) { return DecodeOffers(b, caps) }, "vm_types.json", "malformed.json", "unauthorized.json")
}
