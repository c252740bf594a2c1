// Package datacrunch is the adapter for the DataCrunch cloud API
// (https://api.datacrunch.io/v1/docs): OAuth2 client credentials, instance
// types with on-demand and spot prices, availability per location, and
// instance deploy, start, shutdown, delete and status.
package datacrunch

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "datacrunch"

// DefaultBaseURL is DataCrunch's documented API address.
const DefaultBaseURL = "https://api.datacrunch.io/v1"

const defaultImage = "ubuntu-22.04-cuda-12.4-docker"

// Adapter talks to DataCrunch.
type Adapter struct {
	providers.Base

	mu      sync.Mutex
	token   string
	expires time.Time
}

// New builds the adapter; the credentials are "client_id" and
// "client_secret".
func New(cfg providers.Config) *Adapter {
	a := &Adapter{Base: providers.Base{C: providers.NewClient(ID, DefaultBaseURL, cfg), Cfg: cfg}}
	a.C.Classify = classify
	return a
}

// shapes are derived from the recorded answers and the sandbox catalogue,
// as no size table of DataCrunch's could be read: instance types of one
// and eight GPUs, 10 to 240 vCPUs, 60 to 1,800 GiB, in the locations they
// name. The adapter sizes no OS volume.
var shapes = providers.Shapes{
	GPUCounts: []int{1, 8},
	VCPU:      providers.Range{Min: 10, Max: 240},
	RAMGiB:    providers.Range{Min: 60, Max: 1800},
	DiskGiB:   providers.AnyDisk,
	Regions:   []string{"FIN-01", "FIN-02", "ICE-01"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// bearer returns a valid access token, asking for a new one a minute
// before the old one ends.
func (a *Adapter) bearer(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.Cfg.Clock()()
	if a.token != "" && now.Before(a.expires.Add(-time.Minute)) {
		return a.token, nil
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "get token", Method: http.MethodPost, Path: "/oauth2/token",
		Body: map[string]string{"grant_type": "client_credentials", "client_id": a.Cfg.Cred("client_id"),
			"client_secret": a.Cfg.Cred("client_secret")}}, &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", &providers.Error{Provider: ID, Op: "get token", Kind: providers.KindAuth, Message: "no access token in answer"}
	}
	a.token, a.expires = out.AccessToken, now.Add(time.Duration(out.ExpiresIn)*time.Second)
	return a.token, nil
}

func (a *Adapter) do(ctx context.Context, r providers.Request, out any) ([]byte, error) {
	tok, err := a.bearer(ctx)
	if err != nil {
		return nil, err
	}
	if r.Header == nil {
		r.Header = map[string]string{}
	}
	r.Header["Authorization"] = "Bearer " + tok
	return a.C.Do(ctx, r, out)
}

// ListOffers reads instance types and where each is available now.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	types, err := a.do(ctx, providers.Request{Op: "list instance types", Path: "/instance-types"}, nil)
	if err != nil {
		return nil, err
	}
	avail, err := a.do(ctx, providers.Request{Op: "list availability", Path: "/instance-availability"}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(types, avail))
}

// money reads DataCrunch's prices, sent as strings ("2.19") or numbers.
type money float64

func (m *money) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*m = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*m = money(f)
	return nil
}

