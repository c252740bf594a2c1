package paperspace

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/gpubroker/pod/providers"
	pt "github.com/gpubroker/pod/providers/providertest"
)

var _ providers.Provisioner = (*Adapter)(nil)

const (
	machineID = "psz2kq7vx"
	template  = "tqv3w8zr"
)

var auth = pt.Header("Authorization", "Bearer pk-test")

func TestMachineTypes(t *testing.T) {
	want := map[string]string{
		"H100": "H100-PCIE-80GB", "H100x8": "H100-PCIE-80GB", "A100-80G": "A100-PCIE-80GB", "A100-80Gx8": "A100-PCIE-80GB",
		"A100": "A100-PCIE-40GB", "A6000": "RTX-A6000-48GB", "A6000x2": "RTX-A6000-48GB", "A6000x4": "RTX-A6000-48GB",
		"A5000": "RTX-A5000-24GB", "A4000": "RTX-A4000-16GB", "V100": "V100-SXM-16GB", "V100-32G": "V100-SXM-32GB",
	}
	for name, mt := range machineTypes {
		if got := canonical[name]; got != want[name] || !providers.IsGPU(got) {
			t.Errorf("%s (%q) maps to %q, want %q", name, mt.GPUName, got, want[name])
		}
		if mt.GPUs <= 0 || mt.VCPU <= 0 || mt.RAMGB <= 0 || !(mt.Price > 0) {
			t.Errorf("%s has an incomplete shape %+v", name, mt)
		}
	}
	sold := map[string]bool{}
	for _, p := range Pairs() {
		if _, ok := machineTypes[p.MachineType]; !ok {
			t.Errorf("%s offers %s, which the price table lacks", p.Region, p.MachineType)
		}
		sold[p.MachineType] = true
	}
	for name := range machineTypes {
		if !sold[name] {
			t.Errorf("%s is priced but offered in no region", name)
		}
	}
	if n := len(Pairs()); n != 19 {
		t.Errorf("%d pairs, want 19", n)
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   providers.ErrorKind
	}{
		{400, `{"code":"BAD_REQUEST","message":"Out of capacity for machine type H100"}`, providers.KindNoCapacity},
		{400, `{"code":"BAD_REQUEST","message":"Machine type A100 is not available in this region"}`, providers.KindNoCapacity},
		{403, `{"code":"FORBIDDEN","message":"Machine quota exceeded"}`, providers.KindQuota},
		{403, `{"code":"FORBIDDEN","message":"You do not have access to this team"}`, providers.KindAuth},
		{400, `{"code":"UNAUTHORIZED","message":"Invalid API key"}`, providers.KindAuth},
		{429, `{"code":"TOO_MANY_REQUESTS","message":"Rate limit exceeded"}`, ""},
		{500, `{"code":"INTERNAL_SERVER_ERROR","message":"No capacity left in East Coast (NY2)"}`, providers.KindNoCapacity},
		{503, `{"code":"INTERNAL_SERVER_ERROR","message":"Service unavailable"}`, ""},
		{400, `{"code":"BAD_REQUEST","message":"diskSize must be one of 50, 100, 250"}`, ""},
		{400, `not json`, ""},
	} {
		if got := classify(c.status, []byte(c.body)); got != c.want {
			t.Errorf("classify(%d, %s) = %q, want %q", c.status, c.body, got, c.want)
		}
	}
}

// availability answers the availability of one pair with a recorded file.
func availability(machineType, region, file string, status int) pt.Route {
	q := url.Values{"machineType": {machineType}, "region": {region}}.Encode()
	return pt.Route{Method: "GET", Path: "/machine-availability", Query: q, File: file, Status: status}
}

