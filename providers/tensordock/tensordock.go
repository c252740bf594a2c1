// Package tensordock is the adapter for the TensorDock Marketplace API
// v0 (https://documenter.getpostman.com/view/20973002/2s8YzMYRDc): host
// nodes with their free GPUs and per-resource hourly prices, and virtual
// machines deployed on a host node, started, stopped, deleted and read.
// Account calls send the key and token as form fields, as the API
// documents. An offer is one GPU model on one host node with a standard
// shape per GPU (4 vCPUs, 16 GB RAM, 100 GB storage), priced as
// TensorDock sums the resources.
package tensordock

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "tensordock"

// DefaultBaseURL is the documented Marketplace API address.
const DefaultBaseURL = "https://marketplace.tensordock.com/api/v0"

const (
	vcpuPerGPU = 4
	ramPerGPU  = 16
	storageGB  = 100
	defaultOS  = "Ubuntu 22.04 LTS"
)

// Adapter talks to TensorDock.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credentials are "api_key" and "api_token".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are the adapter's own standard shape, up to eight GPUs of a
// host, as the marketplace sizes VMs freely; regions are the host
// locations the recorded answers name, as the marketplace lists no fixed
// set.
var shapes = providers.Shapes{
	GPUCounts: providers.CountsFrom(1, 8),
	VCPU:      providers.Range{Min: vcpuPerGPU, Max: 8 * vcpuPerGPU},
	RAMGiB:    providers.Range{Min: ramPerGPU, Max: 8 * ramPerGPU},
	DiskGiB:   providers.Range{Min: 1, Max: storageGB},
	Regions:   []string{"Canada/Quebec", "United States/Idaho", "United States/Texas"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// ListOffers reads the host nodes (a public call).
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	body, err := a.C.Do(ctx, providers.Request{Op: "list host nodes", Path: "/client/deploy/hostnodes"}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(body))
}

type resource struct {
	Amount float64 `json:"amount"`
	Price  float64 `json:"price"`
}

// DecodeOffers turns host nodes into offers: per node and GPU model, one
// GPU and all the free GPUs of that model (up to eight). The region is
// the node's country and state, the SKU "<node>:<gpu model>:<count>".
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	var v struct {
		Success   bool `json:"success"`
		Hostnodes map[string]struct {
			Location struct {
				City    string `json:"city"`
				Region  string `json:"region"`
				Country string `json:"country"`
			} `json:"location"`
			Specs struct {
				CPU     resource `json:"cpu"`
				RAM     resource `json:"ram"`
				Storage resource `json:"storage"`
				GPU     map[string]struct {
					Amount int     `json:"amount"`
					Price  float64 `json:"price"`
					VRAM   int     `json:"vram"`
				} `json:"gpu"`
			} `json:"specs"`
			Status struct {
				Online bool `json:"online"`
			} `json:"status"`
		} `json:"hostnodes"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "list host nodes", "%v", err)
	}
	if v.Hostnodes == nil {
		return nil, providers.BadResponse(ID, "list host nodes", "no hostnodes object")
	}
	ids := make([]string, 0, len(v.Hostnodes))
	for id := range v.Hostnodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []providers.Offer
	for _, id := range ids {
		n := v.Hostnodes[id]
		if id == "" || !n.Status.Online {
			continue
		}
		region := strings.Trim(n.Location.Country+"/"+n.Location.Region, "/")
		if region == "" {
			region = "unknown"
		}
		models := make([]string, 0, len(n.Specs.GPU))
		for m := range n.Specs.GPU {
			models = append(models, m)
		}
		sort.Strings(models)
		for _, model := range models {
			g := n.Specs.GPU[model]
			if model == "" || g.Amount <= 0 || !(g.Price > 0) || math.IsInf(g.Price, 0) {
				continue
			}
			counts := []int{1}
			if g.Amount > 1 {
				counts = append(counts, min(g.Amount, 8))
			}
			for _, c := range counts {
				p := float64(c) * (g.Price + vcpuPerGPU*n.Specs.CPU.Price + ramPerGPU*n.Specs.RAM.Price)
				p += storageGB * n.Specs.Storage.Price
				if math.IsInf(p, 0) || math.IsNaN(p) || p <= 0 {
					continue
				}
				o := providers.Offer{Provider: ID, SKU: fmt.Sprintf("%s:%s:%d", id, model, c), GPU: providers.MustCanonicalGPU(model, g.VRAM),
					GPUCount: c, VCPU: vcpuPerGPU * c, RAMGB: float64(ramPerGPU * c), DiskGB: storageGB, Region: region,
					PriceHour: math.Round(p*1000) / 1000, Availability: providers.Available, AvailableCount: g.Amount / c}
				if g.Amount/c == 1 {
					o.Availability = providers.Limited
				}
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// form sends an account call with the credentials as form fields; the API
// answers {"success": false, "error": "…"} for refusals.
func (a *Adapter) form(ctx context.Context, op, path string, f url.Values, out any) error {
	f.Set("api_key", a.Cfg.Cred("api_key"))
	f.Set("api_token", a.Cfg.Cred("api_token"))
	raw, err := a.C.Do(ctx, providers.Request{Op: op, Method: http.MethodPost, Path: path, Form: f}, nil)
	if err != nil {
		return err
	}
	var st struct {
		Success bool   `json:"success"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return providers.BadResponse(ID, op, "%v", err)
	}
	if !st.Success {
		return &providers.Error{Provider: ID, Op: op, Kind: providers.ClassifyMessage(st.Error), Message: st.Error}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return providers.BadResponse(ID, op, "%v", err)
		}
	}
	return nil
}

