// Package gcp is the adapter for Google Cloud: GPU machine prices from the
// Cloud Billing Catalog API (https://cloud.google.com/billing/docs/reference/rest/v1/services.skus/list)
// for Compute Engine, summed from the machine family's core and RAM SKUs
// and the GPU SKU, on-demand and spot, per region; and Compute Engine
// instances (https://cloud.google.com/compute/docs/reference/rest/v1/instances)
// inserted, started, stopped, deleted and read in the service account's
// project, in zone "<region>-a". Tokens come from the service account's
// key by the OAuth 2.0 JWT bearer grant (golang.org/x/oauth2/jwt). An
// instance id is "<zone>/<name>".
package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "gcp"

// The documented addresses.
const (
	BillingURL = "https://cloudbilling.googleapis.com"
	ComputeURL = "https://compute.googleapis.com"
	TokenURL   = "https://oauth2.googleapis.com/token"
)

// computeEngine is the Billing Catalog id of Compute Engine.
const computeEngine = "services/6F81-5844-456A"

const maxPages = 20

type machine struct {
	gpu    string
	count  int
	vcpu   int
	ramGB  float64
	family string // core/RAM SKU prefix: "A3 Instance", "N1 Predefined Instance"
	gpuSKU string // GPU SKU description prefix
	attach string // accelerator type attached to an N1 machine; "" when the GPUs are built in
}

// machines are the GPU machine types priced, as Google documents them.
var machines = map[string]machine{
	"a3-highgpu-8g":  {"H100-SXM-80GB", 8, 208, 1872, "A3 Instance", "Nvidia H100 80GB GPU", ""},
	"a3-highgpu-1g":  {"H100-SXM-80GB", 1, 26, 234, "A3 Instance", "Nvidia H100 80GB GPU", ""},
	"a2-highgpu-1g":  {"A100-SXM-40GB", 1, 12, 85, "A2 Instance", "Nvidia Tesla A100 GPU", ""},
	"a2-highgpu-8g":  {"A100-SXM-40GB", 8, 96, 680, "A2 Instance", "Nvidia Tesla A100 GPU", ""},
	"a2-ultragpu-1g": {"A100-SXM-80GB", 1, 12, 170, "A2 Instance", "Nvidia A100 80GB GPU", ""},
	"a2-ultragpu-8g": {"A100-SXM-80GB", 8, 96, 1360, "A2 Instance", "Nvidia A100 80GB GPU", ""},
	"g2-standard-4":  {"L4-PCIE-24GB", 1, 4, 16, "G2 Instance", "Nvidia L4 GPU", ""},
	"g2-standard-48": {"L4-PCIE-24GB", 4, 48, 192, "G2 Instance", "Nvidia L4 GPU", ""},
	"n1-standard-8":  {"T4-PCIE-16GB", 1, 8, 30, "N1 Predefined Instance", "Nvidia Tesla T4 GPU", "nvidia-tesla-t4"},
}

// Adapter talks to Google Cloud.
type Adapter struct {
	billing, compute *providers.Client
	cfg              providers.Config
	project          string

	mu  sync.Mutex
	src oauth2.TokenSource
	err error
}

// New builds the adapter; the credential is "service_account_json".
func New(cfg providers.Config) *Adapter {
	a := &Adapter{billing: providers.NewClient(ID, BillingURL, cfg), compute: providers.NewClient(ID, ComputeURL, cfg), cfg: cfg}
	var sa struct {
		ClientEmail  string `json:"client_email"`
		PrivateKey   string `json:"private_key"`
		PrivateKeyID string `json:"private_key_id"`
		TokenURI     string `json:"token_uri"`
		ProjectID    string `json:"project_id"`
	}
	if err := json.Unmarshal([]byte(cfg.Cred("service_account_json")), &sa); err != nil || sa.ClientEmail == "" || sa.PrivateKey == "" {
		a.err = errors.New("service_account_json is not a service account key")
	}
	tokenURL := sa.TokenURI
	if tokenURL == "" {
		tokenURL = TokenURL
	}
	if cfg.BaseURL != "" {
		tokenURL = strings.TrimRight(cfg.BaseURL, "/") + "/token"
	}
	a.project = sa.ProjectID
	jc := &jwt.Config{Email: sa.ClientEmail, PrivateKey: []byte(sa.PrivateKey), PrivateKeyID: sa.PrivateKeyID,
		Scopes: []string{"https://www.googleapis.com/auth/cloud-platform"}, TokenURL: tokenURL}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	a.src = oauth2.ReuseTokenSource(nil, jc.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, hc)))
	auth := func(r *http.Request) error {
		if a.err != nil {
			return a.err
		}
		a.mu.Lock()
		tok, err := a.src.Token()
		a.mu.Unlock()
		if err != nil {
			return err
		}
		tok.SetAuthHeader(r)
		return nil
	}
	a.billing.Auth, a.compute.Auth = auth, auth
	a.compute.Classify = classify
	return a
}

