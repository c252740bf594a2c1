// Package runpod is the adapter for RunPod's GraphQL API
// (https://docs.runpod.io/sdks/graphql/manage-pods): GPU types with their
// per-GPU secure-cloud and community-cloud prices, on-demand and spot,
// and stock; pods deployed on demand or as interruptible rentals, stopped,
// resumed, terminated and read. An offer's region is the cloud type
// (SECURE or COMMUNITY); RunPod places the pod within it.
package runpod

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "runpod"

// DefaultBaseURL is RunPod's documented GraphQL address.
const DefaultBaseURL = "https://api.runpod.io"

const defaultImage = "runpod/pytorch:2.4.0-py3.11-cuda12.4.1-devel-ubuntu22.04"

// Adapter talks to RunPod.
type Adapter struct {
	providers.Base
}

// New builds the adapter; the credential is "api_key".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	c.Auth = providers.Bearer(cfg.Cred("api_key"))
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}}
}

// shapes are derived from the recorded GPU types and the sandbox
// catalogue, as RunPod publishes no size table: pods of one to eight GPUs
// (the adapter's counts), 6 to 224 vCPUs and 41 to 2,264 GB, in the two
// cloud types that are the adapter's regions; no disk limit is
// documented.
var shapes = providers.Shapes{
	GPUCounts: providers.CountsFrom(1, 8),
	VCPU:      providers.Range{Min: 6, Max: 224},
	RAMGiB:    providers.Range{Min: 41, Max: 2264},
	DiskGiB:   providers.AnyDisk,
	Regions:   []string{"COMMUNITY", "SECURE"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// gql sends one GraphQL operation. GraphQL reports failures with HTTP 200
// and an errors array; they are mapped to kinds by their message.
func (a *Adapter) gql(ctx context.Context, op, query string, vars map[string]any, out any) error {
	raw, err := a.C.Do(ctx, providers.Request{Op: op, Method: http.MethodPost, Path: "/graphql",
		Body: map[string]any{"query": query, "variables": vars}}, nil)
	if err != nil {
		return err
	}
	var env struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return providers.BadResponse(ID, op, "%v", err)
	}
	if len(env.Errors) > 0 {
		msg := env.Errors[0].Message
		return &providers.Error{Provider: ID, Op: op, Kind: providers.ClassifyMessage(msg), Status: http.StatusOK, Message: msg}
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return providers.BadResponse(ID, op, "%v", err)
		}
	}
	return nil
}

const gpuTypesQuery = `query GpuTypes { gpuTypes { id displayName memoryInGb maxGpuCount secureCloud communityCloud
  securePrice communityPrice secureSpotPrice communitySpotPrice
  lowestPrice(input: {gpuCount: 1}) { minVcpu minMemory stockStatus } } }`

// ListOffers reads every GPU type.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	raw, err := a.C.Do(ctx, providers.Request{Op: "list gpu types", Method: http.MethodPost, Path: "/graphql",
		Body: map[string]any{"query": gpuTypesQuery}}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(raw))
}

