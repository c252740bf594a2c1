package lambda

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/providers/providertest"
)

var auth = providertest.Header("Authorization", "Bearer test-key")

func newAdapter(t *testing.T, routes ...providertest.Route) *Adapter {
	srv, _ := providertest.Server(t, routes...)
	return New(providers.Config{BaseURL: srv.URL, Credentials: map[string]string{"api_key": "test-key"},
		Now: func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }})
}

func TestListOffersReadsTypesAndCapacityPerRegion(t *testing.T) {
	a := newAdapter(t,
		providertest.Route{Method: "GET", Path: "/instance-types", File: "instance_types.json", Check: auth},
		providertest.Route{Method: "GET", Path: "/images", File: "images.json", Check: auth},
	)
	offers, err := a.ListOffers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	providertest.CheckOffers(t, ID, offers)
	providertest.CheckShapes(t, a, offers)
	if len(offers) != 6*3 {
		t.Fatalf("got %d offers, want 18 (6 types × 3 regions)", len(offers))
	}
	h := providertest.Find(t, offers, "gpu_8x_h100_sxm5", "us-east-1")
	if h.GPU != "H100-SXM-80GB" || h.GPUCount != 8 || h.PriceHour != 23.92 || h.VCPU != 208 || h.RAMGB != 1800 ||
		h.Availability != providers.Available || h.Interconnect != "nvlink" || h.GPUMemoryGB != 80 {
		t.Errorf("8x H100 offer = %+v", h)
	}
	if o := providertest.Find(t, offers, "gpu_8x_h100_sxm5", "us-east-3"); o.Availability != providers.None {
		t.Errorf("no capacity in us-east-3 but availability %s", o.Availability)
	}
	for sku, gpu := range map[string]string{"gpu_1x_a100": "A100-PCIE-40GB", "gpu_1x_h100_pcie": "H100-PCIE-80GB",
		"gpu_1x_a10": "A10-PCIE-24GB", "gpu_8x_a100_80gb_sxm4": "A100-SXM-80GB", "gpu_1x_gh200": "GH200-SXM-96GB"} {
		if o := providertest.Find(t, offers, sku, "us-east-1"); o.GPU != gpu {
			t.Errorf("%s: GPU %s, want %s", sku, o.GPU, gpu)
		}
	}
}

func TestErrorsAreTyped(t *testing.T) {
	cases := []struct {
		name   string
		route  providertest.Route
		call   func(*Adapter) error
		want   error
		status int
	}{
		{"a bad key is an auth error",
			providertest.Route{Method: "GET", Path: "/instance-types", File: "unauthorized.json", Status: 401},
			func(a *Adapter) error { _, err := a.ListOffers(context.Background()); return err }, providers.ErrAuth, 401},
		{"no capacity at launch is no capacity",
			providertest.Route{Method: "POST", Path: "/instance-operations/launch", File: "launch_insufficient_capacity.json", Status: 400},
			func(a *Adapter) error {
				_, err := a.Create(context.Background(), providers.CreateRequest{Offer: providers.Offer{SKU: "gpu_1x_a100", Region: "us-east-1"}, Name: "pod-1"})
				return err
			}, providers.ErrNoCapacity, 400},
		{"429 is a rate limit with its Retry-After",
			providertest.Route{Method: "GET", Path: "/instance-types", File: "rate_limited.json", Status: 429, Header: map[string]string{"Retry-After": "7"}},
			func(a *Adapter) error { _, err := a.ListOffers(context.Background()); return err }, providers.ErrRateLimit, 429},
		{"a malformed answer is a bad response",
			providertest.Route{Method: "GET", Path: "/instance-types", File: "malformed.json"},
			func(a *Adapter) error {
				_, err := a.ListOffers(context.Background())
				return err
			}, providers.ErrBadResponse, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			routes := []providertest.Route{c.route, {Method: "GET", Path: "/images", File: "images.json"}}
			err := c.call(newAdapter(t, routes...))
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want kind %v", err, c.want)
			}
			var pe *providers.Error
			if errors.As(err, &pe) && pe.Status != c.status {
				t.Errorf("status %d, want %d", pe.Status, c.status)
			}
			if errors.Is(c.want, providers.ErrRateLimit) && pe.RetryAfter != 7*time.Second {
				t.Errorf("retry after %v", pe.RetryAfter)
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	a := newAdapter(t,
		providertest.Route{Method: "POST", Path: "/ssh-keys", File: "ssh_key.json", Check: auth},
		providertest.Route{Method: "POST", Path: "/instance-operations/launch", File: "launch.json", Check: auth},
		providertest.Route{Method: "GET", Path: "/instances/0920582c7ff041399e34823a0be62549", File: "instance.json", Check: auth},
		providertest.Route{Method: "POST", Path: "/instance-operations/terminate", File: "terminate.json", Check: auth},
	)
	ctx := context.Background()
	offer := providers.Offer{SKU: "gpu_1x_h100_pcie", Region: "us-west-1", PriceHour: 2.49}
	inst, err := a.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", SSHPublicKey: "ssh-ed25519 AAAA test"})
	if err != nil {
		t.Fatal(err)
	}
	if inst.ID != "0920582c7ff041399e34823a0be62549" || inst.State != providers.StatePending {
		t.Fatalf("created %+v", inst)
	}
	got, err := a.Instance(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != providers.StateRunning || got.PublicIP != "198.51.100.2" || got.PriceHour != 2.49 {
		t.Errorf("instance %+v", got)
	}
	if err := a.Stop(ctx, inst.ID); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("stop: %v, want unsupported", err)
	}
	if err := a.Terminate(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
}

func FuzzDecodeOffers(f *testing.F) {
	for _, name := range []string{"instance_types.json", "malformed.json", "unauthorized.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		offers, err := DecodeOffers(b, []string{"us-east-1"})
		if err != nil {
			return
		}
		for _, o := range offers {
			o.Normalize(time.Unix(0, 0))
			if err := o.Validate(); err != nil {
				t.Fatalf("decoded an invalid offer %+v: %v", o, err)
			}
		}
	})
}

var _ providers.Provisioner = (*Adapter)(nil)
