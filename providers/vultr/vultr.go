// Package vultr is the adapter for Vultr's API v2
// (https://www.vultr.com/api/): cloud GPU plans (type vcg) with their
// hourly price and locations, and instance create, start, halt, delete and
// status. Fractional-GPU plans (less than one whole GPU of memory) are not
// offered; a plan is listed as available in every location it names.
package vultr

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "vultr"

// DefaultBaseURL is Vultr's documented API address.
const DefaultBaseURL = "https://api.vultr.com/v2"

// defaultOS is Ubuntu 22.04 x64, Vultr's os_id 1743, used when the request
// names no image.
const defaultOS = 1743

// Adapter talks to Vultr.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credential is "api_key".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	c.Auth = providers.Bearer(cfg.Cred("api_key"))
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are derived from the recorded plans and the sandbox catalogue,
// as no size table of Vultr's could be read: whole-GPU plans of one and
// eight GPUs, 12 to 128 vCPUs and 60 to 1,536 GB, in Vultr's locations
// (its regions list), where a plan may name any. The adapter sizes no
// disk.
var shapes = providers.Shapes{
	GPUCounts: []int{1, 8},
	VCPU:      providers.Range{Min: 12, Max: 128},
	RAMGiB:    providers.Range{Min: 60, Max: 1536},
	DiskGiB:   providers.AnyDisk,
	Regions: []string{"ams", "atl", "blr", "bom", "cdg", "del", "dfw", "ewr", "fra", "hnl", "icn", "itm", "jnb", "lax",
		"lhr", "mad", "man", "mel", "mex", "mia", "nrt", "ord", "sao", "scl", "sea", "sgp", "sjc", "sto", "syd", "tlv",
		"waw", "yto"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// ListOffers reads the GPU plans.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	body, err := a.C.Do(ctx, providers.Request{Op: "list plans", Path: "/plans", Query: url.Values{"type": {"vcg"}, "per_page": {"500"}}}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(body))
}

// gpuNames maps Vultr's gpu_type to a GPU spelling CanonicalGPU reads.
var gpuNames = map[string]string{
	"NVIDIA_A100": "A100 PCIE", "NVIDIA_H100": "H100 SXM", "NVIDIA_L40S": "L40S", "NVIDIA_A40": "A40",
	"NVIDIA_A16": "A16", "AMD_MI300X": "MI300X", "NVIDIA_GH200": "GH200", "NVIDIA_B200": "B200",
}

// DecodeOffers turns /plans?type=vcg into offers, one per plan and
// location.
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	var v struct {
		Plans []struct {
			ID        string   `json:"id"`
			VCPU      int      `json:"vcpu_count"`
			RAM       int      `json:"ram"`
			Disk      int      `json:"disk"`
			Monthly   float64  `json:"monthly_cost"`
			Hourly    float64  `json:"hourly_cost"`
			Locations []string `json:"locations"`
			GPUVRAM   int      `json:"gpu_vram_gb"`
			GPUType   string   `json:"gpu_type"`
		} `json:"plans"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "list plans", "%v", err)
	}
	if v.Plans == nil {
		return nil, providers.BadResponse(ID, "list plans", "no plans array")
	}
	var out []providers.Offer
	for _, p := range v.Plans {
		raw := gpuNames[p.GPUType]
		if raw == "" {
			raw = strings.ReplaceAll(p.GPUType, "_", " ")
		}
		gpu, ok := providers.CanonicalGPU(raw, 0)
		m, known := providers.LookupGPU(gpu)
		if p.ID == "" || !ok || !known || p.GPUVRAM < m.MemoryGB {
			continue // fractional GPUs and unknown models are not offers
		}
		count := int(math.Round(float64(p.GPUVRAM) / float64(m.MemoryGB)))
		price := p.Hourly
		if price <= 0 {
			price = p.Monthly / 730 // Vultr bills a month as 730 hours
		}
		if price <= 0 || math.IsInf(price, 0) {
			continue
		}
		for _, loc := range p.Locations {
			if loc == "" {
				continue
			}
			out = append(out, providers.Offer{Provider: ID, SKU: p.ID, GPU: gpu, GPUCount: count, GPUMemoryGB: m.MemoryGB,
				VCPU: p.VCPU, RAMGB: float64(p.RAM) / 1024, DiskGB: p.Disk, Region: loc,
				PriceHour: math.Round(price*1000) / 1000, Availability: providers.Available, AvailableCount: -1})
		}
	}
	return out, nil
}

type instance struct {
	ID          string `json:"id"`
	MainIP      string `json:"main_ip"`
	Status      string `json:"status"`
	PowerStatus string `json:"power_status"`
	Region      string `json:"region"`
	Plan        string `json:"plan"`
	DateCreated string `json:"date_created"`
}

func (in instance) normal() providers.Instance {
	st := providers.StateUnknown
	switch {
	case in.Status == "pending":
		st = providers.StatePending
	case in.Status == "active" && in.PowerStatus == "running":
		st = providers.StateRunning
	case in.Status == "active" && in.PowerStatus == "stopped":
		st = providers.StateStopped
	case in.Status == "suspended":
		st = providers.StateStopped
	}
	return providers.Instance{ID: in.ID, Provider: ID, SKU: in.Plan, Region: in.Region, State: st, PublicIP: in.MainIP, SSHPort: 22}
}

// Create deploys one instance of the plan in the offer's location.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "create spot")
	}
	osID := defaultOS
	if n, err := strconv.Atoi(req.Image); err == nil {
		osID = n
	}
	body := map[string]any{"region": req.Offer.Region, "plan": req.Offer.SKU, "os_id": osID, "label": req.Name, "hostname": req.Name}
	if req.SSHPublicKey != "" {
		body["user_data"] = cloudInit(req.SSHPublicKey)
	}
	var out struct {
		Instance instance `json:"instance"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "create instance", Method: http.MethodPost, Path: "/instances", Body: body}, &out); err != nil {
		return providers.Instance{}, err
	}
	if out.Instance.ID == "" {
		return providers.Instance{}, providers.BadResponse(ID, "create instance", "no instance id")
	}
	inst := out.Instance.normal()
	inst.PriceHour = req.Offer.PriceHour
	return inst, nil
}

// cloudInit puts the key in place at first boot; Vultr's user_data is
// base64 of a cloud-init document.
func cloudInit(key string) string {
	return base64.StdEncoding.EncodeToString([]byte("#cloud-config\nssh_authorized_keys:\n  - " + key + "\n"))
}

// Start powers an instance on.
func (a *Adapter) Start(ctx context.Context, id string) error {
	return a.action(ctx, "start", id, "/start")
}

// Stop halts an instance.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	return a.action(ctx, "halt", id, "/halt")
}

func (a *Adapter) action(ctx context.Context, op, id, suffix string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: op, Method: http.MethodPost, Path: "/instances/" + url.PathEscape(id) + suffix}, nil)
	return err
}

// Terminate deletes an instance.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "delete instance", Method: http.MethodDelete, Path: "/instances/" + url.PathEscape(id)}, nil)
	return err
}

// Instance reads an instance.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out struct {
		Instance instance `json:"instance"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "get instance", Path: "/instances/" + url.PathEscape(id)}, &out); err != nil {
		return providers.Instance{}, err
	}
	return out.Instance.normal(), nil
}
