// Package salad is the adapter for the SaladCloud public API
// (https://docs.salad.com/reference): GPU classes with their hourly price
// per priority, and container groups (one replica each) created, started,
// stopped, deleted and read in the tenant's organization and project.
// SaladCloud places containers on its distributed network itself: an
// offer's region is "global". The high-priority price is the on-demand
// price; the batch price, which SaladCloud may interrupt, is the spot
// price.
package salad

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "salad"

// DefaultBaseURL is SaladCloud's documented public API address.
const DefaultBaseURL = "https://api.salad.com/api/public"

const defaultImage = "saladtechnologies/pytorch:2.4.0-cuda12.4"

// Adapter talks to SaladCloud.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credentials are "api_key", "organization"
// and "project".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	c.Auth = providers.Header("Salad-Api-Key", cfg.Cred("api_key"))
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are the container the adapter asks for, as SaladCloud places one
// GPU per node and the adapter requests 8 vCPUs and 24 GiB for every
// group; regions are the one region the adapter names.
var shapes = providers.Shapes{
	GPUCounts: []int{1},
	VCPU:      providers.Range{Min: 8, Max: 8},
	RAMGiB:    providers.Range{Min: 24, Max: 24},
	DiskGiB:   providers.AnyDisk,
	Regions:   []string{"global"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

func (a *Adapter) org() string { return "/organizations/" + url.PathEscape(a.Cfg.Cred("organization")) }

// ListOffers reads the organization's GPU classes.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	body, err := a.C.Do(ctx, providers.Request{Op: "list gpu classes", Path: a.org() + "/gpu-classes"}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(body))
}

// memRE reads the memory in a class name: "RTX 4090 (24 GB)".
var memRE = regexp.MustCompile(`\((\d+)\s*GB\)`)

// DecodeOffers turns GPU classes into offers, one GPU each.
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	var v struct {
		Items []struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			HighDemd bool   `json:"is_high_demand"`
			Prices   []struct {
				Priority string `json:"priority"`
				Price    string `json:"price"`
			} `json:"prices"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "list gpu classes", "%v", err)
	}
	if v.Items == nil {
		return nil, providers.BadResponse(ID, "list gpu classes", "no items")
	}
	var out []providers.Offer
	for _, g := range v.Items {
		prices := map[string]float64{}
		for _, p := range g.Prices {
			if f, err := strconv.ParseFloat(p.Price, 64); err == nil && f > 0 && !math.IsInf(f, 0) {
				prices[p.Priority] = f
			}
		}
		if g.ID == "" || g.Name == "" || prices["high"] <= 0 {
			continue
		}
		mem := 0
		if m := memRE.FindStringSubmatch(g.Name); m != nil {
			mem, _ = strconv.Atoi(m[1])
		}
		o := providers.Offer{Provider: ID, SKU: g.ID, GPU: providers.MustCanonicalGPU(g.Name, mem), GPUCount: 1, GPUMemoryGB: mem,
			Region: "global", PriceHour: prices["high"], SpotPriceHour: prices["batch"], Availability: providers.Available, AvailableCount: -1}
		if o.SpotPriceHour >= o.PriceHour {
			o.SpotPriceHour = 0
		}
		if g.HighDemd {
			o.Availability = providers.Limited
		}
		out = append(out, o)
	}
	return out, nil
}

func (a *Adapter) group(name string) string {
	return a.org() + "/projects/" + url.PathEscape(a.Cfg.Cred("project")) + "/containers/" + url.PathEscape(name)
}

type containerGroup struct {
	Name         string `json:"name"`
	CurrentState struct {
		Status string `json:"status"`
	} `json:"current_state"`
}

func (g containerGroup) normal() providers.Instance {
	in := providers.Instance{ID: g.Name, Provider: ID, Region: "global", State: providers.StateUnknown}
	switch g.CurrentState.Status {
	case "pending", "deploying":
		in.State = providers.StatePending
	case "running":
		in.State = providers.StateRunning
	case "stopped":
		in.State = providers.StateStopped
	case "failed":
		in.State = providers.StateFailed
	}
	return in
}

// Create makes a one-replica container group on the offer's GPU class and
// starts it; its id is the group name.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	img := req.Image
	if img == "" {
		img = defaultImage
	}
	priority := "high"
	if req.Spot {
		priority = "batch"
	}
	env := map[string]string{}
	if req.SSHPublicKey != "" {
		env["PUBLIC_KEY"] = req.SSHPublicKey
	}
	body := map[string]any{"name": req.Name, "replicas": 1, "restart_policy": "always", "autostart_policy": true,
		"container": map[string]any{"image": img, "priority": priority, "environment_variables": env,
			"resources": map[string]any{"cpu": 8, "memory": 24576, "gpu_classes": []string{req.Offer.SKU}}}}
	var out containerGroup
	if _, err := a.C.Do(ctx, providers.Request{Op: "create container group", Method: http.MethodPost,
		Path: a.org() + "/projects/" + url.PathEscape(a.Cfg.Cred("project")) + "/containers", Body: body}, &out); err != nil {
		return providers.Instance{}, err
	}
	if out.Name == "" {
		return providers.Instance{}, providers.BadResponse(ID, "create container group", "no name in answer")
	}
	in := out.normal()
	in.SKU, in.PriceHour, in.State = req.Offer.SKU, req.Offer.PriceHour, providers.StatePending
	if req.Spot {
		in.PriceHour = req.Offer.SpotPriceHour
	}
	return in, nil
}

// Start starts a stopped container group.
func (a *Adapter) Start(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "start container group", Method: http.MethodPost, Path: a.group(id) + "/start"}, nil)
	return err
}

// Stop stops a container group.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "stop container group", Method: http.MethodPost, Path: a.group(id) + "/stop"}, nil)
	return err
}

// Terminate deletes a container group.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "delete container group", Method: http.MethodDelete, Path: a.group(id)}, nil)
	return err
}

// Instance reads a container group.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out containerGroup
	if _, err := a.C.Do(ctx, providers.Request{Op: "get container group", Path: a.group(id)}, &out); err != nil {
		return providers.Instance{}, err
	}
	return out.normal(), nil
}
