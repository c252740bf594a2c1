// Package crusoe is the adapter for the Crusoe Cloud API
// (https://docs.crusoecloud.com/api, version v1alpha5): the project's VM
// types with the capacity Crusoe reports per type and location, priced
// from Crusoe's published per-GPU hourly list (the table listPrices,
// compiled 2026-11, as the API serves no prices), and VMs created,
// started, stopped, deleted and read. Every call is signed as Crusoe
// documents: "Authorization: Bearer 1.0:<access key>:<signature>", the
// signature being the unpadded URL-safe base64 HMAC-SHA256, keyed with the
// decoded secret key, of the request path, the sorted query, the method
// and the X-Crusoe-Timestamp, each followed by a newline.
package crusoe

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "crusoe"

// DefaultBaseURL is Crusoe's documented API address, version included (the
// version is part of the signed path).
const DefaultBaseURL = "https://api.crusoecloud.com/v1alpha5"

// TimestampLayout is how X-Crusoe-Timestamp is written.
const TimestampLayout = "2006-01-02T15:04:05+00:00"

const defaultImage = "ubuntu22.04-nvidia-sxm-docker:latest"

// listPrices are Crusoe's published on-demand USD per GPU hour by the
// gpu_type the API reports, with the canonical model of each.
var listPrices = map[string]struct {
	gpu   string
	price float64
}{
	"A100-PCIe-40GB": {"A100-PCIE-40GB", 1.45}, "A100-PCIe-80GB": {"A100-PCIE-80GB", 1.65},
	"A100-SXM-80GB": {"A100-SXM-80GB", 1.95}, "H100-SXM-80GB": {"H100-SXM-80GB", 3.90},
	"H200-SXM-141GB": {"H200-SXM-141GB", 4.29}, "L40S-48GB": {"L40S-PCIE-48GB", 1.00},
	"A40-PCIe-48GB": {"A40-PCIE-48GB", 0.90}, "MI300X-192GB": {"MI300X-OAM-192GB", 3.45},
}

