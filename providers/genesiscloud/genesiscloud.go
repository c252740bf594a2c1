// Package genesiscloud is the adapter for the Genesis Cloud compute API
// (https://developers.genesiscloud.com, "X-Auth-Token" header): which
// instance types each region can start now (GET
// /availability/{region}/instances), priced from Genesis Cloud's published
// per-GPU hourly list (the table listPrices, compiled 2026-11, as the API
// serves no prices), and instances created, started, stopped, deleted and
// read. An instance type's name carries its shape:
// "vcpu-24_memory-240g_nvidia-h100-sxm5-1" is 24 vCPUs, 240 GB and one
// H100 SXM5.
package genesiscloud

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "genesiscloud"

// DefaultBaseURL is Genesis Cloud's documented API address.
const DefaultBaseURL = "https://api.genesiscloud.com/compute/v1"

const defaultImage = "ubuntu:22.04"

// Regions are the regions whose availability is read.
var Regions = []string{"NORD-NO-KRS-1", "EUC-DE-MUC-1", "EUW-GB-MNC-1", "EUW-NL-AMS-1", "NA-CA-FTS-1", "NA-CA-MNZ-1", "NA-CA-PRG-1"}

// listPrices are Genesis Cloud's published on-demand USD per GPU hour by
// canonical GPU.
var listPrices = map[string]float64{
	"H100-SXM-80GB": 2.19, "H200-SXM-141GB": 3.30, "RTX-3090-24GB": 0.30,
}

// Adapter talks to Genesis Cloud.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credential is "api_token".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	c.Auth = providers.Header("X-Auth-Token", cfg.Cred("api_token"))
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are derived from the instance types the recorded availability
// answers and the sandbox catalogue name (1, 2 and 8 GPUs, 8 to 192
// vCPUs, 48 to 1,920 GiB), as no size table of Genesis Cloud's could be
// read, in the regions the adapter reads; no disk limit is documented.
var shapes = providers.Shapes{
	GPUCounts: []int{1, 2, 8},
	VCPU:      providers.Range{Min: 8, Max: 192},
	RAMGiB:    providers.Range{Min: 48, Max: 1920},
	DiskGiB:   providers.AnyDisk,
	Regions:   Regions,
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// ListOffers reads each region's availability; a region the API does not
// know (404) is skipped.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	var out []providers.Offer
	for _, r := range Regions {
		body, err := a.C.Do(ctx, providers.Request{Op: "get availability", Path: "/availability/" + url.PathEscape(r) + "/instances"}, nil)
		if providers.KindOf(err) == providers.KindNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		offers, err := DecodeOffers(body)
		if err != nil {
			return nil, err
		}
		out = append(out, offers...)
	}
	return a.Cfg.Normalized(out, nil)
}

// Shape is what an instance type's name says.
type Shape struct {
	VCPU, RAMGB, DiskGB, GPUs int
	GPU                       string // canonical
}

// ParseType reads "vcpu-24_memory-240g_nvidia-h100-sxm5-1" or the older
// "vcpu-4_memory-12g_disk-80g_nvidia3080-1".
func ParseType(name string) (Shape, bool) {
	var s Shape
	num := func(v string) int {
		n, err := strconv.Atoi(strings.TrimSuffix(v, "g"))
		if err != nil || n < 0 || n > 1<<20 {
			return -1
		}
		return n
	}
	for _, part := range strings.Split(name, "_") {
		key, val, _ := strings.Cut(part, "-")
		switch {
		case key == "vcpu":
			s.VCPU = num(val)
		case key == "memory":
			s.RAMGB = num(val)
		case key == "disk":
			s.DiskGB = num(val)
		case strings.HasPrefix(part, "nvidia"):
			gpu := strings.TrimPrefix(strings.TrimPrefix(part, "nvidia"), "-")
			i := strings.LastIndexByte(gpu, '-')
			if i <= 0 {
				return Shape{}, false
			}
			s.GPUs = num(gpu[i+1:])
			canon, ok := providers.CanonicalGPU(strings.ReplaceAll(gpu[:i], "-", " "), 0)
			if !ok {
				return Shape{}, false
			}
			s.GPU = canon
		}
	}
	if s.GPU == "" || s.GPUs <= 0 || s.GPUs > 64 || s.VCPU < 0 || s.RAMGB < 0 || s.DiskGB < 0 {
		return Shape{}, false
	}
	return s, true
}