// DecodeOffers joins /instance-types with /instance-availability: one
// offer per type and location, available where the location lists it.
func DecodeOffers(types, availability []byte) ([]providers.Offer, error) {
	var ts []struct {
		InstanceType string `json:"instance_type"`
		Price        money  `json:"price_per_hour"`
		Spot         money  `json:"spot_price"`
		CPU          struct {
			Cores int `json:"number_of_cores"`
		} `json:"cpu"`
		GPU struct {
			Description string `json:"description"`
			Count       int    `json:"number_of_gpus"`
		} `json:"gpu"`
		Memory struct {
			GB int `json:"size_in_gigabytes"`
		} `json:"memory"`
		GPUMemory struct {
			GB int `json:"size_in_gigabytes"`
		} `json:"gpu_memory"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(types, &ts); err != nil {
		return nil, providers.BadResponse(ID, "list instance types", "%v", err)
	}
	var av []struct {
		Location string   `json:"location_code"`
		Types    []string `json:"availabilities"`
	}
	if err := json.Unmarshal(availability, &av); err != nil {
		return nil, providers.BadResponse(ID, "list availability", "%v", err)
	}
	where := map[string]map[string]bool{}
	var locations []string
	for _, l := range av {
		if l.Location == "" {
			continue
		}
		locations = append(locations, l.Location)
		where[l.Location] = map[string]bool{}
		for _, t := range l.Types {
			where[l.Location][t] = true
		}
	}
	sort.Strings(locations)
	var out []providers.Offer
	for _, t := range ts {
		if t.InstanceType == "" || t.GPU.Count <= 0 || t.Price <= 0 {
			continue // CPU instances and malformed rows are not GPU offers
		}
		perGPU := 0
		if t.GPU.Count > 0 {
			perGPU = t.GPUMemory.GB / t.GPU.Count
		}
		name := t.Name
		if name == "" {
			name = t.GPU.Description
		}
		gpu := providers.MustCanonicalGPU(name, perGPU)
		for _, loc := range locations {
			o := providers.Offer{Provider: ID, SKU: t.InstanceType, GPU: gpu, GPUCount: t.GPU.Count, VCPU: t.CPU.Cores,
				RAMGB: float64(t.Memory.GB), Region: loc, PriceHour: float64(t.Price), SpotPriceHour: float64(t.Spot),
				Availability: providers.None, AvailableCount: -1}
			if t.GPU.Count >= 8 {
				o.Interconnect = "infiniband"
			}
			if where[loc][t.InstanceType] {
				o.Availability = providers.Available
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// classify reads DataCrunch's error codes.
func classify(_ int, body []byte) providers.ErrorKind {
	var v struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	switch v.Code {
	case "insufficient_resources":
		return providers.KindNoCapacity
	case "unauthorized_request", "forbidden_action":
		return providers.KindAuth
	case "not_found":
		return providers.KindNotFound
	case "invalid_request":
		return providers.KindInvalid
	}
	return ""
}

// Create deploys one instance of the type in the offer's location.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	img := req.Image
	if img == "" {
		img = defaultImage
	}
	body := map[string]any{"instance_type": req.Offer.SKU, "image": img, "hostname": req.Name, "description": req.Name,
		"location_code": req.Offer.Region, "is_spot": req.Spot}
	if req.SSHPublicKey != "" {
		var key struct {
			ID string `json:"id"`
		}
		raw, err := a.do(ctx, providers.Request{Op: "add ssh key", Method: http.MethodPost, Path: "/sshkeys",
			Body: map[string]string{"name": req.Name, "key": req.SSHPublicKey}}, nil)
		if err != nil {
			return providers.Instance{}, err
		}
		key.ID = idFrom(raw)
		body["ssh_key_ids"] = []string{key.ID}
	}
	raw, err := a.do(ctx, providers.Request{Op: "deploy instance", Method: http.MethodPost, Path: "/instances", Body: body}, nil)
	if err != nil {
		return providers.Instance{}, err
	}
	id := idFrom(raw)
	if id == "" {
		return providers.Instance{}, providers.BadResponse(ID, "deploy instance", "no instance id in answer")
	}
	price := req.Offer.PriceHour
	if req.Spot {
		price = req.Offer.SpotPriceHour
	}
	return providers.Instance{ID: id, Provider: ID, SKU: req.Offer.SKU, Region: req.Offer.Region, State: providers.StatePending,
		PriceHour: price}, nil
}

// idFrom reads an id answered as plain text or as a JSON string.
func idFrom(raw []byte) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

// Start boots a shut-down instance.
func (a *Adapter) Start(ctx context.Context, id string) error { return a.action(ctx, "start", id) }

// Stop shuts an instance down.
func (a *Adapter) Stop(ctx context.Context, id string) error { return a.action(ctx, "shutdown", id) }

// Terminate deletes an instance.
func (a *Adapter) Terminate(ctx context.Context, id string) error { return a.action(ctx, "delete", id) }

func (a *Adapter) action(ctx context.Context, action, id string) error {
	_, err := a.do(ctx, providers.Request{Op: action, Method: http.MethodPut, Path: "/instances",
		Body: map[string]string{"action": action, "id": id}}, nil)
	return err
}

// Instance reads an instance.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var v struct {
		ID           string `json:"id"`
		InstanceType string `json:"instance_type"`
		IP           string `json:"ip"`
		Status       string `json:"status"`
		Location     string `json:"location"`
		Price        money  `json:"price_per_hour"`
		CreatedAt    string `json:"created_at"`
	}
	if _, err := a.do(ctx, providers.Request{Op: "get instance", Path: "/instances/" + url.PathEscape(id)}, &v); err != nil {
		return providers.Instance{}, err
	}
	inst := providers.Instance{ID: v.ID, Provider: ID, SKU: v.InstanceType, Region: v.Location, PublicIP: v.IP, SSHPort: 22,
		PriceHour: float64(v.Price), State: providers.StateUnknown}
	switch v.Status {
	case "ordered", "provisioning", "validating", "new":
		inst.State = providers.StatePending
	case "running":
		inst.State = providers.StateRunning
	case "offline", "discontinued":
		inst.State = providers.StateStopped
	case "deleting":
		inst.State = providers.StateStopping
	case "error", "notfound", "no_capacity":
		inst.State = providers.StateFailed
	}
	if t, err := time.Parse(time.RFC3339, v.CreatedAt); err == nil {
		inst.CreatedAt = t
	}
	return inst, nil
}