// Create deploys a VM of the offer's shape on its host node.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "deploy spot")
	}
	parts := strings.Split(req.Offer.SKU, ":")
	count, err := 0, error(nil)
	if len(parts) == 3 {
		count, err = strconv.Atoi(parts[2])
	}
	if len(parts) != 3 || err != nil || count < 1 {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "deploy", Kind: providers.KindInvalid, Message: "sku is not <node>:<gpu model>:<count>"}
	}
	f := url.Values{"name": {req.Name}, "hostnode": {parts[0]}, "gpu_model": {parts[1]}, "gpu_count": {strconv.Itoa(count)},
		"vcpus": {strconv.Itoa(vcpuPerGPU * count)}, "ram": {strconv.Itoa(ramPerGPU * count)}, "storage": {strconv.Itoa(storageGB)},
		"operating_system": {defaultOS}, "internal_ports": {"{22}"}, "external_ports": {"{22}"}}
	if req.SSHPublicKey != "" {
		f.Set("ssh_key", req.SSHPublicKey)
	}
	var out struct {
		Server string `json:"server"`
		IP     string `json:"ip"`
	}
	if err := a.form(ctx, "deploy", "/client/deploy/single", f, &out); err != nil {
		return providers.Instance{}, err
	}
	if out.Server == "" {
		return providers.Instance{}, providers.BadResponse(ID, "deploy", "no server id")
	}
	return providers.Instance{ID: out.Server, Provider: ID, SKU: req.Offer.SKU, Region: req.Offer.Region, State: providers.StatePending,
		PublicIP: out.IP, PriceHour: req.Offer.PriceHour}, nil
}

// Start starts a stopped VM.
func (a *Adapter) Start(ctx context.Context, id string) error {
	return a.form(ctx, "start", "/client/start/single", url.Values{"server": {id}}, nil)
}

// Stop stops a VM (its GPUs are released until it starts again).
func (a *Adapter) Stop(ctx context.Context, id string) error {
	return a.form(ctx, "stop", "/client/stop/single", url.Values{"server": {id}, "disassociate_resources": {"true"}}, nil)
}

// Terminate deletes a VM.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	return a.form(ctx, "delete", "/client/delete/single", url.Values{"server": {id}}, nil)
}

// Instance reads a VM.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out struct {
		VM struct {
			Status       string            `json:"status"`
			IP           string            `json:"ip_address"`
			PortForwards map[string]string `json:"port_forwards"`
		} `json:"virtualmachines"`
	}
	if err := a.form(ctx, "get", "/client/get/single", url.Values{"server": {id}}, &out); err != nil {
		return providers.Instance{}, err
	}
	in := providers.Instance{ID: id, Provider: ID, PublicIP: out.VM.IP, SSHPort: 22, State: providers.StateUnknown}
	for ext, internal := range out.VM.PortForwards {
		if internal == "22" {
			if p, err := strconv.Atoi(ext); err == nil {
				in.SSHPort = p
			}
		}
	}
	switch strings.ToLower(out.VM.Status) {
	case "running":
		in.State = providers.StateRunning
	case "stopped", "stoppeddisassociated":
		in.State = providers.StateStopped
	case "starting", "deploying", "provisioning":
		in.State = providers.StatePending
	case "stopping":
		in.State = providers.StateStopping
	}
	return in, nil
}
