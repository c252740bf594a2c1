// Package paperspace is the adapter for the Paperspace API
// (https://api.paperspace.com/v1, "Authorization: Bearer <api key>"):
// whether each GPU machine type a region offers can start now (GET
// /machine-availability?machineType=…&region=…, asked once per pair of the
// table offered), sized and priced from Paperspace's published hourly list
// (the table machineTypes, compiled 2026-11, as the API serves no prices
// and no machine-type specs), and machines created (POST /machines),
// started and stopped (PATCH /machines/{id}/start and /stop), deleted
// (DELETE /machines/{id}) and read (GET /machines/{id}). A machine type's
// name carries its GPU count: "A6000x4" is four RTX A6000.
package paperspace

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gpubroker/pod/providers"
	"golang.org/x/sync/errgroup"
)

// ID is the provider id.
const ID = "paperspace"

// DefaultBaseURL is Paperspace's documented API address.
const DefaultBaseURL = "https://api.paperspace.com/v1"

// The regions, spelled as the API takes them.
const (
	NY2  = "East Coast (NY2)"
	CA1  = "West Coast (CA1)"
	AMS1 = "Europe (AMS1)"
)

// Regions are the regions whose availability is read.
var Regions = []string{NY2, CA1, AMS1}

// defaultDiskGB is the disk a machine gets when the request names none.
const defaultDiskGB = 100

// concurrency bounds the availability calls in flight at once.
const concurrency = 4

// MachineType is one GPU machine type as Paperspace's pricing page lists
// it.
type MachineType struct {
	GPUName string  // Paperspace's spelling of the GPU, mapped by providers.CanonicalGPU
	GPUs    int     // GPUs per machine
	VCPU    int     // vCPUs per machine
	RAMGB   float64 // memory per machine
	Price   float64 // on-demand USD per machine hour
}

// machineTypes are Paperspace's published on-demand machine types with
// their shape and hourly price, compiled 2026-11 from its pricing page.
// Types whose GPU has no canonical model
// (RTX4000, RTX5000, P4000, P5000, P6000, M4000) are left out.
var machineTypes = map[string]MachineType{
	"H100":       {"H100 PCIe 80GB", 1, 20, 250, 5.95},
	"H100x8":     {"H100 PCIe 80GB", 8, 128, 640, 47.60},
	"A100-80G":   {"A100 PCIe 80GB", 1, 12, 90, 3.18},
	"A100-80Gx8": {"A100 PCIe 80GB", 8, 96, 640, 25.44},
	"A100":       {"A100 PCIe 40GB", 1, 12, 90, 3.09},
	"A6000":      {"RTX A6000", 1, 8, 45, 1.89},
	"A6000x2":    {"RTX A6000", 2, 16, 90, 3.78},
	"A6000x4":    {"RTX A6000", 4, 32, 180, 7.56},
	"A5000":      {"RTX A5000", 1, 8, 45, 1.38},
	"A4000":      {"RTX A4000", 1, 8, 45, 0.76},
	"V100":       {"V100 16GB", 1, 8, 30, 2.30},
	"V100-32G":   {"V100 32GB", 1, 8, 30, 2.30},
}

// offered lists the machine types each region sells, from Paperspace's
// machine availability table (NY2 has every GPU type; a multi-GPU type is
// offered where its single-GPU type is).
var offered = map[string][]string{
	NY2:  {"H100", "H100x8", "A100-80G", "A100-80Gx8", "A100", "A6000", "A6000x2", "A6000x4", "A5000", "A4000", "V100", "V100-32G"},
	CA1:  {"A6000", "A6000x2", "A6000x4", "A5000", "A4000"},
	AMS1: {"A4000", "V100"},
}

// canonical maps each machine type to its canonical GPU model, or "" when
// its spelling maps to none.
var canonical = func() map[string]string {
	m := make(map[string]string, len(machineTypes))
	for name, t := range machineTypes {
		if g, ok := providers.CanonicalGPU(t.GPUName, 0); ok {
			m[name] = g
		}
	}
	return m
}()

