// Package jarvislabs is the adapter for the Jarvis Labs API
// (https://backendprod.jarvislabs.net, "Authorization: Bearer <key>"):
// GET /misc/server_meta lists each GPU type per region with its price per
// GPU hour, spot price, free devices and the CPUs and RAM that come with
// each GPU; VMs are created, paused, resumed and destroyed on the host of
// their region (regions without a known host are not offered) and read
// from /users/fetch/{id}. Jarvis Labs answers some failures with a 200
// whose body says "success": false; those are errors too.
package jarvislabs

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "jarvislabs"

// DefaultBaseURL is Jarvis Labs's documented API address.
const DefaultBaseURL = "https://backendprod.jarvislabs.net"

// RegionHosts are the API hosts VMs of each region are managed on.
var RegionHosts = map[string]string{
	"india-01":       "https://backendprod.jarvislabs.net",
	"india-noida-01": "https://backendn.jarvislabs.net",
	"europe-01":      "https://backendeu.jarvislabs.net",
}

const defaultDiskGB = 100

// Adapter talks to Jarvis Labs.
type Adapter struct {
	providers.Base
	// regional holds the client of each region's host.
	regional map[string]*providers.Client
}

// New builds the adapter; the credential is "api_key". A configured
// BaseURL (tests) serves every region.
func New(cfg providers.Config) *Adapter {
	mk := func(base string) *providers.Client {
		c := providers.NewClient(ID, base, cfg)
		c.Auth = providers.Bearer(cfg.Cred("api_key"))
		return c
	}
	a := &Adapter{Base: providers.Base{C: mk(DefaultBaseURL), Cfg: cfg}, regional: map[string]*providers.Client{}}
	for r, host := range RegionHosts {
		a.regional[r] = mk(host)
	}
	return a
}

// shapes are derived from the recorded server meta, as Jarvis Labs
// publishes no size table: machines of up to eight GPUs, each GPU with 7
// to 16 vCPUs and 32 to 200 GB, in the regions with a known host; no disk
// limit is documented.
var shapes = providers.Shapes{
	GPUCounts: providers.CountsFrom(1, 8),
	VCPU:      providers.Range{Min: 7, Max: 16 * 8},
	RAMGiB:    providers.Range{Min: 32, Max: 200 * 8},
	DiskGiB:   providers.AnyDisk,
	Regions:   slices.Sorted(maps.Keys(RegionHosts)),
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// ListOffers reads the server metadata.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	body, err := a.C.Do(ctx, providers.Request{Op: "list server meta", Path: "/misc/server_meta"}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(body))
}

// number reads a JSON number or numeric string; anything else is -1.
func number(v any) float64 {
	f := -1.0
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		if p, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			f = p
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e9 {
		return -1
	}
	return f
}