// DecodeOffers turns one region's availability into offers: available
// with two or more machines free, limited at one, none at zero.
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	var v struct {
		Availability struct {
			Region        string `json:"region"`
			InstanceTypes []struct {
				Type      string   `json:"type"`
				Available bool     `json:"available"`
				Count     *float64 `json:"count"`
			} `json:"instance_types"`
		} `json:"availability"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "get availability", "%v", err)
	}
	av := v.Availability
	if av.Region == "" || av.InstanceTypes == nil {
		return nil, providers.BadResponse(ID, "get availability", "no region or instance types")
	}
	var out []providers.Offer
	for _, t := range av.InstanceTypes {
		s, ok := ParseType(t.Type)
		per := listPrices[s.GPU]
		if !ok || per == 0 {
			continue
		}
		o := providers.Offer{Provider: ID, SKU: t.Type, GPU: s.GPU, GPUCount: s.GPUs, VCPU: s.VCPU, RAMGB: float64(s.RAMGB),
			DiskGB: s.DiskGB, Region: av.Region, PriceHour: math.Round(per*float64(s.GPUs)*1000) / 1000,
			Availability: providers.None, AvailableCount: -1}
		if t.Count != nil && *t.Count >= 0 && *t.Count < 1e6 {
			o.AvailableCount = int(*t.Count)
		}
		switch {
		case t.Available && (o.AvailableCount == -1 || o.AvailableCount >= 2):
			o.Availability = providers.Available
		case t.Available:
			o.Availability = providers.Limited
		}
		if s.GPUs >= 8 {
			o.Interconnect = "infiniband"
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU < out[j].SKU })
	return out, nil
}

type instance struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Type     string  `json:"type"`
	Region   string  `json:"region"`
	Status   string  `json:"status"`
	PublicIP *string `json:"public_ip"`
}

func (v instance) normal() providers.Instance {
	in := providers.Instance{ID: v.ID, Provider: ID, SKU: v.Type, Region: v.Region, SSHPort: 22, State: providers.StateUnknown}
	if v.PublicIP != nil {
		in.PublicIP = *v.PublicIP
	}
	switch v.Status {
	case "creating", "starting", "resetting", "pending_payment":
		in.State = providers.StatePending
	case "active":
		in.State = providers.StateRunning
	case "stopping", "deleting":
		in.State = providers.StateStopping
	case "stopped":
		in.State = providers.StateStopped
	case "error":
		in.State = providers.StateFailed
	}
	return in
}

// Create registers the SSH key, then creates an on-demand instance of the
// offer's type in its region.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "create spot")
	}
	img := req.Image
	if img == "" {
		img = defaultImage
	}
	body := map[string]any{"name": req.Name, "hostname": req.Name, "type": req.Offer.SKU, "region": req.Offer.Region,
		"image": img, "billing_type": "on-demand"}
	if req.DiskGB > 0 {
		body["disk_size"] = req.DiskGB
	}
	if req.SSHPublicKey != "" {
		var key struct {
			ID string `json:"id"`
		}
		if _, err := a.C.Do(ctx, providers.Request{Op: "add ssh key", Method: http.MethodPost, Path: "/ssh-keys",
			Body: map[string]string{"name": req.Name + "-key", "public_key": req.SSHPublicKey}}, &key); err != nil {
			return providers.Instance{}, err
		}
		if key.ID == "" {
			return providers.Instance{}, providers.BadResponse(ID, "add ssh key", "no key id")
		}
		body["ssh_keys"] = []string{key.ID}
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
	in := out.Instance.normal()
	in.PriceHour = req.Offer.PriceHour
	return in, nil
}

func (a *Adapter) act(ctx context.Context, id, action string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: action + " instance", Method: http.MethodPost, Path: "/instances/" + url.PathEscape(id) + "/actions",
		Body: map[string]string{"action": action}}, nil)
	return err
}

// Start starts a stopped instance.
func (a *Adapter) Start(ctx context.Context, id string) error { return a.act(ctx, id, "start") }

// Stop stops an instance.
func (a *Adapter) Stop(ctx context.Context, id string) error { return a.act(ctx, id, "stop") }

// Terminate deletes the instance.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "delete instance", Method: http.MethodDelete, Path: "/instances/" + url.PathEscape(id)}, nil)
	return err
}

// Instance reads one instance.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out struct {
		Instance instance `json:"instance"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "get instance", Path: "/instances/" + url.PathEscape(id)}, &out); err != nil {
		return providers.Instance{}, err
	}
	return out.Instance.normal(), nil
}
