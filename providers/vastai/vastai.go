// Package vastai is the adapter for the Vast.ai marketplace API
// (https://docs.vast.ai/api): offers searched with a filter on
// /bundles/, instances created by accepting an ask, started and stopped by
// changing their state, destroyed and read. Every Vast.ai offer is one
// host's machine: the region is the host's country, and an offer that is
// rentable counts as one available machine.
package vastai

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "vastai"

// DefaultBaseURL is Vast.ai's documented API address.
const DefaultBaseURL = "https://console.vast.ai/api/v0"

const defaultImage = "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime"

// search is the filter of a listing: rentable, unrented machines with at
// least one GPU and a sane reliability, best score first.
var search = map[string]any{
	"num_gpus": map[string]int{"gte": 1}, "rentable": map[string]bool{"eq": true}, "rented": map[string]bool{"eq": false},
	"reliability2": map[string]float64{"gte": 0.9}, "order": [][]string{{"score", "desc"}}, "type": "on-demand", "limit": 1000,
}

// Adapter talks to Vast.ai.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credential is "api_key".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	c.Auth = providers.Bearer(cfg.Cred("api_key"))
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are derived from the recorded asks and the sandbox catalogue, as
// a marketplace publishes no size table: hosts of one to eight GPUs, 8 to
// 192 vCPUs and 31 to 2,016 GB, in the countries they name (and
// "unknown" for a host without a location); no disk limit is documented.
var shapes = providers.Shapes{
	GPUCounts: providers.CountsFrom(1, 8),
	VCPU:      providers.Range{Min: 8, Max: 192},
	RAMGiB:    providers.Range{Min: 31, Max: 2016},
	DiskGiB:   providers.AnyDisk,
	Regions:   []string{"CA", "DE", "NL", "SE", "US", "unknown"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// ListOffers searches the marketplace.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	body, err := a.C.Do(ctx, providers.Request{Op: "search offers", Method: http.MethodPost, Path: "/bundles/", Body: search}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(body))
}

// DecodeOffers turns a search answer into offers. gpu_ram and cpu_ram are
// in MB; dph_total is the machine's on-demand $/h with its storage,
// min_bid the lowest interruptible bid.
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	var v struct {
		Offers []struct {
			ID          int64   `json:"id"`
			GPUName     string  `json:"gpu_name"`
			NumGPUs     int     `json:"num_gpus"`
			GPURAM      float64 `json:"gpu_ram"`
			CPUCores    float64 `json:"cpu_cores_effective"`
			CPURAM      float64 `json:"cpu_ram"`
			Disk        float64 `json:"disk_space"`
			DPHBase     float64 `json:"dph_base"`
			DPHTotal    float64 `json:"dph_total"`
			MinBid      float64 `json:"min_bid"`
			Geolocation string  `json:"geolocation"`
			Rentable    bool    `json:"rentable"`
		} `json:"offers"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "search offers", "%v", err)
	}
	if v.Offers == nil {
		return nil, providers.BadResponse(ID, "search offers", "no offers array")
	}
	var out []providers.Offer
	for _, o := range v.Offers {
		price := o.DPHTotal
		if price <= 0 {
			price = o.DPHBase
		}
		if o.ID <= 0 || o.NumGPUs <= 0 || !(price > 0) || math.IsInf(price, 0) || o.GPUName == "" {
			continue
		}
		memGB := int(math.Round(o.GPURAM / 1024))
		off := providers.Offer{Provider: ID, SKU: strconv.FormatInt(o.ID, 10), GPU: providers.MustCanonicalGPU(o.GPUName, memGB),
			GPUCount: o.NumGPUs, VCPU: int(o.CPUCores), RAMGB: math.Round(o.CPURAM/1024*10) / 10, DiskGB: int(o.Disk),
			Region: country(o.Geolocation), PriceHour: round3(price), Availability: providers.None, AvailableCount: 0}
		if o.MinBid > 0 && o.MinBid < price && !math.IsInf(o.MinBid, 0) {
			off.SpotPriceHour = round3(o.MinBid)
		}
		if o.Rentable {
			off.Availability, off.AvailableCount = providers.Available, 1
		}
		out = append(out, off)
	}
	return out, nil
}

// country takes "Texas, US" to "US"; an unknown location is "unknown".
func country(geo string) string {
	if i := strings.LastIndexByte(geo, ','); i >= 0 {
		geo = geo[i+1:]
	}
	if geo = strings.TrimSpace(geo); geo == "" {
		return "unknown"
	}
	return geo
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// Create accepts the ask: the offer's SKU is the ask id. Spot rents it as
// interruptible at the offer's spot price.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	img := req.Image
	if img == "" {
		img = defaultImage
	}
	body := map[string]any{"client_id": "me", "image": img, "disk": max(req.DiskGB, 20), "label": req.Name, "runtype": "ssh"}
	if req.Spot {
		body["price"] = req.Offer.SpotPriceHour
	}
	if req.SSHPublicKey != "" {
		body["onstart"] = "mkdir -p ~/.ssh && echo '" + req.SSHPublicKey + "' >> ~/.ssh/authorized_keys"
	}
	var out struct {
		Success     bool   `json:"success"`
		NewContract int64  `json:"new_contract"`
		Error       string `json:"error"`
		Msg         string `json:"msg"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "accept ask", Method: http.MethodPut, Path: "/asks/" + url.PathEscape(req.Offer.SKU) + "/", Body: body}, &out); err != nil {
		return providers.Instance{}, err
	}
	if !out.Success || out.NewContract == 0 {
		msg := out.Msg + " " + out.Error
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "accept ask", Kind: providers.ClassifyMessage(msg), Message: strings.TrimSpace(msg)}
	}
	price := req.Offer.PriceHour
	if req.Spot {
		price = req.Offer.SpotPriceHour
	}
	return providers.Instance{ID: strconv.FormatInt(out.NewContract, 10), Provider: ID, SKU: req.Offer.SKU, Region: req.Offer.Region,
		State: providers.StatePending, PriceHour: price}, nil
}