// DecodeOffers turns server_meta into offers: per GPU type and region, one
// offer for each GPU count from 1 to the most a VM takes or the devices
// free, whichever is less (one offer with availability none when none is
// free). Rows for containers, regions without a known host, and GPU names
// with spaces (which the create call cannot take back) are skipped.
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	var v struct {
		ServerMeta []map[string]any `json:"server_meta"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "list server meta", "%v", err)
	}
	if v.ServerMeta == nil {
		return nil, providers.BadResponse(ID, "list server meta", "no server_meta")
	}
	var out []providers.Offer
	for _, row := range v.ServerMeta {
		region, _ := row["region"].(string)
		gpuType, _ := row["gpu_type"].(string)
		workload, _ := row["workload_type"].(string)
		if _, ok := RegionHosts[region]; !ok || gpuType == "" || strings.ContainsAny(gpuType, " \t") || (workload != "" && workload != "vm") {
			continue
		}
		price, spot := number(row["price_per_hour"]), number(row["spot_price"])
		vram, cpus, ram, maxGPUs := number(row["vram"]), number(row["cpus_per_gpu"]), number(row["ram_per_gpu"]), number(row["num_gpus"])
		free := number(row["effective_num_free_devices"])
		if free < 0 {
			free = number(row["num_free_devices"])
		}
		gpu, ok := providers.CanonicalGPU(gpuType, int(math.Round(vram)))
		if !ok || price <= 0 || cpus < 0 || ram < 0 {
			continue
		}
		most := int(min(max(maxGPUs, 1), 16))
		n := int(min(max(free, 0), float64(most)))
		counts := n
		if counts == 0 {
			counts = 1
		}
		for c := 1; c <= counts; c++ {
			o := providers.Offer{Provider: ID, SKU: fmt.Sprintf("%s::%d", gpuType, c), GPU: gpu, GPUCount: c,
				VCPU: int(cpus) * c, RAMGB: ram * float64(c), Region: region, PriceHour: math.Round(price*float64(c)*1e4) / 1e4,
				Availability: providers.None, AvailableCount: 0}
			if spot > 0 {
				o.SpotPriceHour = math.Round(spot*float64(c)*1e4) / 1e4
			}
			if n > 0 {
				o.AvailableCount = int(max(free, 0)) / c
				o.Availability = providers.Limited
				if o.AvailableCount >= 2 {
					o.Availability = providers.Available
				}
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU+out[i].Region < out[j].SKU+out[j].Region })
	return out, nil
}

// result is the body of Jarvis Labs's action answers.
type result struct {
	Success   *bool  `json:"success"`
	Message   string `json:"message"`
	Error     string `json:"error"`
	MachineID any    `json:"machine_id"`
}

// check turns a 200 that says "success": false into a typed error.
func check(op string, raw []byte) (result, error) {
	var r result
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r); err != nil {
			return r, providers.BadResponse(ID, op, "%v", err)
		}
	}
	if r.Success != nil && !*r.Success {
		msg := r.Message
		if msg == "" {
			msg = r.Error
		}
		return r, &providers.Error{Provider: ID, Op: op, Kind: providers.ClassifyMessage(msg), Message: msg}
	}
	return r, nil
}

func (a *Adapter) host(region string) (*providers.Client, error) {
	if a.Cfg.BaseURL != "" {
		return a.C, nil
	}
	c, ok := a.regional[region]
	if !ok {
		return nil, &providers.Error{Provider: ID, Op: "pick region host", Kind: providers.KindInvalid, Message: "no API host known for region " + region}
	}
	return c, nil
}

// Create registers the SSH key, then creates a VM of the offer's GPU type
// and count on its region's host.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	gpuType, n, ok := strings.Cut(req.Offer.SKU, "::")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "create vm", Kind: providers.KindInvalid, Message: "sku is not <gpu type>::<count>"}
	}
	c, err := a.host(req.Offer.Region)
	if err != nil {
		return providers.Instance{}, err
	}
	if req.SSHPublicKey != "" {
		raw, err := a.C.Do(ctx, providers.Request{Op: "add ssh key", Method: http.MethodPost, Path: "/ssh/",
			Body: map[string]string{"ssh_key": req.SSHPublicKey, "key_name": req.Name + "-key"}}, nil)
		if err != nil {
			return providers.Instance{}, err
		}
		if _, err := check("add ssh key", raw); err != nil {
			return providers.Instance{}, err
		}
	}
	disk := req.DiskGB
	if disk <= 0 {
		disk = defaultDiskGB
	}
	body := map[string]any{"gpu_type": gpuType, "num_gpus": count, "hdd": disk, "region": req.Offer.Region, "name": req.Name,
		"is_spot": req.Spot, "duration": "hour", "disk_type": "ssd"}
	raw, err := c.Do(ctx, providers.Request{Op: "create vm", Method: http.MethodPost, Path: "/templates/vm/create", Body: body}, nil)
	if err != nil {
		return providers.Instance{}, err
	}
	r, err := check("create vm", raw)
	if err != nil {
		return providers.Instance{}, err
	}
	id := idString(r.MachineID)
	if id == "" {
		return providers.Instance{}, providers.BadResponse(ID, "create vm", "no machine_id")
	}
	price := req.Offer.PriceHour
	if req.Spot && req.Offer.SpotPriceHour > 0 {
		price = req.Offer.SpotPriceHour
	}
	return providers.Instance{ID: id, Provider: ID, SKU: req.Offer.SKU, Region: req.Offer.Region, State: providers.StatePending,
		SSHPort: 22, PriceHour: price}, nil
}

// idString reads a machine id sent as a number or a string.
func idString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x >= 0 && x < 1e15 && x == math.Trunc(x) {
			return strconv.FormatInt(int64(x), 10)
		}
	}
	return ""
}

type vm struct {
	MachineID any     `json:"machine_id"`
	Name      string  `json:"name"`
	Status    string  `json:"status"`
	GPUType   string  `json:"gpu_type"`
	NumGPUs   float64 `json:"num_gpus"`
	Region    string  `json:"region"`
	PublicIP  string  `json:"public_ip"`
	SSHStr    string  `json:"ssh_str"`
	Cost      any     `json:"cost"`
}

func (v vm) normal() providers.Instance {
	in := providers.Instance{ID: idString(v.MachineID), Provider: ID, Region: v.Region, PublicIP: v.PublicIP, SSHPort: 22,
		State: providers.StateUnknown}
	if v.GPUType != "" && v.NumGPUs >= 1 {
		in.SKU = fmt.Sprintf("%s::%d", v.GPUType, int(v.NumGPUs))
	}
	if host, port, ok := parseSSH(v.SSHStr); ok {
		in.PublicIP, in.SSHPort = host, port
	}
	if p := number(v.Cost); p > 0 {
		in.PriceHour = p
	}
	switch strings.ToLower(v.Status) {
	case "creating", "resuming", "starting":
		in.State = providers.StatePending
	case "running":
		in.State = providers.StateRunning
	case "pausing", "destroying":
		in.State = providers.StateStopping
	case "paused":
		in.State = providers.StateStopped
	case "destroyed":
		in.State = providers.StateTerminated
	case "failed", "error":
		in.State = providers.StateFailed
	}
	return in
}

// parseSSH reads "ssh -p 11114 root@sshc.jarvislabs.ai".
func parseSSH(s string) (string, int, bool) {
	f := strings.Fields(s)
	if len(f) < 2 || f[0] != "ssh" {
		return "", 0, false
	}
	port, host := 22, ""
	for i := 1; i < len(f); i++ {
		switch {
		case f[i] == "-p" && i+1 < len(f):
			p, err := strconv.Atoi(f[i+1])
			if err != nil || p <= 0 || p > 65535 {
				return "", 0, false
			}
			port = p
			i++
		case !strings.HasPrefix(f[i], "-"):
			_, h, found := strings.Cut(f[i], "@")
			if !found {
				h = f[i]
			}
			host = h
		}
	}
	return host, port, host != ""
}

func (a *Adapter) read(ctx context.Context, id string) (vm, error) {
	var out struct {
		Success  *bool `json:"success"`
		Instance *vm   `json:"instance"`
	}
	raw, err := a.C.Do(ctx, providers.Request{Op: "get vm", Path: "/users/fetch/" + url.PathEscape(id)}, &out)
	if err != nil {
		return vm{}, err
	}
	if _, err := check("get vm", raw); err != nil {
		return vm{}, err
	}
	if out.Instance == nil {
		return vm{}, &providers.Error{Provider: ID, Op: "get vm", Kind: providers.KindNotFound, Message: "no instance " + id}
	}
	return *out.Instance, nil
}

// act runs a VM action on the VM's region host.
func (a *Adapter) act(ctx context.Context, id, verb string) error {
	v, err := a.read(ctx, id)
	if err != nil {
		return err
	}
	c, err := a.host(v.Region)
	if err != nil {
		return err
	}
	raw, err := c.Do(ctx, providers.Request{Op: verb + " vm", Method: http.MethodPost, Path: "/templates/vm/" + verb,
		Query: url.Values{"machine_id": {id}}}, nil)
	if err != nil {
		return err
	}
	_, err = check(verb+" vm", raw)
	return err
}

// Start resumes a paused VM.
func (a *Adapter) Start(ctx context.Context, id string) error { return a.act(ctx, id, "resume") }

// Stop pauses a VM; its disk is kept.
func (a *Adapter) Stop(ctx context.Context, id string) error { return a.act(ctx, id, "pause") }

// Terminate destroys the VM.
func (a *Adapter) Terminate(ctx context.Context, id string) error { return a.act(ctx, id, "destroy") }

// Instance reads one VM.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	v, err := a.read(ctx, id)
	if err != nil {
		return providers.Instance{}, err
	}
	in := v.normal()
	if in.ID == "" {
		in.ID = id
	}
	return in, nil
}