// Adapter talks to Crusoe.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credentials are "access_key", "secret_key"
// and "project_id".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	c.Auth = Signer(cfg.Cred("access_key"), cfg.Cred("secret_key"), cfg.Clock())
	c.Classify = classify
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are Crusoe's GPU VM types (1, 2, 4 and 8 GPUs, from a40.1x with
// 6 vCPUs and 60 GiB to the 8-GPU types with 176 vCPUs and up to
// 2,048 GiB, as the recorded VM types also give them) in its locations,
// with the 1 GiB to 10 TiB persistent disks of its disks overview.
var shapes = providers.Shapes{
	GPUCounts: []int{1, 2, 4, 8},
	VCPU:      providers.Range{Min: 6, Max: 176},
	RAMGiB:    providers.Range{Min: 60, Max: 2048},
	DiskGiB:   providers.Range{Min: 1, Max: 10240},
	Regions:   []string{"eu-iceland1-a", "us-east1-a", "us-northcentral1-a", "us-southcentral1-a"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// Signer signs requests the way Crusoe's API checks them.
func Signer(accessKey, secretKey string, now func() time.Time) func(*http.Request) error {
	return func(r *http.Request) error {
		key, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(secretKey, "="))
		if err != nil {
			return err
		}
		ts := now().UTC().Format(TimestampLayout)
		r.Header.Set("X-Crusoe-Timestamp", ts)
		r.Header.Set("Authorization", "Bearer 1.0:"+accessKey+":"+Signature(key, r.Method, r.URL, ts))
		return nil
	}
}

// Signature is the request signature for a decoded secret key.
func Signature(key []byte, method string, u *url.URL, ts string) string {
	q := u.Query()
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	pairs := make([]string, 0, len(names))
	for _, k := range names {
		pairs = append(pairs, k+"="+q.Get(k))
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(u.Path + "\n" + strings.Join(pairs, "&") + "\n" + method + "\n" + ts + "\n"))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (a *Adapter) project() string { return "/projects/" + url.PathEscape(a.Cfg.Cred("project_id")) }

// ListOffers reads the project's VM types and the capacities per location.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	types, err := a.C.Do(ctx, providers.Request{Op: "list vm types", Path: a.project() + "/compute/vms/types"}, nil)
	if err != nil {
		return nil, err
	}
	caps, err := a.C.Do(ctx, providers.Request{Op: "list capacities", Path: "/capacities"}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(types, caps))
}

type vmType struct {
	ProductName string  `json:"product_name"`
	GPUType     string  `json:"gpu_type"`
	NumGPU      int     `json:"num_gpu"`
	CPUCores    int     `json:"cpu_cores"`
	MemoryGB    float64 `json:"memory_gb"`
	DiskGB      int     `json:"disk_gb"`
}

// DecodeOffers joins VM types with capacities: one offer per GPU type and
// location Crusoe reports capacity for, available when it can start two or
// more, limited at one, none at zero.
func DecodeOffers(typesBody, capacitiesBody []byte) ([]providers.Offer, error) {
	var types struct {
		Items []vmType `json:"items"`
	}
	if err := json.Unmarshal(typesBody, &types); err != nil {
		return nil, providers.BadResponse(ID, "list vm types", "%v", err)
	}
	if types.Items == nil {
		return nil, providers.BadResponse(ID, "list vm types", "no items")
	}
	var caps struct {
		Items []struct {
			Type     string `json:"type"`
			Location string `json:"location"`
			Quantity int    `json:"quantity"`
		} `json:"items"`
	}
	if err := json.Unmarshal(capacitiesBody, &caps); err != nil {
		return nil, providers.BadResponse(ID, "list capacities", "%v", err)
	}
	if caps.Items == nil {
		return nil, providers.BadResponse(ID, "list capacities", "no items")
	}
	byName := map[string]vmType{}
	for _, t := range types.Items {
		byName[t.ProductName] = t
	}
	type key struct{ sku, location string }
	best := map[key]int{}
	for _, c := range caps.Items {
		k := key{c.Type, c.Location}
		if q, seen := best[k]; !seen || c.Quantity > q {
			best[k] = c.Quantity
		}
	}
	var out []providers.Offer
	for k, q := range best {
		t, ok := byName[k.sku]
		lp, priced := listPrices[t.GPUType]
		if !ok || !priced || t.NumGPU <= 0 || t.NumGPU > 64 || k.location == "" {
			continue // CPU types, unknown GPUs and types not in this project
		}
		o := providers.Offer{Provider: ID, SKU: k.sku, GPU: lp.gpu, GPUCount: t.NumGPU, VCPU: t.CPUCores,
			RAMGB: math.Max(0, t.MemoryGB), DiskGB: max(0, t.DiskGB), Region: k.location,
			PriceHour:    math.Round(lp.price*float64(t.NumGPU)*1000) / 1000,
			Availability: providers.None, AvailableCount: max(0, q)}
		switch {
		case q >= 2:
			o.Availability = providers.Available
		case q == 1:
			o.Availability = providers.Limited
		}
		if strings.Contains(k.sku, "-ib") {
			o.Interconnect = "infiniband"
		} else if strings.Contains(t.GPUType, "SXM") && t.NumGPU > 1 {
			o.Interconnect = "nvlink"
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU+out[i].Region < out[j].SKU+out[j].Region })
	return out, nil
}

// classify reads Crusoe's error codes ({"code":"out_of_stock",…}).
func classify(_ int, body []byte) providers.ErrorKind {
	var v struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	switch c := strings.ToLower(v.Code); {
	case strings.Contains(c, "out_of_stock") || strings.Contains(c, "capacity"):
		return providers.KindNoCapacity
	case strings.Contains(c, "quota"):
		return providers.KindQuota
	case strings.Contains(c, "unauthorized") || strings.Contains(c, "unauthenticated"):
		return providers.KindAuth
	}
	return ""
}

type vm struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	Type              string `json:"type"`
	Location          string `json:"location"`
	State             string `json:"state"`
	NetworkInterfaces []struct {
		IPs []struct {
			PublicIPv4 struct {
				Address string `json:"address"`
			} `json:"public_ipv4"`
		} `json:"ips"`
	} `json:"network_interfaces"`
}

