// Package lambda is the adapter for Lambda's public cloud API
// (https://docs.lambda.ai/api/cloud): instance types with capacity per
// region, launch, restart, terminate and instance status. Lambda has no
// stop: an instance runs until terminated.
package lambda

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "lambda"

// DefaultBaseURL is Lambda's documented API address.
const DefaultBaseURL = "https://cloud.lambda.ai/api/v1"

// Adapter talks to Lambda.
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

// shapes are Lambda's instance types as its instances page lists them
// (1x, 2x, 4x and 8x: from 14 vCPUs and 46 GiB to 240 vCPUs, and up to
// 2,900 GiB on 8x B200) in the regions its API names (as SkyPilot's
// catalogue of Lambda records them). Instances come with their own
// storage: the adapter sizes no disk.
var shapes = providers.Shapes{
	GPUCounts: []int{1, 2, 4, 8},
	VCPU:      providers.Range{Min: 14, Max: 240},
	RAMGiB:    providers.Range{Min: 46, Max: 2900},
	DiskGiB:   providers.AnyDisk,
	Regions: []string{"asia-northeast-1", "asia-northeast-2", "asia-south-1", "australia-east-1", "europe-central-1",
		"europe-south-1", "me-west-1", "us-east-1", "us-east-2", "us-east-3", "us-midwest-1", "us-south-1", "us-south-2",
		"us-south-3", "us-west-1", "us-west-2", "us-west-3"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// ListOffers reads instance types and the regions images exist in: a type
// with capacity in a region is available there, elsewhere none.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	types, err := a.C.Do(ctx, providers.Request{Op: "list instance types", Path: "/instance-types"}, nil)
	if err != nil {
		return nil, err
	}
	images, err := a.C.Do(ctx, providers.Request{Op: "list images", Path: "/images"}, nil)
	if err != nil {
		return nil, err
	}
	regions, err := DecodeRegions(images)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(types, regions))
}

type instanceTypes struct {
	Data map[string]struct {
		InstanceType struct {
			Name              string `json:"name"`
			Description       string `json:"description"`
			GPUDescription    string `json:"gpu_description"`
			PriceCentsPerHour int    `json:"price_cents_per_hour"`
			Specs             struct {
				VCPUs      int `json:"vcpus"`
				MemoryGiB  int `json:"memory_gib"`
				StorageGiB int `json:"storage_gib"`
				GPUs       int `json:"gpus"`
			} `json:"specs"`
		} `json:"instance_type"`
		Regions []struct {
			Name string `json:"name"`
		} `json:"regions_with_capacity_available"`
	} `json:"data"`
}

// descRE reads "8x H100 (80 GB SXM5)" → count 8, "H100 (80 GB SXM5)".
var descRE = regexp.MustCompile(`^\s*(\d+)\s*x\s+(.+)$`)