// regions are Compute Engine's regions, as its regions and zones page
// lists them: the billing catalogue prices GPUs in any of them.
var regions = []string{
	"africa-south1", "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3", "asia-south1",
	"asia-south2", "asia-southeast1", "asia-southeast2", "australia-southeast1", "australia-southeast2",
	"europe-central2", "europe-north1", "europe-north2", "europe-southwest1", "europe-west1", "europe-west10",
	"europe-west12", "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8", "europe-west9",
	"me-central1", "me-central2", "me-west1", "northamerica-northeast1", "northamerica-northeast2",
	"northamerica-south1", "southamerica-east1", "southamerica-west1", "us-central1", "us-east1", "us-east4",
	"us-east5", "us-south1", "us-west1", "us-west2", "us-west3", "us-west4",
}

// shapes are the machines table's GPU counts, vCPUs and memory, in the
// regions above, with a boot persistent disk of 10 GB to 64 TB (Compute
// Engine persistent disk limits).
var shapes = providers.Span(maps.Values(machines), func(m machine) providers.Machine {
	return providers.Machine{GPUs: m.count, VCPU: m.vcpu, RAMGiB: m.ramGB}
}, providers.Range{Min: 10, Max: 65536}, regions)

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// Provider implements providers.Adapter.
func (a *Adapter) Provider() string { return ID }

// ListOffers pages through Compute Engine's SKUs.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	var pages [][]byte
	q := url.Values{"currencyCode": {"USD"}, "pageSize": {"5000"}}
	for i := 0; i < maxPages; i++ {
		body, err := a.billing.Do(ctx, providers.Request{Op: "list skus", Path: "/v1/" + computeEngine + "/skus", Query: q}, nil)
		if err != nil {
			return nil, err
		}
		pages = append(pages, body)
		var next struct {
			NextPageToken string `json:"nextPageToken"`
		}
		_ = json.Unmarshal(body, &next)
		if next.NextPageToken == "" {
			break
		}
		q = url.Values{"currencyCode": {"USD"}, "pageSize": {"5000"}, "pageToken": {next.NextPageToken}}
	}
	return a.cfg.Normalized(DecodeOffers(pages...))
}

type money struct {
	Units string `json:"units"`
	Nanos int64  `json:"nanos"`
}

func (m money) usd() float64 {
	u, _ := strconv.ParseFloat(m.Units, 64)
	return u + float64(m.Nanos)/1e9
}

