// Package fluidstack is the adapter for the FluidStack platform API
// (https://platform.fluidstack.io, "api-key" header): the available
// configurations, each a GPU type with the GPU counts and regions it can
// be had in and its price per GPU hour, and instances created, stopped,
// started, deleted and read (from the instance list). The configurations
// do not state vCPUs or RAM; offers leave them unknown (zero).
package fluidstack

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
const ID = "fluidstack"

// DefaultBaseURL is FluidStack's documented API address.
const DefaultBaseURL = "https://platform.fluidstack.io"

const defaultOS = "ubuntu_22_04_lts_nvidia"

// Adapter talks to FluidStack.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credential is "api_key".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	c.Auth = providers.Header("api-key", cfg.Cred("api_key"))
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are derived, as FluidStack's configurations state neither vCPUs
// nor RAM and no size table of its could be read: the GPU counts and
// regions the recorded configurations name, the vCPUs and RAM of the
// sandbox catalogue's FluidStack machines. The adapter sizes no disk.
var shapes = providers.Shapes{
	GPUCounts: []int{1, 2, 4, 8},
	VCPU:      providers.Range{Min: 12, Max: 192},
	RAMGiB:    providers.Range{Min: 48, Max: 1920},
	DiskGiB:   providers.AnyDisk,
	Regions:   []string{"iceland", "norway", "us_east"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// ListOffers reads the available configurations.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	body, err := a.C.Do(ctx, providers.Request{Op: "list configurations", Path: "/list_available_configurations"}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(body))
}

// DecodeOffers turns configurations into offers: one per GPU type, count
// and region, priced per GPU hour times the count. "H100_SXM5_80GB" names
// the GPU; the SKU is "<gpu type>::<count>".
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	var plans []struct {
		GPUType   string   `json:"gpu_type"`
		GPUCounts []int    `json:"gpu_counts"`
		Regions   []string `json:"regions"`
		Price     any      `json:"price_per_gpu_hr"`
	}
	if err := json.Unmarshal(body, &plans); err != nil {
		return nil, providers.BadResponse(ID, "list configurations", "%v", err)
	}
	var out []providers.Offer
	for _, p := range plans {
		per := number(p.Price)
		if p.GPUType == "" || per <= 0 {
			continue
		}
		gpu := providers.MustCanonicalGPU(strings.ReplaceAll(p.GPUType, "_", " "), 0)
		regions := append([]string(nil), p.Regions...)
		sort.Strings(regions)
		for _, n := range p.GPUCounts {
			if n <= 0 || n > 64 {
				continue
			}
			for _, r := range regions {
				if r == "" {
					continue
				}
				o := providers.Offer{Provider: ID, SKU: fmt.Sprintf("%s::%d", p.GPUType, n), GPU: gpu, GPUCount: n, Region: r,
					PriceHour: math.Round(per*float64(n)*1000) / 1000, Availability: providers.Available, AvailableCount: -1}
				if n >= 8 {
					o.Interconnect = "infiniband"
				}
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// number reads a price sent as a number or a string.
func number(v any) float64 {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		f, _ = strconv.ParseFloat(x, 64)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0
	}
	return f
}

type instance struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	IPAddress string `json:"ip_address"`
	GPUType   string `json:"gpu_type"`
	GPUCount  int    `json:"gpu_count"`
	Region    string `json:"region"`
}

func (v instance) normal() providers.Instance {
	in := providers.Instance{ID: v.ID, Provider: ID, SKU: fmt.Sprintf("%s::%d", v.GPUType, v.GPUCount), Region: v.Region,
		PublicIP: v.IPAddress, SSHPort: 22, State: providers.StateUnknown}
	switch strings.ToLower(v.Status) {
	case "pending", "provisioning", "starting":
		in.State = providers.StatePending
	case "running":
		in.State = providers.StateRunning
	case "stopping", "terminating":
		in.State = providers.StateStopping
	case "stopped":
		in.State = providers.StateStopped
	case "terminated", "deleted":
		in.State = providers.StateTerminated
	case "failed", "error":
		in.State = providers.StateFailed
	}
	return in
}

// Create launches an instance of the offer's GPU type and count in its
// region, registering the SSH key first.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "create spot")
	}
	gpuType, n, ok := strings.Cut(req.Offer.SKU, "::")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "create instance", Kind: providers.KindInvalid, Message: "sku is not <gpu type>::<count>"}
	}
	body := map[string]any{"gpu_type": gpuType, "gpu_count": count, "region": req.Offer.Region, "operating_system_label": defaultOS, "name": req.Name}
	if req.SSHPublicKey != "" {
		key := req.Name + "-key"
		if _, err := a.C.Do(ctx, providers.Request{Op: "add ssh key", Method: http.MethodPost, Path: "/ssh_keys",
			Body: map[string]string{"name": key, "public_key": req.SSHPublicKey}}, nil); err != nil {
			return providers.Instance{}, err
		}
		body["ssh_key"] = key
	}
	var out struct {
		ID string `json:"id"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "create instance", Method: http.MethodPost, Path: "/instances", Body: body}, &out); err != nil {
		return providers.Instance{}, err
	}
	if out.ID == "" {
		return providers.Instance{}, providers.BadResponse(ID, "create instance", "no instance id")
	}
	return providers.Instance{ID: out.ID, Provider: ID, SKU: req.Offer.SKU, Region: req.Offer.Region, State: providers.StatePending,
		SSHPort: 22, PriceHour: req.Offer.PriceHour}, nil
}

func (a *Adapter) put(ctx context.Context, id, verb string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: verb + " instance", Method: http.MethodPut, Path: "/instances/" + url.PathEscape(id) + "/" + verb}, nil)
	return err
}

// Start starts a stopped instance.
func (a *Adapter) Start(ctx context.Context, id string) error { return a.put(ctx, id, "start") }

// Stop stops an instance.
func (a *Adapter) Stop(ctx context.Context, id string) error { return a.put(ctx, id, "stop") }

// Terminate deletes an instance.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "delete instance", Method: http.MethodDelete, Path: "/instances/" + url.PathEscape(id)}, nil)
	return err
}

// Instance finds an instance in the instance list.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var list []instance
	if _, err := a.C.Do(ctx, providers.Request{Op: "list instances", Path: "/instances"}, &list); err != nil {
		return providers.Instance{}, err
	}
	for _, v := range list {
		if v.ID == id {
			return v.normal(), nil
		}
	}
	return providers.Instance{}, &providers.Error{Provider: ID, Op: "get instance", Kind: providers.KindNotFound, Message: "no instance " + id}
}