// Pair is one machine type in one region.
type Pair struct{ MachineType, Region string }

// Pairs lists every machine type and region whose availability is read, in
// the order they are asked.
func Pairs() []Pair {
	var out []Pair
	for _, r := range Regions {
		for _, t := range offered[r] {
			out = append(out, Pair{t, r})
		}
	}
	return out
}

// Adapter talks to Paperspace.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credential is "api_key".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	c.Auth = providers.Bearer(cfg.Cred("api_key"))
	c.Classify = classify
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are the machineTypes table's GPU counts, vCPUs and memory (from
// Paperspace's pricing page) in the regions read; no disk limit is
// documented.
var shapes = providers.Span(maps.Values(machineTypes), func(t MachineType) providers.Machine {
	return providers.Machine{GPUs: t.GPUs, VCPU: t.VCPU, RAMGiB: t.RAMGB}
}, providers.AnyDisk, Regions)

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// ListOffers asks the availability of every pair, a few at a time; a pair
// the API does not know (404) is skipped, and the first other failure
// stops the listing.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	pairs := Pairs()
	offers := make([][]providers.Offer, len(pairs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	for i, p := range pairs {
		g.Go(func() (err error) {
			offers[i], err = a.availability(gctx, p)
			return err
		})
	}
	err := g.Wait()
	if ctx.Err() != nil {
		return nil, &providers.Error{Provider: ID, Op: "get machine availability", Kind: providers.KindUnavailable, Err: ctx.Err()}
	}
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(slices.Concat(offers...), nil)
}

func (a *Adapter) availability(ctx context.Context, p Pair) ([]providers.Offer, error) {
	body, err := a.C.Do(ctx, providers.Request{Op: "get machine availability", Path: "/machine-availability",
		Query: url.Values{"machineType": {p.MachineType}, "region": {p.Region}}}, nil)
	if providers.KindOf(err) == providers.KindNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return DecodeOffers(p.MachineType, p.Region, body)
}

// DecodeOffers turns the availability answer for one machine type in one
// region into its offer: available when the API says so, none otherwise.
// A machine type missing from the table gives no offer.
func DecodeOffers(machineType, region string, body []byte) ([]providers.Offer, error) {
	var v struct {
		Available *bool `json:"available"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "get machine availability", "%v", err)
	}
	if v.Available == nil {
		return nil, providers.BadResponse(ID, "get machine availability", "no available field")
	}
	t, ok := machineTypes[machineType]
	gpu := canonical[machineType]
	if !ok || gpu == "" || region == "" || t.GPUs <= 0 || !(t.Price > 0) {
		return nil, nil
	}
	o := providers.Offer{Provider: ID, SKU: machineType, GPU: gpu, GPUCount: t.GPUs, VCPU: t.VCPU, RAMGB: t.RAMGB,
		Region: region, PriceHour: t.Price, Availability: providers.None, AvailableCount: -1}
	if *v.Available {
		o.Availability = providers.Available
	}
	if t.GPUs >= 8 {
		o.Interconnect = "nvlink"
	}
	return []providers.Offer{o}, nil
}

// classify reads Paperspace's error answers ({"code":"BAD_REQUEST",
// "message":"…"}): the codes are generic (BAD_REQUEST, UNAUTHORIZED,
// FORBIDDEN, NOT_FOUND, TOO_MANY_REQUESTS, …), so out of capacity and
// over quota are told by the message.
func classify(status int, body []byte) providers.ErrorKind {
	var v struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	switch status {
	case http.StatusUnauthorized, http.StatusNotFound, http.StatusTooManyRequests:
		return "" // the status says it ("Rate limit exceeded" is no quota)
	}
	switch strings.ToUpper(v.Code) {
	case "UNAUTHORIZED":
		return providers.KindAuth
	case "TOO_MANY_REQUESTS":
		return providers.KindRateLimit
	}
	switch k := providers.ClassifyMessage(v.Message); {
	case status >= 500:
		// "Service unavailable" is no capacity; only the word is.
		if k == providers.KindNoCapacity && strings.Contains(strings.ToLower(v.Message), "capacity") {
			return k
		}
		return ""
	case k == providers.KindNoCapacity || k == providers.KindQuota:
		return k
	}
	if strings.ToUpper(v.Code) == "FORBIDDEN" {
		return providers.KindAuth
	}
	return ""
}

// machine is the part of Paperspace's machine object the adapter reads.
type machine struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	MachineType string  `json:"machineType"`
	Region      string  `json:"region"`
	State       string  `json:"state"`
	PublicIP    *string `json:"publicIp"`
	DtCreated   string  `json:"dtCreated"`
}

func (m machine) normal() providers.Instance {
	in := providers.Instance{ID: m.ID, Provider: ID, SKU: m.MachineType, Region: m.Region, SSHPort: 22, State: providers.StateUnknown}
	if m.PublicIP != nil {
		in.PublicIP = *m.PublicIP
	}
	if t, err := time.Parse(time.RFC3339, m.DtCreated); err == nil {
		in.CreatedAt = t
	}
	switch strings.ToLower(m.State) {
	case "provisioning", "starting", "restarting", "upgrading", "serviceready":
		in.State = providers.StatePending
	case "ready":
		in.State = providers.StateRunning
	case "stopping":
		in.State = providers.StateStopping
	case "off":
		in.State = providers.StateStopped
	case "failed":
		in.State = providers.StateFailed
	}
	return in
}

// Create creates an on-demand machine of the offer's type in its region
// from the template req.Image names, with a dynamic public IP, and starts
// it. Paperspace publishes no default template id (its OS templates are
// listed by GET /os-templates), so a request without one is refused. The
// API takes no SSH key: the team's keys set in the Paperspace console are
// installed instead, and req.SSHPublicKey is not used.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "create spot")
	}
	if req.Image == "" {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "create machine", Kind: providers.KindInvalid,
			Message: "a template id is required (see GET /os-templates)"}
	}
	disk := req.DiskGB
	if disk <= 0 {
		disk = defaultDiskGB
	}
	body := map[string]any{"name": req.Name, "machineType": req.Offer.SKU, "templateId": req.Image, "region": req.Offer.Region,
		"diskSize": disk, "publicIpType": "dynamic", "startOnCreate": true}
	var out struct {
		Data machine `json:"data"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "create machine", Method: http.MethodPost, Path: "/machines", Body: body}, &out); err != nil {
		return providers.Instance{}, err
	}
	if out.Data.ID == "" {
		return providers.Instance{}, providers.BadResponse(ID, "create machine", "no machine id")
	}
	in := out.Data.normal()
	in.PriceHour = req.Offer.PriceHour
	return in, nil
}

func machinePath(id string) string { return "/machines/" + url.PathEscape(id) }

// Start starts a stopped machine.
func (a *Adapter) Start(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "start machine", Method: http.MethodPatch, Path: machinePath(id) + "/start"}, nil)
	return err
}

// Stop stops a machine; its disk is kept.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "stop machine", Method: http.MethodPatch, Path: machinePath(id) + "/stop"}, nil)
	return err
}

// Terminate deletes the machine.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "delete machine", Method: http.MethodDelete, Path: machinePath(id)}, nil)
	return err
}

// Instance reads one machine.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var m machine
	if _, err := a.C.Do(ctx, providers.Request{Op: "get machine", Path: machinePath(id)}, &m); err != nil {
		return providers.Instance{}, err
	}
	if m.ID == "" {
		return providers.Instance{}, providers.BadResponse(ID, "get machine", "no machine id")
	}
	return m.normal(), nil
}
