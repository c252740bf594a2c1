// Package latitude is the adapter for the Latitude.sh API
// (https://docs.latitude.sh/reference): GPU bare-metal plans with their
// USD hourly price and stock per location (JSON:API documents), and
// servers deployed in the tenant's project, powered on and off, deleted
// and read.
package latitude

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"sort"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "latitude"

// DefaultBaseURL is Latitude.sh's documented API address.
const DefaultBaseURL = "https://api.latitude.sh"

const defaultOS = "ubuntu_22_04_x64_lts"

// Adapter talks to Latitude.sh.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credentials are "api_key" and "project".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	key := cfg.Cred("api_key")
	c.Auth = func(r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+key)
		r.Header.Set("Accept", "application/vnd.api+json")
		return nil
	}
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are derived from the recorded plans and the sandbox catalogue,
// as no size table of Latitude.sh's could be read: GPU servers of one and
// eight GPUs, 16 to 192 vCPUs and 128 to 2,048 GiB, in the locations they
// name. Bare metal comes with its own disks: the adapter sizes none.
var shapes = providers.Shapes{
	GPUCounts: []int{1, 8},
	VCPU:      providers.Range{Min: 16, Max: 192},
	RAMGiB:    providers.Range{Min: 128, Max: 2048},
	DiskGiB:   providers.AnyDisk,
	Regions:   []string{"DAL", "FRA", "NYC"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// ListOffers reads the GPU plans.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	body, err := a.C.Do(ctx, providers.Request{Op: "list plans", Path: "/plans", Query: url.Values{"filter[gpu]": {"true"}}}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(body))
}

// DecodeOffers turns plans into offers, one per plan and location.
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	var v struct {
		Data []struct {
			ID         string `json:"id"`
			Attributes struct {
				Slug  string `json:"slug"`
				Specs struct {
					CPU struct {
						Cores int `json:"cores"`
						Count int `json:"count"`
					} `json:"cpu"`
					Memory struct {
						Total float64 `json:"total"`
					} `json:"memory"`
					GPU *struct {
						Count int    `json:"count"`
						Type  string `json:"type"`
					} `json:"gpu"`
				} `json:"specs"`
				Regions []struct {
					Locations struct {
						Available []string `json:"available"`
						InStock   []string `json:"in_stock"`
					} `json:"locations"`
					StockLevel string `json:"stock_level"`
					Pricing    struct {
						USD struct {
							Hour float64 `json:"hour"`
						} `json:"USD"`
					} `json:"pricing"`
				} `json:"regions"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "list plans", "%v", err)
	}
	if v.Data == nil {
		return nil, providers.BadResponse(ID, "list plans", "no data array")
	}
	var out []providers.Offer
	for _, p := range v.Data {
		at := p.Attributes
		if at.Slug == "" || at.Specs.GPU == nil || at.Specs.GPU.Count <= 0 || at.Specs.GPU.Type == "" {
			continue
		}
		gpu := providers.MustCanonicalGPU(at.Specs.GPU.Type, 0)
		vcpu := at.Specs.CPU.Cores * max(at.Specs.CPU.Count, 1) * 2 // two threads a core
		for _, r := range at.Regions {
			price := r.Pricing.USD.Hour
			if !(price > 0) || math.IsInf(price, 0) {
				continue
			}
			stock := map[string]bool{}
			for _, l := range r.Locations.InStock {
				stock[l] = true
			}
			locs := append([]string(nil), r.Locations.Available...)
			sort.Strings(locs)
			for _, loc := range locs {
				if loc == "" {
					continue
				}
				o := providers.Offer{Provider: ID, SKU: at.Slug, GPU: gpu, GPUCount: at.Specs.GPU.Count, VCPU: vcpu,
					RAMGB: at.Specs.Memory.Total, Region: loc, PriceHour: price, Availability: providers.None, AvailableCount: -1}
				if stock[loc] {
					o.Availability = providers.Available
					if r.StockLevel == "low" {
						o.Availability = providers.Limited
					}
				}
				out = append(out, o)
			}
		}
	}
	return out, nil
}

type server struct {
	ID         string `json:"id"`
	Attributes struct {
		Status      string `json:"status"`
		PrimaryIPv4 string `json:"primary_ipv4"`
		Plan        struct {
			Slug string `json:"slug"`
		} `json:"plan"`
		Region struct {
			Site struct {
				Slug string `json:"slug"`
			} `json:"site"`
		} `json:"region"`
	} `json:"attributes"`
}

func (s server) normal() providers.Instance {
	in := providers.Instance{ID: s.ID, Provider: ID, SKU: s.Attributes.Plan.Slug, Region: s.Attributes.Region.Site.Slug,
		PublicIP: s.Attributes.PrimaryIPv4, SSHPort: 22, State: providers.StateUnknown}
	switch s.Attributes.Status {
	case "deploying", "on_hold", "inventory":
		in.State = providers.StatePending
	case "on":
		in.State = providers.StateRunning
	case "off":
		in.State = providers.StateStopped
	case "disk_erasing", "deleted":
		in.State = providers.StateTerminated
	case "failed_deployment":
		in.State = providers.StateFailed
	}
	return in
}

// Create deploys a server of the plan in the offer's location.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "deploy spot")
	}
	osName := req.Image
	if osName == "" {
		osName = defaultOS
	}
	attrs := map[string]any{"project": a.Cfg.Cred("project"), "plan": req.Offer.SKU, "site": req.Offer.Region,
		"operating_system": osName, "hostname": req.Name}
	if req.SSHPublicKey != "" {
		var key struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if _, err := a.C.Do(ctx, providers.Request{Op: "add ssh key", Method: http.MethodPost, Path: "/ssh_keys",
			Body: map[string]any{"data": map[string]any{"type": "ssh_keys", "attributes": map[string]string{"name": req.Name, "public_key": req.SSHPublicKey}}}}, &key); err != nil {
			return providers.Instance{}, err
		}
		attrs["ssh_keys"] = []string{key.Data.ID}
	}
	var out struct {
		Data server `json:"data"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "deploy server", Method: http.MethodPost, Path: "/servers",
		Body: map[string]any{"data": map[string]any{"type": "servers", "attributes": attrs}}}, &out); err != nil {
		return providers.Instance{}, err
	}
	if out.Data.ID == "" {
		return providers.Instance{}, providers.BadResponse(ID, "deploy server", "no server id")
	}
	in := out.Data.normal()
	in.SKU, in.Region, in.PriceHour = req.Offer.SKU, req.Offer.Region, req.Offer.PriceHour
	return in, nil
}

func (a *Adapter) power(ctx context.Context, id, action string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: action, Method: http.MethodPost, Path: "/servers/" + url.PathEscape(id) + "/actions",
		Body: map[string]any{"data": map[string]any{"type": "actions", "attributes": map[string]string{"action": action}}}}, nil)
	return err
}

// Start powers a server on.
func (a *Adapter) Start(ctx context.Context, id string) error { return a.power(ctx, id, "power_on") }

// Stop powers a server off (a bare-metal server is billed until deleted).
func (a *Adapter) Stop(ctx context.Context, id string) error { return a.power(ctx, id, "power_off") }

// Terminate deletes a server.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "delete server", Method: http.MethodDelete, Path: "/servers/" + url.PathEscape(id)}, nil)
	return err
}

// Instance reads a server.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out struct {
		Data server `json:"data"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "get server", Path: "/servers/" + url.PathEscape(id)}, &out); err != nil {
		return providers.Instance{}, err
	}
	return out.Data.normal(), nil
}