// DecodeOffers turns /instance-types into offers, one per type and region.
func DecodeOffers(body []byte, regions []string) ([]providers.Offer, error) {
	var v instanceTypes
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "list instance types", "%v", err)
	}
	if v.Data == nil {
		return nil, providers.BadResponse(ID, "list instance types", "no data object")
	}
	names := make([]string, 0, len(v.Data))
	for n := range v.Data {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []providers.Offer
	for _, n := range names {
		t := v.Data[n]
		it := t.InstanceType
		count, gpuText := it.Specs.GPUs, it.GPUDescription
		if m := descRE.FindStringSubmatch(it.Description); m != nil {
			if c, err := strconv.Atoi(m[1]); err == nil && count == 0 {
				count = c
			}
			if gpuText == "" {
				gpuText = m[2]
			}
		}
		if it.Name == "" || count <= 0 || it.PriceCentsPerHour <= 0 || gpuText == "" {
			continue // CPU-only types and malformed rows are not GPU offers
		}
		gpu := providers.MustCanonicalGPU(gpuText, 0)
		capacity := map[string]bool{}
		for _, r := range t.Regions {
			capacity[r.Name] = true
		}
		rs := regions
		if len(rs) == 0 {
			for r := range capacity {
				rs = append(rs, r)
			}
			sort.Strings(rs)
		}
		for _, r := range rs {
			o := providers.Offer{
				Provider: ID, SKU: it.Name, GPU: gpu, GPUCount: count,
				VCPU: it.Specs.VCPUs, RAMGB: float64(it.Specs.MemoryGiB), DiskGB: it.Specs.StorageGiB,
				Region: r, PriceHour: float64(it.PriceCentsPerHour) / 100,
				Availability: providers.None, AvailableCount: -1,
			}
			if strings.Contains(strings.ToUpper(gpuText), "SXM") && count > 1 {
				o.Interconnect = "nvlink"
			}
			if capacity[r] {
				o.Availability = providers.Available
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// DecodeRegions lists the distinct regions named by /images.
func DecodeRegions(body []byte) ([]string, error) {
	var v struct {
		Data []struct {
			Region struct {
				Name string `json:"name"`
			} `json:"region"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "list images", "%v", err)
	}
	seen := map[string]bool{}
	var out []string
	for _, d := range v.Data {
		if n := d.Region.Name; n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// classify reads Lambda's error codes ("instance-operations/launch/
// insufficient-capacity", "global/quota-exceeded", …).
func classify(status int, body []byte) providers.ErrorKind {
	var v struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	c := v.Error.Code
	switch {
	case strings.Contains(c, "insufficient-capacity"):
		return providers.KindNoCapacity
	case strings.Contains(c, "quota-exceeded"):
		return providers.KindQuota
	case strings.Contains(c, "invalid-api-key") || strings.Contains(c, "unauthorized"):
		return providers.KindAuth
	case strings.Contains(c, "object-does-not-exist"):
		return providers.KindNotFound
	}
	return ""
}

type instance struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	IP           string `json:"ip"`
	Status       string `json:"status"`
	InstanceType struct {
		Name              string `json:"name"`
		PriceCentsPerHour int    `json:"price_cents_per_hour"`
	} `json:"instance_type"`
	Region struct {
		Name string `json:"name"`
	} `json:"region"`
}

// Create registers the SSH key under the instance name, then launches one
// instance of the offer's type in the offer's region.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "launch spot")
	}
	var keys []string
	if req.SSHPublicKey != "" {
		name := req.Name + "-key"
		if _, err := a.C.Do(ctx, providers.Request{Op: "add ssh key", Method: http.MethodPost, Path: "/ssh-keys",
			Body: map[string]string{"name": name, "public_key": req.SSHPublicKey}}, nil); err != nil {
			return providers.Instance{}, err
		}
		keys = append(keys, name)
	}
	var out struct {
		Data struct {
			InstanceIDs []string `json:"instance_ids"`
		} `json:"data"`
	}
	body := map[string]any{
		"region_name": req.Offer.Region, "instance_type_name": req.Offer.SKU,
		"ssh_key_names": keys, "quantity": 1, "name": req.Name,
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "launch", Method: http.MethodPost, Path: "/instance-operations/launch", Body: body}, &out); err != nil {
		return providers.Instance{}, err
	}
	if len(out.Data.InstanceIDs) == 0 {
		return providers.Instance{}, providers.BadResponse(ID, "launch", "no instance id in answer")
	}
	return providers.Instance{ID: out.Data.InstanceIDs[0], Provider: ID, SKU: req.Offer.SKU, Region: req.Offer.Region,
		State: providers.StatePending, PriceHour: req.Offer.PriceHour}, nil
}

// Start is a restart at Lambda: a stopped instance does not exist there.
func (a *Adapter) Start(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "restart", Method: http.MethodPost, Path: "/instance-operations/restart",
		Body: map[string][]string{"instance_ids": {id}}}, nil)
	return err
}

// Stop is not offered by Lambda's API.
func (a *Adapter) Stop(context.Context, string) error { return providers.Unsupported(ID, "stop") }

// Terminate ends the instance.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "terminate", Method: http.MethodPost, Path: "/instance-operations/terminate",
		Body: map[string][]string{"instance_ids": {id}}}, nil)
	return err
}

// Instance reads one instance's status.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out struct {
		Data instance `json:"data"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "get instance", Path: "/instances/" + id}, &out); err != nil {
		return providers.Instance{}, err
	}
	d := out.Data
	return providers.Instance{ID: d.ID, Provider: ID, SKU: d.InstanceType.Name, Region: d.Region.Name,
		State: state(d.Status), PublicIP: d.IP, SSHPort: 22, PriceHour: float64(d.InstanceType.PriceCentsPerHour) / 100}, nil
}

func state(s string) providers.InstanceState {
	switch s {
	case "booting":
		return providers.StatePending
	case "active":
		return providers.StateRunning
	case "terminating":
		return providers.StateStopping
	case "terminated":
		return providers.StateTerminated
	case "unhealthy":
		return providers.StateFailed
	}
	return providers.StateUnknown
}