// Start sets an instance's state to running.
func (a *Adapter) Start(ctx context.Context, id string) error { return a.state(ctx, id, "running") }

// Stop sets an instance's state to stopped.
func (a *Adapter) Stop(ctx context.Context, id string) error { return a.state(ctx, id, "stopped") }

func (a *Adapter) state(ctx context.Context, id, st string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "set state " + st, Method: http.MethodPut, Path: "/instances/" + url.PathEscape(id) + "/",
		Body: map[string]string{"state": st}}, nil)
	return err
}

// Terminate destroys an instance.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "destroy instance", Method: http.MethodDelete, Path: "/instances/" + url.PathEscape(id) + "/"}, nil)
	return err
}

// Instance reads an instance.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out struct {
		Instances *struct {
			ID       int64   `json:"id"`
			Actual   string  `json:"actual_status"`
			Intended string  `json:"intended_status"`
			IP       string  `json:"public_ipaddr"`
			SSHHost  string  `json:"ssh_host"`
			SSHPort  int     `json:"ssh_port"`
			DPH      float64 `json:"dph_total"`
		} `json:"instances"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "get instance", Path: "/instances/" + url.PathEscape(id) + "/"}, &out); err != nil {
		return providers.Instance{}, err
	}
	v := out.Instances
	if v == nil {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "get instance", Kind: providers.KindNotFound, Message: "no instance " + id}
	}
	in := providers.Instance{ID: strconv.FormatInt(v.ID, 10), Provider: ID, PublicIP: v.SSHHost, SSHPort: v.SSHPort, PriceHour: v.DPH,
		State: providers.StateUnknown}
	if in.PublicIP == "" {
		in.PublicIP = v.IP
	}
	switch {
	case v.Actual == "running":
		in.State = providers.StateRunning
	case v.Actual == "loading" || v.Actual == "created" || v.Actual == "" && v.Intended == "running":
		in.State = providers.StatePending
	case v.Actual == "exited" || v.Actual == "stopped" || v.Intended == "stopped":
		in.State = providers.StateStopped
	case v.Actual == "offline":
		in.State = providers.StateFailed
	}
	return in, nil
}
