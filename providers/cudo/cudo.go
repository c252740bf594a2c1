// Package cudo is the adapter for the Cudo Compute REST API
// (https://www.cudocompute.com/docs/rest-api): machine types per data
// centre with per-resource hourly prices and free capacity, and VMs
// created, started, stopped, terminated and read in the tenant's project.
// Cudo VMs are sized freely; offers are one shape per machine type and
// GPU count: four vCPUs (or the type's minimum) and 4 GiB per vCPU per
// GPU, a 100 GiB boot disk and one IPv4 address, priced as Cudo sums them.
package cudo

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "cudo"

// DefaultBaseURL is Cudo's documented REST address.
const DefaultBaseURL = "https://rest.compute.cudo.io/v1"

const (
	diskGiB      = 100
	memPerVCPU   = 4
	defaultImage = "ubuntu-2204-nvidia-535-docker-v20240214"
)

// Adapter talks to Cudo Compute.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credentials are "api_key" and "project_id".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	c.Auth = providers.Bearer(cfg.Cred("api_key"))
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are the adapter's own sizing, as Cudo documents no machine
// sizes: one to eight GPUs with four vCPUs (twelve for the recorded H100
// type's minimum) and 4 GiB per vCPU for each, on the fixed boot disk, in
// the data centres the recorded answers and the sandbox catalogue name.
var shapes = providers.Shapes{
	GPUCounts: providers.CountsFrom(1, 8),
	VCPU:      providers.Range{Min: 4, Max: 12 * 8},
	RAMGiB:    providers.Range{Min: 4 * memPerVCPU, Max: 12 * 8 * memPerVCPU},
	DiskGiB:   providers.Range{Min: 1, Max: diskGiB},
	Regions:   []string{"gb-bournemouth-1", "no-luster-1", "se-smedjebacken-1", "us-newyork-1"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// ListOffers reads machine types.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	body, err := a.C.Do(ctx, providers.Request{Op: "list machine types", Path: "/vms/machine-types-2"}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(body))
}

// price is Cudo's decimal: {"value": "0.25"}.
type price struct {
	Value string `json:"value"`
}

func (p price) f() float64 {
	v, err := strconv.ParseFloat(p.Value, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0
	}
	return v
}

// DecodeOffers turns machine types into offers: for each GPU type and
// data centre, one GPU and the most GPUs free (up to eight).
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	var v struct {
		MachineTypes []struct {
			MachineType  string  `json:"machineType"`
			DataCenter   string  `json:"dataCenterId"`
			GPUModel     string  `json:"gpuModel"`
			GPUModelID   string  `json:"gpuModelId"`
			VCPUPrice    price   `json:"vcpuPriceHr"`
			MemPrice     price   `json:"memoryGibPriceHr"`
			GPUPrice     price   `json:"gpuPriceHr"`
			StoragePrice price   `json:"minStorageGibPriceHr"`
			IPv4Price    price   `json:"ipv4PriceHr"`
			MaxGPUFree   int     `json:"maxGpuFree"`
			MaxVCPUFree  int     `json:"maxVcpuFree"`
			MaxMemFree   int     `json:"maxMemoryGibFree"`
			MinVCPUPer   float64 `json:"minVcpuPerGpu"`
		} `json:"machineTypes"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "list machine types", "%v", err)
	}
	if v.MachineTypes == nil {
		return nil, providers.BadResponse(ID, "list machine types", "no machineTypes")
	}
	var out []providers.Offer
	for _, m := range v.MachineTypes {
		if m.MachineType == "" || m.DataCenter == "" || m.GPUModelID == "" || m.GPUModel == "" || m.GPUPrice.f() <= 0 {
			continue // CPU-only types are not GPU offers
		}
		gpu := providers.MustCanonicalGPU(m.GPUModel, 0)
		counts := []int{1}
		if m.MaxGPUFree > 1 {
			counts = append(counts, min(m.MaxGPUFree, 8))
		}
		for _, n := range counts {
			perGPU := max(4, int(math.Ceil(m.MinVCPUPer)))
			vcpu := perGPU * n
			mem := vcpu * memPerVCPU
			p := float64(vcpu)*m.VCPUPrice.f() + float64(mem)*m.MemPrice.f() + float64(n)*m.GPUPrice.f() +
				diskGiB*m.StoragePrice.f() + m.IPv4Price.f()
			o := providers.Offer{Provider: ID, SKU: fmt.Sprintf("%s:%d", m.MachineType, n), GPU: gpu, GPUCount: n, VCPU: vcpu,
				RAMGB: float64(mem), DiskGB: diskGiB, Region: m.DataCenter, PriceHour: math.Round(p*1000) / 1000,
				Availability: providers.None}
			switch free := m.MaxGPUFree / n; {
			case free >= 2 && m.MaxVCPUFree >= vcpu && m.MaxMemFree >= mem:
				o.Availability, o.AvailableCount = providers.Available, free
			case free == 1:
				o.Availability, o.AvailableCount = providers.Limited, 1
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// sku splits "<machine type>:<gpus>".
func sku(s string) (string, int, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("sku %q is not <machine type>:<gpus>", s)
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("sku %q has no gpu count", s)
	}
	return s[:i], n, nil
}

func (a *Adapter) vmPath(id string) string {
	return "/projects/" + a.Cfg.Cred("project_id") + "/vms/" + id
}

// Create makes a VM of the offer's shape in its data centre.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "create spot")
	}
	mt, n, err := sku(req.Offer.SKU)
	if err != nil {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "create vm", Kind: providers.KindInvalid, Err: err}
	}
	img := req.Image
	if img == "" {
		img = defaultImage
	}
	vcpu := req.Offer.VCPU
	if vcpu == 0 {
		vcpu = 4 * n
	}
	body := map[string]any{"vmId": req.Name, "dataCenterId": req.Offer.Region, "machineType": mt, "vcpus": vcpu,
		"memoryGib": vcpu * memPerVCPU, "gpus": n, "bootDiskImageId": img, "bootDisk": map[string]int{"sizeGib": diskGiB},
		"sshKeySource": "SSH_KEY_SOURCE_NONE"}
	if req.SSHPublicKey != "" {
		body["customSshKeys"] = []string{req.SSHPublicKey}
	}
	var out struct {
		ID string `json:"id"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "create vm", Method: http.MethodPost, Path: "/projects/" + a.Cfg.Cred("project_id") + "/vm", Body: body}, &out); err != nil {
		return providers.Instance{}, err
	}
	id := out.ID
	if id == "" {
		id = req.Name
	}
	return providers.Instance{ID: id, Provider: ID, SKU: req.Offer.SKU, Region: req.Offer.Region, State: providers.StatePending,
		PriceHour: req.Offer.PriceHour}, nil
}