// DecodeOffers prices every machine of machines in every region whose
// core, RAM and GPU SKUs all have a price.
func DecodeOffers(pages ...[]byte) ([]providers.Offer, error) {
	type rk struct{ desc, usage, region string }
	price := map[rk]float64{}
	for _, page := range pages {
		var v struct {
			Skus []struct {
				Description string `json:"description"`
				Category    struct {
					ResourceGroup string `json:"resourceGroup"`
					UsageType     string `json:"usageType"`
				} `json:"category"`
				ServiceRegions []string `json:"serviceRegions"`
				PricingInfo    []struct {
					PricingExpression struct {
						TieredRates []struct {
							UnitPrice money `json:"unitPrice"`
						} `json:"tieredRates"`
					} `json:"pricingExpression"`
				} `json:"pricingInfo"`
			} `json:"skus"`
		}
		if err := json.Unmarshal(page, &v); err != nil {
			return nil, providers.BadResponse(ID, "list skus", "%v", err)
		}
		if v.Skus == nil {
			return nil, providers.BadResponse(ID, "list skus", "no skus")
		}
		for _, s := range v.Skus {
			if len(s.PricingInfo) == 0 || len(s.PricingInfo[0].PricingExpression.TieredRates) == 0 {
				continue
			}
			rates := s.PricingInfo[0].PricingExpression.TieredRates
			p := rates[len(rates)-1].UnitPrice.usd()
			if !(p > 0) || math.IsInf(p, 0) {
				continue
			}
			// "Nvidia L4 GPU running in Americas" → "Nvidia L4 GPU"
			desc, _, _ := strings.Cut(s.Description, " running in ")
			for _, r := range s.ServiceRegions {
				price[rk{desc, s.Category.UsageType, r}] = p
			}
		}
	}
	regions := map[string]bool{}
	for k := range price {
		regions[k.region] = true
	}
	names := make([]string, 0, len(machines))
	for n := range machines {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []providers.Offer
	for _, n := range names {
		m := machines[n]
		for r := range regions {
			total := func(usage string) float64 {
				gpu, core, ram := price[rk{m.gpuSKU, usage, r}], price[rk{m.family + " Core", usage, r}], price[rk{m.family + " Ram", usage, r}]
				if gpu <= 0 || core <= 0 || ram <= 0 {
					return 0
				}
				return math.Round((float64(m.count)*gpu+float64(m.vcpu)*core+m.ramGB*ram)*1000) / 1000
			}
			od := total("OnDemand")
			if od <= 0 {
				continue
			}
			o := providers.Offer{Provider: ID, SKU: n, GPU: m.gpu, GPUCount: m.count, VCPU: m.vcpu, RAMGB: m.ramGB, Region: r,
				PriceHour: od, Availability: providers.Available, AvailableCount: -1}
			if sp := total("Preemptible"); sp > 0 && sp < od {
				o.SpotPriceHour = sp
			}
			if m.count >= 8 {
				o.Interconnect = "nvlink"
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU+out[i].Region < out[j].SKU+out[j].Region })
	return out, nil
}

// classify reads Google API error reasons.
func classify(_ int, body []byte) providers.ErrorKind {
	var v struct {
		Error struct {
			Message string `json:"message"`
			Errors  []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	for _, e := range v.Error.Errors {
		switch e.Reason {
		case "quotaExceeded", "QUOTA_EXCEEDED":
			return providers.KindQuota
		case "ZONE_RESOURCE_POOL_EXHAUSTED", "resourcePoolExhausted", "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS":
			return providers.KindNoCapacity
		case "rateLimitExceeded", "userRateLimitExceeded":
			return providers.KindRateLimit
		case "notFound":
			return providers.KindNotFound
		}
	}
	return ""
}

func (a *Adapter) instances(zone string) string {
	return "/compute/v1/projects/" + url.PathEscape(a.project) + "/zones/" + url.PathEscape(zone) + "/instances"
}

func split(id string) (string, string, error) {
	zone, name, ok := strings.Cut(id, "/")
	if !ok || zone == "" || name == "" {
		return "", "", &providers.Error{Provider: ID, Op: "parse instance id", Kind: providers.KindInvalid, Message: "want <zone>/<name>, got " + id}
	}
	return zone, name, nil
}

// Create inserts an instance of the machine type in zone "<region>-a",
// spot when asked, with the SSH key in its metadata.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	m, ok := machines[req.Offer.SKU]
	if !ok {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "insert instance", Kind: providers.KindInvalid, Message: "unknown machine type " + req.Offer.SKU}
	}
	zone := req.Offer.Zone
	if zone == "" {
		zone = req.Offer.Region + "-a"
	}
	img := req.Image
	if img == "" {
		img = "projects/deeplearning-platform-release/global/images/family/common-cu124-debian-11"
	}
	sched := map[string]any{"onHostMaintenance": "TERMINATE"}
	price := req.Offer.PriceHour
	if req.Spot {
		sched["provisioningModel"], sched["instanceTerminationAction"] = "SPOT", "STOP"
		price = req.Offer.SpotPriceHour
	}
	body := map[string]any{"name": req.Name, "machineType": "zones/" + zone + "/machineTypes/" + req.Offer.SKU,
		"disks":             []any{map[string]any{"boot": true, "autoDelete": true, "initializeParams": map[string]any{"sourceImage": img, "diskSizeGb": max(req.DiskGB, 100)}}},
		"networkInterfaces": []any{map[string]any{"network": "global/networks/default", "accessConfigs": []any{map[string]string{"type": "ONE_TO_ONE_NAT"}}}},
		"scheduling":        sched,
		"metadata":          map[string]any{"items": []any{map[string]string{"key": "ssh-keys", "value": "gpubroker:" + req.SSHPublicKey}}}}
	if m.attach != "" {
		body["guestAccelerators"] = []any{map[string]any{"acceleratorType": "zones/" + zone + "/acceleratorTypes/" + m.attach, "acceleratorCount": m.count}}
	}
	if _, err := a.compute.Do(ctx, providers.Request{Op: "insert instance", Method: http.MethodPost, Path: a.instances(zone), Body: body}, nil); err != nil {
		return providers.Instance{}, err
	}
	return providers.Instance{ID: zone + "/" + req.Name, Provider: ID, SKU: req.Offer.SKU, Region: req.Offer.Region, State: providers.StatePending,
		SSHPort: 22, PriceHour: price}, nil
}

func (a *Adapter) post(ctx context.Context, id, verb string) error {
	zone, name, err := split(id)
	if err != nil {
		return err
	}
	_, err = a.compute.Do(ctx, providers.Request{Op: verb + " instance", Method: http.MethodPost, Path: a.instances(zone) + "/" + url.PathEscape(name) + "/" + verb}, nil)
	return err
}

// Start starts a stopped instance.
func (a *Adapter) Start(ctx context.Context, id string) error { return a.post(ctx, id, "start") }

// Stop stops an instance.
func (a *Adapter) Stop(ctx context.Context, id string) error { return a.post(ctx, id, "stop") }

// Terminate deletes an instance and its boot disk.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	zone, name, err := split(id)
	if err != nil {
		return err
	}
	_, err = a.compute.Do(ctx, providers.Request{Op: "delete instance", Method: http.MethodDelete, Path: a.instances(zone) + "/" + url.PathEscape(name)}, nil)
	return err
}

// Instance reads an instance.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	zone, name, err := split(id)
	if err != nil {
		return providers.Instance{}, err
	}
	var v struct {
		Status            string `json:"status"`
		MachineType       string `json:"machineType"`
		NetworkInterfaces []struct {
			AccessConfigs []struct {
				NatIP string `json:"natIP"`
			} `json:"accessConfigs"`
		} `json:"networkInterfaces"`
	}
	if _, err := a.compute.Do(ctx, providers.Request{Op: "get instance", Path: a.instances(zone) + "/" + url.PathEscape(name)}, &v); err != nil {
		return providers.Instance{}, err
	}
	in := providers.Instance{ID: id, Provider: ID, SKU: v.MachineType[strings.LastIndexByte(v.MachineType, '/')+1:],
		Region: strings.TrimSuffix(zone, zone[max(strings.LastIndexByte(zone, '-'), 0):]), SSHPort: 22, State: providers.StateUnknown}
	for _, n := range v.NetworkInterfaces {
		for _, ac := range n.AccessConfigs {
			if ac.NatIP != "" {
				in.PublicIP = ac.NatIP
			}
		}
	}
	switch v.Status {
	case "PROVISIONING", "STAGING":
		in.State = providers.StatePending
	case "RUNNING":
		in.State = providers.StateRunning
	case "STOPPING", "SUSPENDING":
		in.State = providers.StateStopping
	case "TERMINATED", "SUSPENDED", "STOPPED":
		in.State = providers.StateStopped // a stopped instance is TERMINATED in Compute Engine's words
	case "REPAIRING":
		in.State = providers.StateFailed
	}
	return in, nil
}