// createBody checks the create request against the documented fields.
func createBody(r *http.Request) error {
	if err := auth(r); err != nil {
		return err
	}
	b, _ := io.ReadAll(r.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	want := map[string]any{"name": "pod-1", "machineType": "H100", "templateId": template, "region": NY2,
		"diskSize": 200.0, "publicIpType": "dynamic", "startOnCreate": true}
	for k, w := range want {
		if v[k] != w {
			return fmt.Errorf("create body %s = %v, want %v (%s)", k, v[k], w, b)
		}
	}
	return nil
}

func TestAdapter(t *testing.T) {
	offer := providers.Offer{SKU: "H100", Region: NY2, PriceHour: 5.95}
	create := func(ctx context.Context, a providers.Adapter) error {
		_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", Image: template})
		return err
	}
	list := []pt.Route{
		availability("H100", NY2, "available.json", 0),
		availability("H100x8", NY2, "unavailable.json", 0),
		availability("A100-80G", NY2, "available.json", 0),
		availability("A100-80Gx8", NY2, "unavailable.json", 0),
		availability("A100", NY2, "unavailable.json", 0),
		availability("A6000", NY2, "available.json", 0),
		availability("A6000x2", NY2, "available.json", 0),
		availability("A6000x4", NY2, "unavailable.json", 0),
		availability("A5000", NY2, "available.json", 0),
		availability("A4000", NY2, "available.json", 0),
		availability("V100", NY2, "available.json", 0),
		availability("V100-32G", NY2, "unavailable.json", 0),
		availability("A6000", CA1, "available.json", 0),
		availability("A6000x2", CA1, "available.json", 0),
		availability("A6000x4", CA1, "unavailable.json", 0),
		availability("A5000", CA1, "available.json", 0),
		availability("A4000", CA1, "available.json", 0),
		availability("A4000", AMS1, "available.json", 0),
		availability("V100", AMS1, "not_found.json", http.StatusNotFound),
	}
	pt.Run(t, pt.Suite{
		New: func(u string) providers.Adapter {
			return New(providers.Config{BaseURL: u, Credentials: map[string]string{"api_key": "pk-test"}})
		},
		Auth:   auth,
		List:   list,
		Offers: 18,
		Expect: []pt.Want{
			{SKU: "H100", Region: NY2, GPU: "H100-PCIE-80GB", Count: 1, Price: 5.95, Availability: providers.Available},
			{SKU: "H100x8", Region: NY2, GPU: "H100-PCIE-80GB", Count: 8, Price: 47.6, Availability: providers.None},
			{SKU: "A100-80G", Region: NY2, GPU: "A100-PCIE-80GB", Count: 1, Price: 3.18, Availability: providers.Available},
			{SKU: "A100-80Gx8", Region: NY2, GPU: "A100-PCIE-80GB", Count: 8, Price: 25.44, Availability: providers.None},
			{SKU: "A100", Region: NY2, GPU: "A100-PCIE-40GB", Count: 1, Price: 3.09, Availability: providers.None},
			{SKU: "A6000x2", Region: CA1, GPU: "RTX-A6000-48GB", Count: 2, Price: 3.78, Availability: providers.Available},
			{SKU: "A6000x4", Region: CA1, GPU: "RTX-A6000-48GB", Count: 4, Price: 7.56, Availability: providers.None},
			{SKU: "A5000", Region: NY2, GPU: "RTX-A5000-24GB", Count: 1, Price: 1.38, Availability: providers.Available},
			{SKU: "A4000", Region: AMS1, GPU: "RTX-A4000-16GB", Count: 1, Price: 0.76, Availability: providers.Available},
			{SKU: "V100", Region: NY2, GPU: "V100-SXM-16GB", Count: 1, Price: 2.3, Availability: providers.Available},
			{SKU: "V100-32G", Region: NY2, GPU: "V100-SXM-32GB", Count: 1, Price: 2.3, Availability: providers.None},
		},
		Calls: []pt.Call{
			{Name: "create, read, stop, start and delete", Routes: []pt.Route{
				{Method: "POST", Path: "/machines", File: "create.json", Check: createBody},
				{Method: "GET", Path: "/machines/" + machineID, File: "instance.json"},
				{Method: "PATCH", Path: "/machines/" + machineID + "/stop", File: "stop.json"},
				{Method: "PATCH", Path: "/machines/" + machineID + "/start", File: "start.json"},
				{Method: "DELETE", Path: "/machines/" + machineID, File: "delete.json"}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					p := a.(*Adapter)
					in, err := p.Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", Image: template, DiskGB: 200,
						SSHPublicKey: "ssh-ed25519 AAAA"})
					if err != nil {
						return err
					}
					if err := pt.Expect(in.ID == machineID && in.State == providers.StatePending && in.PriceHour == 5.95 &&
						in.SKU == "H100" && in.Region == NY2 && in.PublicIP == "" && !in.CreatedAt.IsZero(), "created %+v", in); err != nil {
						return err
					}
					got, err := p.Instance(ctx, in.ID)
					if err != nil {
						return err
					}
					if err := pt.Expect(got.State == providers.StateRunning && got.PublicIP == "184.105.6.71" && got.SSHPort == 22, "instance %+v", got); err != nil {
						return err
					}
					for _, f := range []func(context.Context, string) error{p.Stop, p.Start, p.Terminate} {
						if err := f(ctx, in.ID); err != nil {
							return err
						}
					}
					return nil
				}},
			{Name: "out of capacity is no capacity", Routes: []pt.Route{
				{Method: "POST", Path: "/machines", File: "no_capacity.json", Status: http.StatusBadRequest}},
				Do: create, Want: providers.ErrNoCapacity},
			{Name: "a team over its quota is a quota error", Routes: []pt.Route{
				{Method: "POST", Path: "/machines", File: "quota.json", Status: http.StatusForbidden}},
				Do: create, Want: providers.ErrQuota},
			{Name: "a create without a template is refused before any call", Do: func(ctx context.Context, a providers.Adapter) error {
				_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1"})
				return err
			}, Want: providers.ErrInvalid},
			{Name: "spot is unsupported", Do: func(ctx context.Context, a providers.Adapter) error {
				_, err := a.(*Adapter).Create(ctx, providers.CreateRequest{Offer: offer, Name: "pod-1", Image: template, Spot: true})
				return err
			}, Want: providers.ErrUnsupported},
			{Name: "a missing machine is not found", Routes: []pt.Route{
				{Method: "GET", Path: "/machines/psgone404", File: "machine_not_found.json", Status: http.StatusNotFound}},
				Do: func(ctx context.Context, a providers.Adapter) error {
					_, err := a.(*Adapter).Instance(ctx, "psgone404")
					return err
				}, Want: providers.ErrNotFound},
		},
	})
}

func TestListingStopsOnACanceledContext(t *testing.T) {
	srv, seen := pt.Server(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(providers.Config{BaseURL: srv.URL}).ListOffers(ctx)
	if providers.KindOf(err) != providers.KindUnavailable {
		t.Fatalf("err = %v, want kind unavailable", err)
	}
	if n := len(seen()); n != 0 {
		t.Errorf("%d calls after cancellation", n)
	}
}

func FuzzDecodeOffers(f *testing.F) {
	pt.Fuzz(f, func(b []byte) ([]providers.Offer, error) { return DecodeOffers("H100x8", NY2, b) },
		"available.json", "unavailable.json", "malformed.json", "unauthorized.json", "not_found.json")
}
