package gcp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const instances = "/compute/v1/projects/proj-1/zones/us-central1-a/instances"

func serviceAccount(t *testing.T) string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	b, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "proj-1", "private_key_id": "kid1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "broker@proj-1.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token"})
	return string(b)
}

func TestAdapter(t *testing.T) {
	sa := serviceAccount(t)
	token := pt.Route{Method: "POST", Path: "/token", File: "token.json", Contains: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
		Check: pt.Header("Content-Type", "application/x-www-form-urlencoded")}
	offer := providers.Offer{SKU: "g2-standard-4", Region: "us-central1", PriceHour: 0.705}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"service_account_json": sa}})
		},
		Auth: pt.Header("Authorization", "Bearer ya29.c.test-token"),
		List: []pt.Route{{Method: "GET", Path: "/v1/services/6F81-5844-456A/skus", File: "skus_1.json"}, token,
			{Method: "GET", Path: "/v1/services/6F81-5844-456A/skus", File: "skus_2.json", Query: "pageToken=page2"}},
		// g2-standard-4 and -48 in both regions, a3-highgpu-1g and -8g in us-central1.
		Offers: 6,
		Expect: []pt.Want{
			// 0.56004 + 4 × 0.024736 + 16 × 0.002898
			{SKU: "g2-standard-4", Region: "us-central1", GPU: "L4-PCIE-24GB", Count: 1, Price: 0.705, Availability: providers.Available},
			{SKU: "g2-standard-4", Region: "europe-west4", GPU: "L4-PCIE-24GB", Count: 1, Price: 0.776},
			// 8 × 9.79655 + 208 × 0.029563 + 1872 × 0.002477
			{SKU: "a3-highgpu-8g", Region: "us-central1", GPU: "H100-SXM-80GB", Count: 8, Price: 89.158},
		},
		Calls: []pt.Call{
			{Name: "insert, read, stop, start and delete", Routes: []pt.Route{token,
				{Method: "POST", Path: instances, File: "operation.json", Contains: `"machineType":"zones/us-central1-a/machineTypes/g2-standard-4"`},
				{Method: "GET", Path: instances + "/pod-1", File: "instance.json"},
				{Method: "POST", Path: instances + "/pod-1/stop", File: "operation.json"},
				{Method: "POST", Path: instances + "/pod-1/start", File: "operation.json"},
				{Method: "DELETE", Path: instances + "/pod-1", File: "operation.json"}},
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
					if err := pt.Expect(in.ID == "us-central1-a/pod-1" && got.State == providers.StateRunning && got.PublicIP == "34.66.10.20" &&
						got.SKU == "g2-standard-4" && got.Region == "us-central1", "instance %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, in.ID); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "an exhausted zone is no capacity", Routes: []pt.Route{token, {Method: "POST", Path: instances, File: "exhausted.json", Status: 503}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-2"})
					return err
				}, Want: providers.ErrNoCapacity},
			{Name: "an exceeded GPU quota is a quota error", Routes: []pt.Route{token, {Method: "POST", Path: instances, File: "quota.json", Status: 403}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-3", Spot: true})
					return err
				}, Want: providers.ErrQuota},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, func(b []byte) ([]providers.Offer, error) { return DecodeOffers(b) }, "skus_1.json", "skus_2.json", "malformed.json")
}
