package oci

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const inst = "ocid1.instance.oc1.us-ashburn-1.anuwcljt2ahktzac"

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

var sigRE = regexp.MustCompile(`^Signature version="1",keyId="([^"]+)",algorithm="rsa-sha256",headers="([^"]+)",signature="([^"]+)"$`)

// verified checks an OCI signature with the test key's public half.
func verified(r *http.Request) error {
	m := sigRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return fmt.Errorf("authorization %q", r.Header.Get("Authorization"))
	}
	if m[1] != "ocid1.tenancy.oc1..aaaa/ocid1.user.oc1..uuuu/aa:bb:cc" {
		return fmt.Errorf("keyId %s", m[1])
	}
	r.URL.Host = r.Host
	digest := sha256.Sum256([]byte(SigningString(r, strings.Fields(m[2]))))
	sig, _ := base64.StdEncoding.DecodeString(m[3])
	return rsa.VerifyPKCS1v15(&testKey().PublicKey, crypto.SHA256, digest[:], sig)
}

func creds(u string) providers.Config {
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testKey())})
	return providers.Config{BaseURL: u, Credentials: map[string]string{"tenancy_ocid": "ocid1.tenancy.oc1..aaaa", "user_ocid": "ocid1.user.oc1..uuuu",
		"fingerprint": "aa:bb:cc", "private_key": string(pemKey), "compartment_ocid": "ocid1.compartment.oc1..cccc", "subnet_ocid": "ocid1.subnet.oc1..ssss"}}
}

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "VM.GPU.A10.1", Region: "us-ashburn-1", PriceHour: 2}
	ads := pt.Route{Method: "GET", Path: "/20160918/availabilityDomains", File: "ads.json", Check: verified}
	pt.Run(t, pt.Suite{
		New:    func(u string) providers.Adapter { return New(creds(u)) },
		List:   []pt.Route{{Method: "GET", Path: "/pls/apex/cetools/api/v1/products/", File: "products.json", Query: "currencyCode=USD"}},
		Offers: 3 * len(Regions),
		Expect: []pt.Want{
			{SKU: "BM.GPU.H100.8", Region: "us-ashburn-1", GPU: "H100-SXM-80GB", Count: 8, Price: 80, Availability: providers.Available},
			{SKU: "VM.GPU.A10.2", Region: "eu-frankfurt-1", GPU: "A10-PCIE-24GB", Count: 2, Price: 4},
		},
		Calls: []pt.Call{
			{Name: "launch, read, stop, start and terminate with signed requests", Routes: []pt.Route{ads,
				{Method: "POST", Path: "/20160918/instances", File: "launch.json", Check: verified, Contains: `"availabilityDomain":"Uocm:US-ASHBURN-AD-1"`},
				{Method: "GET", Path: "/20160918/instances/" + inst, File: "instance.json", Check: verified},
				{Method: "POST", Path: "/20160918/instances/" + inst, File: "instance.json", Check: verified, Query: "action="},
				{Method: "DELETE", Path: "/20160918/instances/" + inst, Status: 204, Check: verified}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					in, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", Image: "ocid1.image.oc1..iiii", SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					got, err := p.Instance(ctx, in.ID)
					if err != nil {
						return err
					}
					if err := pt.Expect(in.ID == inst && got.State == providers.StateRunning, "instance %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, inst); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "out of host capacity is no capacity", Routes: []pt.Route{ads, {Method: "POST", Path: "/20160918/instances", File: "out_of_capacity.json", Status: 500}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-2"})
					return err
				}, Want: providers.ErrNoCapacity},
			{Name: "a service limit is a quota error", Routes: []pt.Route{ads, {Method: "POST", Path: "/20160918/instances", File: "limit.json", Status: 400}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-3"})
					return err
				}, Want: providers.ErrQuota},
			{Name: "a malformed key is an auth error before any call", Do: func(ctx context.Context, a providers.Adapter) error {
				cfg := creds("http://127.0.0.1:1")
				cfg.Credentials["private_key"] = "not a key"
				_, err := New(cfg).Instance(ctx, inst)
				return err
			}, Want: providers.ErrAuth},
		},
	})
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, DecodeOffers, "products.json", "malformed.json", "unauthorized.json")
}
