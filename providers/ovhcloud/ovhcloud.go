// Package ovhcloud is the adapter for the OVHcloud API
// (https://eu.api.ovh.com/console/): Public Cloud GPU flavors of the
// tenant's project, priced from the public cloud catalogue, and instances
// created, started, stopped, deleted and read. Every call is signed as
// OVHcloud documents: X-Ovh-Signature is "$1$" and the SHA-1 of the
// application secret, consumer key, method, full URL, body and timestamp
// joined by "+".
package ovhcloud

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "ovhcloud"

// DefaultBaseURL is OVHcloud's documented EU API address.
const DefaultBaseURL = "https://eu.api.ovh.com/1.0"

// families maps a GPU flavor's prefix to its GPU and the RAM (GB) one GPU
// comes with, which gives the GPU count of the larger flavors.
var families = map[string]struct {
	gpu    string
	ramGB1 int
}{
	"h100": {"H100-PCIE-80GB", 380}, "a100": {"A100-PCIE-80GB", 180}, "l40s": {"L40S-PCIE-48GB", 90},
	"l4": {"L4-PCIE-24GB", 90}, "t2": {"V100-PCIE-32GB", 45}, "t1": {"V100-PCIE-16GB", 45},
}

// Adapter talks to OVHcloud.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credentials are "application_key",
// "application_secret", "consumer_key" and "project_id" (the Public Cloud
// project's service name).
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	now := cfg.Clock()
	c.Auth = func(r *http.Request) error {
		var body []byte
		if r.GetBody != nil {
			rc, err := r.GetBody()
			if err != nil {
				return err
			}
			body, _ = io.ReadAll(rc)
		}
		ts := strconv.FormatInt(now().Unix(), 10)
		r.Header.Set("X-Ovh-Application", cfg.Cred("application_key"))
		r.Header.Set("X-Ovh-Consumer", cfg.Cred("consumer_key"))
		r.Header.Set("X-Ovh-Timestamp", ts)
		r.Header.Set("X-Ovh-Signature", Sign(cfg.Cred("application_secret"), cfg.Cred("consumer_key"), r.Method, r.URL.String(), string(body), ts))
		return nil
	}
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are derived from the recorded flavors and the sandbox catalogue,
// as no size table of OVHcloud's could be read: flavors of one and four
// GPUs, 8 to 120 vCPUs and 45 to 1,520 GB, in the regions they name. The
// adapter sizes no disk.
var shapes = providers.Shapes{
	GPUCounts: []int{1, 4},
	VCPU:      providers.Range{Min: 8, Max: 120},
	RAMGiB:    providers.Range{Min: 45, Max: 1520},
	DiskGiB:   providers.AnyDisk,
	Regions:   []string{"BHS5", "GRA11", "SBG7"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// Sign computes OVHcloud's request signature.
func Sign(secret, consumer, method, fullURL, body, ts string) string {
	sum := sha1.Sum([]byte(strings.Join([]string{secret, consumer, method, fullURL, body, ts}, "+")))
	return "$1$" + hex.EncodeToString(sum[:])
}

func (a *Adapter) project() string {
	return "/cloud/project/" + url.PathEscape(a.Cfg.Cred("project_id"))
}

// ListOffers reads the project's flavors and the public catalogue.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	flavors, err := a.C.Do(ctx, providers.Request{Op: "list flavors", Path: a.project() + "/flavor"}, nil)
	if err != nil {
		return nil, err
	}
	catalog, err := a.C.Do(ctx, providers.Request{Op: "read catalog", Path: "/order/catalog/public/cloud", Query: url.Values{"ovhSubsidiary": {"US"}}}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(flavors, catalog))
}

// DecodeOffers joins GPU flavors with their hourly plan in the catalogue,
// whose prices are integers of 10⁻⁸ currency units.
func DecodeOffers(flavors, catalog []byte) ([]providers.Offer, error) {
	var fl []struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Region    string `json:"region"`
		RAM       int    `json:"ram"`
		Disk      int    `json:"disk"`
		VCPUs     int    `json:"vcpus"`
		Available bool   `json:"available"`
		PlanCodes struct {
			Hourly string `json:"hourly"`
		} `json:"planCodes"`
	}
	if err := json.Unmarshal(flavors, &fl); err != nil {
		return nil, providers.BadResponse(ID, "list flavors", "%v", err)
	}
	var cat struct {
		Addons []struct {
			PlanCode string `json:"planCode"`
			Pricings []struct {
				Price        int64  `json:"price"`
				IntervalUnit string `json:"intervalUnit"`
			} `json:"pricings"`
		} `json:"addons"`
	}
	if err := json.Unmarshal(catalog, &cat); err != nil {
		return nil, providers.BadResponse(ID, "read catalog", "%v", err)
	}
	hourly := map[string]float64{}
	for _, ad := range cat.Addons {
		for _, p := range ad.Pricings {
			if p.IntervalUnit == "hour" && p.Price > 0 {
				hourly[ad.PlanCode] = float64(p.Price) / 1e8
			}
		}
	}
	sort.SliceStable(fl, func(i, j int) bool { return fl[i].Name+fl[i].Region < fl[j].Name+fl[j].Region })
	var out []providers.Offer
	for _, f := range fl {
		prefix, _, _ := strings.Cut(f.Name, "-")
		fam, ok := families[prefix]
		price := hourly[f.PlanCodes.Hourly]
		if !ok || f.ID == "" || f.Region == "" || price <= 0 || math.IsInf(price, 0) {
			continue // not a GPU flavor, or no hourly price
		}
		ramGB := f.RAM / 1000
		count := max(1, int(math.Round(float64(ramGB)/float64(fam.ramGB1))))
		o := providers.Offer{Provider: ID, SKU: f.Name, GPU: fam.gpu, GPUCount: count, VCPU: f.VCPUs, RAMGB: float64(ramGB),
			DiskGB: f.Disk, Region: f.Region, PriceHour: math.Round(price*1000) / 1000, Availability: providers.None, AvailableCount: -1}
		if f.Available {
			o.Availability = providers.Available
		}
		out = append(out, o)
	}
	return out, nil
}

