// Package hyperstack is the adapter for the Hyperstack Infrahub API
// (https://infrahub-doc.nexgencloud.com/docs/api-reference/): flavors with
// their stock per region, the per-GPU price book, and virtual machines
// created, started, stopped, deleted and read. Machines go into the
// environment "gpubroker-<region>", which the adapter creates when it is
// missing.
package hyperstack

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "hyperstack"

// DefaultBaseURL is Hyperstack's documented API address.
const DefaultBaseURL = "https://infrahub-api.nexgencloud.com/v1"

const defaultImage = "Ubuntu Server 22.04 LTS R535 CUDA 12.2"

// Adapter talks to Hyperstack.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credential is "api_key".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	c.Auth = providers.Header("api_key", cfg.Cred("api_key"))
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are Hyperstack's n3 flavors of one to eight GPUs (28 to 252
// vCPUs, 58 to 1,920 GB), as SkyPilot's catalogue lists Hyperstack's
// flavors and the recorded flavors agree, in the regions the recorded
// answers and the sandbox catalogue name. The adapter sizes no disk.
var shapes = providers.Shapes{
	GPUCounts: []int{1, 2, 4, 8},
	VCPU:      providers.Range{Min: 28, Max: 252},
	RAMGiB:    providers.Range{Min: 58, Max: 1920},
	DiskGiB:   providers.AnyDisk,
	Regions:   []string{"CANADA-1", "NORWAY-1", "US-1"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// ListOffers reads flavors and the price book.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	flavors, err := a.C.Do(ctx, providers.Request{Op: "list flavors", Path: "/core/flavors"}, nil)
	if err != nil {
		return nil, err
	}
	prices, err := a.C.Do(ctx, providers.Request{Op: "read price book", Path: "/pricebook"}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(flavors, prices))
}

// DecodeOffers joins flavors with the price book, whose values are USD per
// GPU hour as strings; a flavor whose GPU has no price is left out.
func DecodeOffers(flavors, pricebook []byte) ([]providers.Offer, error) {
	var fl struct {
		Data []struct {
			Flavors []struct {
				Name     string  `json:"name"`
				Region   string  `json:"region_name"`
				CPU      int     `json:"cpu"`
				RAM      float64 `json:"ram"`
				Disk     int     `json:"disk"`
				GPU      string  `json:"gpu"`
				GPUCount int     `json:"gpu_count"`
				Stock    bool    `json:"stock_available"`
			} `json:"flavors"`
		} `json:"data"`
	}
	if err := json.Unmarshal(flavors, &fl); err != nil {
		return nil, providers.BadResponse(ID, "list flavors", "%v", err)
	}
	if fl.Data == nil {
		return nil, providers.BadResponse(ID, "list flavors", "no data array")
	}
	var pb []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal(pricebook, &pb); err != nil {
		return nil, providers.BadResponse(ID, "read price book", "%v", err)
	}
	perGPU := map[string]float64{}
	for _, p := range pb {
		if v, err := strconv.ParseFloat(p.Value, 64); err == nil && v > 0 && !math.IsInf(v, 0) {
			perGPU[p.Name] = v
		}
	}
	var out []providers.Offer
	for _, g := range fl.Data {
		for _, f := range g.Flavors {
			price := perGPU[f.GPU]
			if f.Name == "" || f.Region == "" || f.GPU == "" || f.GPUCount <= 0 || price <= 0 {
				continue
			}
			o := providers.Offer{Provider: ID, SKU: f.Name, GPU: providers.MustCanonicalGPU(f.GPU, 0), GPUCount: f.GPUCount,
				VCPU: f.CPU, RAMGB: f.RAM, DiskGB: f.Disk, Region: f.Region,
				PriceHour: math.Round(price*float64(f.GPUCount)*1000) / 1000, Availability: providers.None, AvailableCount: -1}
			if f.Stock {
				o.Availability = providers.Available
			}
			if strings.Contains(strings.ToUpper(f.GPU), "NVLINK") || strings.Contains(strings.ToUpper(f.GPU), "SXM") {
				o.Interconnect = "nvlink"
			}
			out = append(out, o)
		}
	}
	return out, nil
}

func environment(region string) string { return "gpubroker-" + strings.ToLower(region) }

// ensure creates the region's environment; one that already exists is
// fine.
func (a *Adapter) ensure(ctx context.Context, region string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "create environment", Method: http.MethodPost, Path: "/core/environments",
		Body: map[string]string{"name": environment(region), "region": region}}, nil)
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "already exist") {
		return nil
	}
	return err
}