// DecodeOffers turns the gpuTypes answer into offers: per type, per cloud
// it is sold in, one GPU and the most GPUs a pod may have. Prices are per
// GPU, so they are multiplied by the count.
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	var v struct {
		Data struct {
			GPUTypes []struct {
				ID          string  `json:"id"`
				Display     string  `json:"displayName"`
				MemoryGB    int     `json:"memoryInGb"`
				MaxCount    int     `json:"maxGpuCount"`
				Secure      bool    `json:"secureCloud"`
				Community   bool    `json:"communityCloud"`
				SecurePrice float64 `json:"securePrice"`
				CommPrice   float64 `json:"communityPrice"`
				SecureSpot  float64 `json:"secureSpotPrice"`
				CommSpot    float64 `json:"communitySpotPrice"`
				Lowest      *struct {
					MinVCPU   int    `json:"minVcpu"`
					MinMemory int    `json:"minMemory"`
					Stock     string `json:"stockStatus"`
				} `json:"lowestPrice"`
			} `json:"gpuTypes"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "list gpu types", "%v", err)
	}
	if len(v.Errors) > 0 {
		msg := v.Errors[0].Message
		return nil, &providers.Error{Provider: ID, Op: "list gpu types", Kind: providers.ClassifyMessage(msg), Message: msg}
	}
	if v.Data.GPUTypes == nil {
		return nil, providers.BadResponse(ID, "list gpu types", "no gpuTypes")
	}
	var out []providers.Offer
	for _, g := range v.Data.GPUTypes {
		if g.ID == "" || g.ID == "unknown" {
			continue
		}
		gpu := providers.MustCanonicalGPU(g.ID+" "+g.Display, g.MemoryGB)
		avail, vcpu, mem := providers.None, 0, 0
		if g.Lowest != nil {
			vcpu, mem = g.Lowest.MinVCPU, g.Lowest.MinMemory
			switch g.Lowest.Stock {
			case "High", "Medium":
				avail = providers.Available
			case "Low":
				avail = providers.Limited
			}
		}
		counts := []int{1}
		if g.MaxCount > 1 {
			counts = append(counts, min(g.MaxCount, 8))
		}
		for _, cloud := range []struct {
			name        string
			sold        bool
			price, spot float64
		}{{"SECURE", g.Secure, g.SecurePrice, g.SecureSpot}, {"COMMUNITY", g.Community, g.CommPrice, g.CommSpot}} {
			if !cloud.sold || !(cloud.price > 0) || math.IsInf(cloud.price, 0) {
				continue
			}
			for _, n := range counts {
				o := providers.Offer{Provider: ID, SKU: fmt.Sprintf("%s:%d", g.ID, n), GPU: gpu, GPUCount: n, GPUMemoryGB: g.MemoryGB,
					VCPU: vcpu * n, RAMGB: float64(mem * n), Region: cloud.name, PriceHour: round3(cloud.price * float64(n)),
					Availability: avail, AvailableCount: -1}
				if cloud.spot > 0 && !math.IsInf(cloud.spot, 0) {
					o.SpotPriceHour = round3(cloud.spot * float64(n))
				}
				out = append(out, o)
			}
		}
	}
	return out, nil
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// sku splits "<gpu type id>:<count>".
func sku(s string) (string, int, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("sku %q is not <gpu type>:<count>", s)
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("sku %q has no gpu count", s)
	}
	return s[:i], n, nil
}

type pod struct {
	ID            string  `json:"id"`
	DesiredStatus string  `json:"desiredStatus"`
	CostPerHr     float64 `json:"costPerHr"`
	GPUCount      int     `json:"gpuCount"`
	Runtime       *struct {
		Ports []struct {
			IP          string `json:"ip"`
			IsIPPublic  bool   `json:"isIpPublic"`
			PrivatePort int    `json:"privatePort"`
			PublicPort  int    `json:"publicPort"`
		} `json:"ports"`
	} `json:"runtime"`
}

func (p pod) normal() providers.Instance {
	in := providers.Instance{ID: p.ID, Provider: ID, PriceHour: p.CostPerHr, State: providers.StateUnknown}
	switch p.DesiredStatus {
	case "CREATED":
		in.State = providers.StatePending
	case "RUNNING":
		in.State = providers.StateRunning
		if p.Runtime == nil {
			in.State = providers.StatePending // scheduled, not booted yet
		}
	case "EXITED":
		in.State = providers.StateStopped
	case "TERMINATED":
		in.State = providers.StateTerminated
	}
	if p.Runtime != nil {
		for _, port := range p.Runtime.Ports {
			if port.PrivatePort == 22 && port.IsIPPublic {
				in.PublicIP, in.SSHPort = port.IP, port.PublicPort
			}
		}
	}
	return in
}

// Create deploys a pod of the offer's GPU type and count in its cloud, on
// demand or, with Spot, as an interruptible rental at the spot price.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	gpuType, count, err := sku(req.Offer.SKU)
	if err != nil {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "deploy pod", Kind: providers.KindInvalid, Err: err}
	}
	img := req.Image
	if img == "" {
		img = defaultImage
	}
	input := map[string]any{"cloudType": req.Offer.Region, "gpuCount": count, "gpuTypeId": gpuType, "name": req.Name,
		"imageName": img, "containerDiskInGb": max(req.DiskGB, 20), "volumeInGb": 0, "ports": "22/tcp",
		"env": []map[string]string{{"key": "PUBLIC_KEY", "value": req.SSHPublicKey}}}
	mutation := `mutation Deploy($input: PodFindAndDeployOnDemandInput) { podFindAndDeployOnDemand(input: $input) { id desiredStatus costPerHr } }`
	field := "podFindAndDeployOnDemand"
	if req.Spot {
		input["bidPerGpu"] = req.Offer.SpotPriceHour / float64(count)
		mutation = `mutation Rent($input: PodRentInterruptableInput!) { podRentInterruptable(input: $input) { id desiredStatus costPerHr } }`
		field = "podRentInterruptable"
	}
	var out map[string]pod
	if err := a.gql(ctx, "deploy pod", mutation, map[string]any{"input": input}, &out); err != nil {
		return providers.Instance{}, err
	}
	p := out[field]
	if p.ID == "" {
		return providers.Instance{}, providers.BadResponse(ID, "deploy pod", "no pod id")
	}
	in := p.normal()
	in.SKU, in.Region, in.State = req.Offer.SKU, req.Offer.Region, providers.StatePending
	return in, nil
}

// Start resumes a stopped pod; RunPod asks for its GPU count again, so it
// is read from the pod first.
func (a *Adapter) Start(ctx context.Context, id string) error {
	p, err := a.pod(ctx, id)
	if err != nil {
		return err
	}
	return a.gql(ctx, "resume pod", `mutation Resume($input: PodResumeInput!) { podResume(input: $input) { id desiredStatus } }`,
		map[string]any{"input": map[string]any{"podId": id, "gpuCount": max(p.GPUCount, 1)}}, nil)
}

// Stop stops a pod, keeping its volume.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	return a.gql(ctx, "stop pod", `mutation Stop($input: PodStopInput!) { podStop(input: $input) { id desiredStatus } }`,
		map[string]any{"input": map[string]any{"podId": id}}, nil)
}

// Terminate ends a pod.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	return a.gql(ctx, "terminate pod", `mutation Terminate($input: PodTerminateInput!) { podTerminate(input: $input) }`,
		map[string]any{"input": map[string]any{"podId": id}}, nil)
}

// Instance reads a pod.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	p, err := a.pod(ctx, id)
	if err != nil {
		return providers.Instance{}, err
	}
	return p.normal(), nil
}

func (a *Adapter) pod(ctx context.Context, id string) (pod, error) {
	var out struct {
		Pod *pod `json:"pod"`
	}
	if err := a.gql(ctx, "get pod", `query Pod($input: PodFilter) { pod(input: $input) { id desiredStatus costPerHr gpuCount
  runtime { ports { ip isIpPublic privatePort publicPort } } } }`, map[string]any{"input": map[string]any{"podId": id}}, &out); err != nil {
		return pod{}, err
	}
	if out.Pod == nil {
		return pod{}, &providers.Error{Provider: ID, Op: "get pod", Kind: providers.KindNotFound, Message: "no pod " + id}
	}
	return *out.Pod, nil
}
