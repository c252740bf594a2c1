// Package scaleway is the adapter for the Scaleway Instances API
// (https://www.scaleway.com/en/developers/api/instance/): GPU server types
// and their availability per zone, and servers created, powered on and
// off, terminated and read. Scaleway prices in euros; offers carry them
// in USD at the fixed rate usdPerEUR, so they are approximate.
package scaleway

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "scaleway"

// DefaultBaseURL is Scaleway's documented Instances API address.
const DefaultBaseURL = "https://api.scaleway.com/instance/v1"

// Zones are the zones where Scaleway sells GPU servers.
var Zones = []string{"fr-par-1", "fr-par-2", "nl-ams-1", "pl-waw-2", "pl-waw-3"}

// usdPerEUR converts Scaleway's euro prices.
const usdPerEUR = 1.08

const defaultImage = "ubuntu_jammy_gpu_os_12"

// Adapter talks to Scaleway.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credentials are "secret_key" and
// "project_id".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	c.Auth = providers.Header("X-Auth-Token", cfg.Cred("secret_key"))
	c.Classify = classify
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are Scaleway's GPU Instance types (1, 2, 4 and 8 GPUs, from
// L4-1-24G with 8 vCPUs to H100-SXM-8-80G with 128 vCPUs and 960 GB, the
// smallest memory 42 GB on RENDER-S) as its choosing-a-GPU-Instance-type
// page lists them, in the zones read. The adapter sizes no volume.
var shapes = providers.Shapes{
	GPUCounts: []int{1, 2, 4, 8},
	VCPU:      providers.Range{Min: 8, Max: 128},
	RAMGiB:    providers.Range{Min: 42, Max: 960},
	DiskGiB:   providers.AnyDisk,
	Regions:   Zones,
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// ListOffers reads server types and their availability in every zone; a
// zone that fails fails the listing, as its offers would be missing.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	var out []providers.Offer
	for _, z := range Zones {
		q := url.Values{"per_page": {"100"}}
		types, err := a.C.Do(ctx, providers.Request{Op: "list server types", Path: "/zones/" + z + "/products/servers", Query: q}, nil)
		if err != nil {
			return nil, err
		}
		avail, err := a.C.Do(ctx, providers.Request{Op: "list availability", Path: "/zones/" + z + "/products/servers/availability", Query: q}, nil)
		if err != nil {
			return nil, err
		}
		offers, err := DecodeOffers(z, types, avail)
		if err != nil {
			return nil, err
		}
		out = append(out, offers...)
	}
	return a.Cfg.Normalized(out, nil)
}