func (v vm) normal() providers.Instance {
	in := providers.Instance{ID: v.ID, Provider: ID, SKU: v.Type, Region: v.Location, SSHPort: 22, State: providers.StateUnknown}
	for _, n := range v.NetworkInterfaces {
		for _, ip := range n.IPs {
			if in.PublicIP == "" {
				in.PublicIP = ip.PublicIPv4.Address
			}
		}
	}
	s := strings.TrimPrefix(strings.ToUpper(v.State), "STATE_")
	switch {
	case s == "RUNNING":
		in.State = providers.StateRunning
	case s == "CREATING" || s == "STARTING" || s == "PENDING":
		in.State = providers.StatePending
	case s == "STOPPING" || s == "SHUTTING_DOWN" || s == "DELETING":
		in.State = providers.StateStopping
	case s == "STOPPED" || s == "SHUTDOWN":
		in.State = providers.StateStopped
	case s == "DELETED":
		in.State = providers.StateTerminated
	case s == "FAILED" || s == "ERROR":
		in.State = providers.StateFailed
	}
	return in
}

// Create asks for a VM of the offer's type in its location, then finds it
// by name: Crusoe answers a create with an operation, not the VM.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "create spot")
	}
	img := req.Image
	if img == "" {
		img = defaultImage
	}
	body := map[string]any{"name": req.Name, "type": req.Offer.SKU, "location": req.Offer.Region, "image": img,
		"ssh_public_key": req.SSHPublicKey}
	var op struct {
		Operation struct {
			ID    string `json:"operation_id"`
			State string `json:"state"`
		} `json:"operation"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "create vm", Method: http.MethodPost, Path: a.project() + "/compute/vms/instances", Body: body}, &op); err != nil {
		return providers.Instance{}, err
	}
	if op.Operation.State == "FAILED" {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "create vm", Kind: providers.KindNoCapacity, Message: "operation " + op.Operation.ID + " failed"}
	}
	var list struct {
		Items []vm `json:"items"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "find vm", Path: a.project() + "/compute/vms/instances",
		Query: url.Values{"names": {req.Name}}}, &list); err != nil {
		return providers.Instance{}, err
	}
	for _, v := range list.Items {
		if v.Name == req.Name && v.ID != "" {
			in := v.normal()
			in.PriceHour = req.Offer.PriceHour
			return in, nil
		}
	}
	return providers.Instance{}, providers.BadResponse(ID, "find vm", "no vm named %q after create", req.Name)
}

func (a *Adapter) vm(id string) string {
	return a.project() + "/compute/vms/instances/" + url.PathEscape(id)
}

func (a *Adapter) act(ctx context.Context, id, action string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: strings.ToLower(action) + " vm", Method: http.MethodPatch, Path: a.vm(id),
		Body: map[string]string{"action": action}}, nil)
	return err
}

// Start starts a stopped VM.
func (a *Adapter) Start(ctx context.Context, id string) error { return a.act(ctx, id, "START") }

// Stop stops a VM; its disks are kept.
func (a *Adapter) Stop(ctx context.Context, id string) error { return a.act(ctx, id, "STOP") }

// Terminate deletes the VM.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "delete vm", Method: http.MethodDelete, Path: a.vm(id)}, nil)
	return err
}

// Instance reads one VM.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var v vm
	if _, err := a.C.Do(ctx, providers.Request{Op: "get vm", Path: a.vm(id)}, &v); err != nil {
		return providers.Instance{}, err
	}
	return v.normal(), nil
}