type instance struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Region      string `json:"region"`
	FlavorID    string `json:"flavorId"`
	IPAddresses []struct {
		IP      string `json:"ip"`
		Type    string `json:"type"`
		Version int    `json:"version"`
	} `json:"ipAddresses"`
}

func (v instance) normal() providers.Instance {
	in := providers.Instance{ID: v.ID, Provider: ID, Region: v.Region, SSHPort: 22, State: providers.StateUnknown}
	for _, ip := range v.IPAddresses {
		if ip.Type == "public" && ip.Version == 4 {
			in.PublicIP = ip.IP
		}
	}
	switch v.Status {
	case "BUILD", "BUILDING", "REBOOT", "UNSHELVING":
		in.State = providers.StatePending
	case "ACTIVE":
		in.State = providers.StateRunning
	case "SHUTOFF", "SHELVED", "SHELVED_OFFLOADED", "STOPPED":
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

// Create launches an instance of the flavor in the offer's region. The API
// asks for the flavor's id, which differs by region, so it is looked up.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "create spot")
	}
	var flavors []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "find flavor", Path: a.project() + "/flavor",
		Query: url.Values{"region": {req.Offer.Region}}}, &flavors); err != nil {
		return providers.Instance{}, err
	}
	flavorID := ""
	for _, f := range flavors {
		if f.Name == req.Offer.SKU {
			flavorID = f.ID
		}
	}
	if flavorID == "" {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "find flavor", Kind: providers.KindNotFound,
			Message: "no flavor " + req.Offer.SKU + " in " + req.Offer.Region}
	}
	body := map[string]any{"flavorId": flavorID, "imageId": req.Image, "name": req.Name, "region": req.Offer.Region}
	if req.SSHPublicKey != "" {
		var key struct {
			ID string `json:"id"`
		}
		if _, err := a.C.Do(ctx, providers.Request{Op: "add ssh key", Method: http.MethodPost, Path: a.project() + "/sshkey",
			Body: map[string]string{"name": req.Name, "publicKey": req.SSHPublicKey, "region": req.Offer.Region}}, &key); err != nil {
			return providers.Instance{}, err
		}
		body["sshKeyId"] = key.ID
	}
	var out instance
	if _, err := a.C.Do(ctx, providers.Request{Op: "create instance", Method: http.MethodPost, Path: a.project() + "/instance", Body: body}, &out); err != nil {
		return providers.Instance{}, err
	}
	if out.ID == "" {
		return providers.Instance{}, providers.BadResponse(ID, "create instance", "no instance id")
	}
	in := out.normal()
	in.SKU, in.PriceHour = req.Offer.SKU, req.Offer.PriceHour
	return in, nil
}

func (a *Adapter) post(ctx context.Context, id, verb string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: verb + " instance", Method: http.MethodPost, Path: a.project() + "/instance/" + url.PathEscape(id) + "/" + verb}, nil)
	return err
}

// Start starts a stopped instance.
func (a *Adapter) Start(ctx context.Context, id string) error { return a.post(ctx, id, "start") }

// Stop stops an instance (still billed; shelving would not be).
func (a *Adapter) Stop(ctx context.Context, id string) error { return a.post(ctx, id, "stop") }

// Terminate deletes an instance.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "delete instance", Method: http.MethodDelete, Path: a.project() + "/instance/" + url.PathEscape(id)}, nil)
	return err
}

// Instance reads an instance.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out instance
	if _, err := a.C.Do(ctx, providers.Request{Op: "get instance", Path: a.project() + "/instance/" + url.PathEscape(id)}, &out); err != nil {
		return providers.Instance{}, err
	}
	return out.normal(), nil
}