// DecodeOffers turns one zone's server types and availability into
// offers; types without a GPU are left out.
func DecodeOffers(zone string, types, availability []byte) ([]providers.Offer, error) {
	var ts struct {
		Servers map[string]struct {
			NCPUs   int     `json:"ncpus"`
			RAM     float64 `json:"ram"`
			GPU     int     `json:"gpu"`
			Hourly  float64 `json:"hourly_price"`
			GPUInfo *struct {
				Name   string  `json:"gpu_name"`
				Memory float64 `json:"gpu_memory"`
			} `json:"gpu_info"`
			Scratch float64 `json:"scratch_storage_max_size"`
		} `json:"servers"`
	}
	if err := json.Unmarshal(types, &ts); err != nil {
		return nil, providers.BadResponse(ID, "list server types", "%v", err)
	}
	if ts.Servers == nil {
		return nil, providers.BadResponse(ID, "list server types", "no servers object")
	}
	var av struct {
		Servers map[string]struct {
			Availability string `json:"availability"`
		} `json:"servers"`
	}
	if err := json.Unmarshal(availability, &av); err != nil {
		return nil, providers.BadResponse(ID, "list availability", "%v", err)
	}
	names := make([]string, 0, len(ts.Servers))
	for n := range ts.Servers {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []providers.Offer
	for _, name := range names {
		s := ts.Servers[name]
		if name == "" || s.GPU <= 0 || s.GPUInfo == nil || s.GPUInfo.Name == "" || !(s.Hourly > 0) || math.IsInf(s.Hourly, 0) {
			continue
		}
		memGB := int(math.Round(s.GPUInfo.Memory / (1 << 30)))
		raw := s.GPUInfo.Name
		if strings.Contains(name, "SXM") {
			raw += " SXM"
		} else if strings.HasPrefix(raw, "H100") || strings.HasPrefix(raw, "A100") {
			raw += " PCIe"
		}
		o := providers.Offer{Provider: ID, SKU: name, GPU: providers.MustCanonicalGPU(raw, memGB), GPUCount: s.GPU,
			VCPU: s.NCPUs, RAMGB: math.Round(s.RAM / (1 << 30)), DiskGB: int(s.Scratch / 1e9), Region: zone,
			PriceHour: math.Round(s.Hourly*usdPerEUR*1000) / 1000, AvailableCount: -1}
		switch av.Servers[name].Availability {
		case "available":
			o.Availability = providers.Available
		case "scarce":
			o.Availability = providers.Limited
		default:
			o.Availability = providers.None
		}
		if s.GPU > 1 {
			o.Interconnect = "nvlink"
		}
		out = append(out, o)
	}
	return out, nil
}

// classify reads Scaleway's error types.
func classify(_ int, body []byte) providers.ErrorKind {
	var v struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	switch v.Type {
	case "quotas_exceeded":
		return providers.KindQuota
	case "out_of_stock":
		return providers.KindNoCapacity
	case "denied_authentication", "permissions_denied":
		return providers.KindAuth
	case "unknown_resource", "not_found":
		return providers.KindNotFound
	}
	return ""
}

// An instance id is "<zone>/<server uuid>": every call needs the zone.
func split(id string) (string, string, error) {
	zone, uuid, ok := strings.Cut(id, "/")
	if !ok || zone == "" || uuid == "" {
		return "", "", &providers.Error{Provider: ID, Op: "parse instance id", Kind: providers.KindInvalid, Message: "want <zone>/<server id>, got " + id}
	}
	return zone, uuid, nil
}

type server struct {
	ID             string `json:"id"`
	State          string `json:"state"`
	CommercialType string `json:"commercial_type"`
	Zone           string `json:"zone"`
	PublicIP       *struct {
		Address string `json:"address"`
	} `json:"public_ip"`
}

func (s server) normal(zone string) providers.Instance {
	in := providers.Instance{ID: zone + "/" + s.ID, Provider: ID, SKU: s.CommercialType, Region: zone, SSHPort: 22, State: providers.StateUnknown}
	if s.PublicIP != nil {
		in.PublicIP = s.PublicIP.Address
	}
	switch s.State {
	case "starting":
		in.State = providers.StatePending
	case "running":
		in.State = providers.StateRunning
	case "stopping":
		in.State = providers.StateStopping
	case "stopped", "stopped in place":
		in.State = providers.StateStopped
	case "locked":
		in.State = providers.StateFailed
	}
	return in
}

// Create makes a server of the type in the offer's zone and powers it on.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "create spot")
	}
	img := req.Image
	if img == "" {
		img = defaultImage
	}
	body := map[string]any{"name": req.Name, "commercial_type": req.Offer.SKU, "image": img, "project": a.Cfg.Cred("project_id"),
		"dynamic_ip_required": true}
	if req.SSHPublicKey != "" {
		body["tags"] = []string{"AUTHORIZED_KEY=" + strings.ReplaceAll(req.SSHPublicKey, " ", "_")}
	}
	var out struct {
		Server server `json:"server"`
	}
	zone := req.Offer.Region
	if _, err := a.C.Do(ctx, providers.Request{Op: "create server", Method: http.MethodPost, Path: "/zones/" + zone + "/servers", Body: body}, &out); err != nil {
		return providers.Instance{}, err
	}
	if out.Server.ID == "" {
		return providers.Instance{}, providers.BadResponse(ID, "create server", "no server id")
	}
	in := out.Server.normal(zone)
	if err := a.action(ctx, in.ID, "poweron"); err != nil {
		return in, err
	}
	in.State, in.PriceHour = providers.StatePending, req.Offer.PriceHour
	return in, nil
}

func (a *Adapter) action(ctx context.Context, id, action string) error {
	zone, uuid, err := split(id)
	if err != nil {
		return err
	}
	_, err = a.C.Do(ctx, providers.Request{Op: action, Method: http.MethodPost, Path: "/zones/" + zone + "/servers/" + uuid + "/action",
		Body: map[string]string{"action": action}}, nil)
	return err
}

// Start powers a server on.
func (a *Adapter) Start(ctx context.Context, id string) error { return a.action(ctx, id, "poweron") }

// Stop powers a server off.
func (a *Adapter) Stop(ctx context.Context, id string) error { return a.action(ctx, id, "poweroff") }

// Terminate deletes a server with its local volumes.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	return a.action(ctx, id, "terminate")
}

// Instance reads a server.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	zone, uuid, err := split(id)
	if err != nil {
		return providers.Instance{}, err
	}
	var out struct {
		Server server `json:"server"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "get server", Path: "/zones/" + zone + "/servers/" + uuid}, &out); err != nil {
		return providers.Instance{}, err
	}
	return out.Server.normal(zone), nil
}