func (a *Adapter) post(ctx context.Context, op, id, verb string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: op, Method: http.MethodPost, Path: a.vmPath(id) + "/" + verb}, nil)
	return err
}

// Start boots a stopped VM.
func (a *Adapter) Start(ctx context.Context, id string) error {
	return a.post(ctx, "start vm", id, "start")
}

// Stop stops a VM.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	return a.post(ctx, "stop vm", id, "stop")
}

// Terminate deletes a VM.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	return a.post(ctx, "terminate vm", id, "terminate")
}

// Instance reads a VM.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out struct {
		VM *struct {
			ID         string `json:"id"`
			State      string `json:"state"`
			ExternalIP string `json:"externalIpAddress"`
			Machine    string `json:"machineType"`
			DataCenter string `json:"datacenterId"`
		} `json:"VM"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "get vm", Path: a.vmPath(id)}, &out); err != nil {
		return providers.Instance{}, err
	}
	if out.VM == nil {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "get vm", Kind: providers.KindNotFound, Message: "no vm " + id}
	}
	v := out.VM
	in := providers.Instance{ID: v.ID, Provider: ID, Region: v.DataCenter, PublicIP: v.ExternalIP, SSHPort: 22, State: providers.StateUnknown}
	switch v.State {
	case "PENDING", "STARTING", "PROVISIONING":
		in.State = providers.StatePending
	case "ACTIVE":
		in.State = providers.StateRunning
	case "STOPPING":
		in.State = providers.StateStopping
	case "STOPPED", "SUSPENDED":
		in.State = providers.StateStopped
	case "DELETING", "DELETED":
		in.State = providers.StateTerminated
	case "FAILED":
		in.State = providers.StateFailed
	}
	return in, nil
}