type vm struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	FloatingIP string `json:"floating_ip"`
	Flavor     struct {
		Name string `json:"name"`
	} `json:"flavor"`
	Environment struct {
		Region string `json:"region"`
	} `json:"environment"`
}

func (v vm) normal() providers.Instance {
	in := providers.Instance{ID: strconv.FormatInt(v.ID, 10), Provider: ID, SKU: v.Flavor.Name, Region: v.Environment.Region,
		PublicIP: v.FloatingIP, SSHPort: 22, State: providers.StateUnknown}
	switch v.Status {
	case "CREATING", "BUILD", "STARTING", "REBOOT":
		in.State = providers.StatePending
	case "ACTIVE":
		in.State = providers.StateRunning
	case "SHUTOFF", "STOPPED":
		in.State = providers.StateStopped
	case "DELETING":
		in.State = providers.StateStopping
	case "DELETED":
		in.State = providers.StateTerminated
	case "ERROR":
		in.State = providers.StateFailed
	}
	return in
}

// Create makes one virtual machine of the flavor in the offer's region.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "create spot")
	}
	region := req.Offer.Region
	if err := a.ensure(ctx, region); err != nil {
		return providers.Instance{}, err
	}
	img := req.Image
	if img == "" {
		img = defaultImage
	}
	body := map[string]any{"name": req.Name, "environment_name": environment(region), "image_name": img,
		"flavor_name": req.Offer.SKU, "count": 1, "assign_floating_ip": true}
	if req.SSHPublicKey != "" {
		key := req.Name + "-key"
		if _, err := a.C.Do(ctx, providers.Request{Op: "import key", Method: http.MethodPost, Path: "/core/keypairs",
			Body: map[string]string{"name": key, "environment_name": environment(region), "public_key": req.SSHPublicKey}}, nil); err != nil {
			return providers.Instance{}, err
		}
		body["key_name"] = key
	}
	var out struct {
		Status    bool   `json:"status"`
		Message   string `json:"message"`
		Instances []vm   `json:"instances"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "create vm", Method: http.MethodPost, Path: "/core/virtual-machines", Body: body}, &out); err != nil {
		return providers.Instance{}, err
	}
	if !out.Status || len(out.Instances) == 0 {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "create vm", Kind: providers.ClassifyMessage(out.Message), Message: out.Message}
	}
	in := out.Instances[0].normal()
	in.SKU, in.Region, in.PriceHour = req.Offer.SKU, region, req.Offer.PriceHour
	return in, nil
}

// Start boots a stopped machine.
func (a *Adapter) Start(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "start vm", Path: "/core/virtual-machines/" + id + "/start"}, nil)
	return err
}

// Stop shuts a machine down.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "stop vm", Path: "/core/virtual-machines/" + id + "/stop"}, nil)
	return err
}

// Terminate deletes a machine.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "delete vm", Method: http.MethodDelete, Path: "/core/virtual-machines/" + id}, nil)
	return err
}

// Instance reads a machine.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out struct {
		Instance *vm `json:"instance"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "get vm", Path: "/core/virtual-machines/" + id}, &out); err != nil {
		return providers.Instance{}, err
	}
	if out.Instance == nil {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "get vm", Kind: providers.KindNotFound, Message: "no machine " + id}
	}
	return out.Instance.normal(), nil
}
