// Package coreweave is the adapter for CoreWeave, whose machines are
// Kubernetes nodes: offers come from the GPU nodes of the tenant's
// CoreWeave Kubernetes cluster (the Kubernetes API at "api_server", with a
// bearer token), by GPU class and region label, priced from CoreWeave's
// published per-GPU hourly list (the table listPrices, compiled 2026-11,
// as the cluster API serves no prices); an instance is a pod that claims
// the GPUs on a node of that class, created, read and deleted in the
// tenant's namespace. A pod cannot be stopped and started again.
package coreweave

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
const ID = "coreweave"

// Node labels CoreWeave sets.
const (
	classLabel  = "gpu.nvidia.com/class"
	regionLabel = "topology.kubernetes.io/region"
	gpuResource = "nvidia.com/gpu"
)

// listPrices are CoreWeave's published on-demand USD per GPU hour by GPU
// class, with the canonical model of each class.
var listPrices = map[string]struct {
	gpu   string
	price float64
}{
	"H100_NVLINK_80GB": {"H100-SXM-80GB", 6.155}, "H200_NVLINK_141GB": {"H200-SXM-141GB", 6.30},
	"A100_NVLINK_80GB": {"A100-SXM-80GB", 2.70}, "A100_PCIE_80GB": {"A100-PCIE-80GB", 2.21},
	"A100_NVLINK": {"A100-SXM-40GB", 2.06}, "L40S": {"L40S-PCIE-48GB", 2.25}, "L40": {"L40-PCIE-48GB", 1.25},
	"RTX_A6000": {"RTX-A6000-48GB", 1.28}, "A40": {"A40-PCIE-48GB", 1.28}, "GH200_480GB": {"GH200-SXM-96GB", 6.50},
	"B200_NVLINK_180GB": {"B200-SXM-180GB", 8.60},
}

// Adapter talks to the cluster.
type Adapter struct {
	c   *providers.Client
	cfg providers.Config
}

// New builds the adapter; the credentials are "api_token", "api_server"
// (the cluster's API address) and "namespace".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, cfg.Cred("api_server"), cfg)
	c.Auth = providers.Bearer(cfg.Cred("api_token"))
	return &Adapter{c: c, cfg: cfg}
}

// Provider implements providers.Adapter.
func (a *Adapter) Provider() string { return ID }

// ListOffers reads the GPU nodes.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	body, err := a.c.Do(ctx, providers.Request{Op: "list nodes", Path: "/api/v1/nodes", Query: url.Values{"labelSelector": {classLabel}}}, nil)
	if err != nil {
		return nil, err
	}
	return a.cfg.Normalized(DecodeOffers(body))
}

// quantity reads a Kubernetes quantity ("128", "2113470Mi", "2Ti") as a
// plain number (bytes for memory).
func quantity(s string) float64 {
	mult := 1.0
	for suf, m := range map[string]float64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 1e3, "M": 1e6, "G": 1e9} {
		if strings.HasSuffix(s, suf) {
			s, mult = strings.TrimSuffix(s, suf), m
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return v * mult
}

// DecodeOffers groups ready, schedulable GPU nodes by class, region and
// GPUs per node; each group is an offer whose available count is its
// node count.
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	var v struct {
		Items []struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Spec struct {
				Unschedulable bool `json:"unschedulable"`
			} `json:"spec"`
			Status struct {
				Allocatable map[string]string `json:"allocatable"`
				Conditions  []struct {
					Type   string `json:"type"`
					Status string `json:"status"`
				} `json:"conditions"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "list nodes", "%v", err)
	}
	if v.Items == nil {
		return nil, providers.BadResponse(ID, "list nodes", "no items")
	}
	type key struct {
		class, region string
		gpus          int
	}
	groups := map[key]*providers.Offer{}
	for _, n := range v.Items {
		class, region := n.Metadata.Labels[classLabel], n.Metadata.Labels[regionLabel]
		lp, known := listPrices[class]
		gpus := int(quantity(n.Status.Allocatable[gpuResource]))
		if !known || region == "" || gpus <= 0 {
			continue
		}
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || c.Type == "Ready" && c.Status == "True"
		}
		k := key{class, region, gpus}
		o := groups[k]
		if o == nil {
			o = &providers.Offer{Provider: ID, SKU: fmt.Sprintf("%s:%d", class, gpus), GPU: lp.gpu, GPUCount: gpus,
				VCPU: int(quantity(n.Status.Allocatable["cpu"])), RAMGB: math.Round(quantity(n.Status.Allocatable["memory"]) / (1 << 30)),
				Region: region, PriceHour: math.Round(lp.price*float64(gpus)*1000) / 1000, Availability: providers.None}
			if strings.Contains(class, "NVLINK") {
				o.Interconnect = "nvlink"
			}
			groups[k] = o
		}
		if ready && !n.Spec.Unschedulable {
			o.AvailableCount++
		}
	}
	out := make([]providers.Offer, 0, len(groups))
	for _, o := range groups {
		switch {
		case o.AvailableCount >= 2:
			o.Availability = providers.Available
		case o.AvailableCount == 1:
			o.Availability = providers.Limited
		}
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU+out[i].Region < out[j].SKU+out[j].Region })
	return out, nil
}

func (a *Adapter) pods() string {
	return "/api/v1/namespaces/" + url.PathEscape(a.cfg.Cred("namespace")) + "/pods"
}

type pod struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Status struct {
		Phase  string `json:"phase"`
		HostIP string `json:"hostIP"`
		PodIP  string `json:"podIP"`
	} `json:"status"`
}

func (p pod) normal() providers.Instance {
	in := providers.Instance{ID: p.Metadata.Name, Provider: ID, PublicIP: p.Status.PodIP, SSHPort: 22, State: providers.StateUnknown}
	switch p.Status.Phase {
	case "Pending", "":
		in.State = providers.StatePending
	case "Running":
		in.State = providers.StateRunning
	case "Succeeded":
		in.State = providers.StateTerminated
	case "Failed":
		in.State = providers.StateFailed
	}
	return in
}

// Create starts a pod that claims the offer's GPUs on a node of its class
// in its region.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	class, n, ok := strings.Cut(req.Offer.SKU, ":")
	gpus, err := strconv.Atoi(n)
	if !ok || err != nil || gpus < 1 {
		return providers.Instance{}, &providers.Error{Provider: ID, Op: "create pod", Kind: providers.KindInvalid, Message: "sku is not <class>:<gpus>"}
	}
	img := req.Image
	if img == "" {
		img = "nvcr.io/nvidia/pytorch:24.10-py3"
	}
	limits := map[string]string{gpuResource: strconv.Itoa(gpus)}
	body := map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": req.Name, "labels": map[string]string{"app.kubernetes.io/managed-by": "gpubroker"}},
		"spec": map[string]any{"restartPolicy": "Never",
			"nodeSelector": map[string]string{classLabel: class, regionLabel: req.Offer.Region},
			"containers": []any{map[string]any{"name": "main", "image": img, "command": []string{"sleep", "infinity"},
				"env":       []any{map[string]string{"name": "PUBLIC_KEY", "value": req.SSHPublicKey}},
				"resources": map[string]any{"limits": limits, "requests": limits}}}}}
	var out pod
	if _, err := a.c.Do(ctx, providers.Request{Op: "create pod", Method: http.MethodPost, Path: a.pods(), Body: body}, &out); err != nil {
		return providers.Instance{}, err
	}
	in := out.normal()
	in.SKU, in.Region, in.PriceHour = req.Offer.SKU, req.Offer.Region, req.Offer.PriceHour
	return in, nil
}

// Start is not possible: a pod cannot be resumed once stopped.
func (a *Adapter) Start(context.Context, string) error { return providers.Unsupported(ID, "start") }

// Stop is not possible: a pod is deleted, not stopped.
func (a *Adapter) Stop(context.Context, string) error { return providers.Unsupported(ID, "stop") }

// Terminate deletes the pod.
func (a *Adapter) Terminate(ctx context.Context, id string) error {
	_, err := a.c.Do(ctx, providers.Request{Op: "delete pod", Method: http.MethodDelete, Path: a.pods() + "/" + url.PathEscape(id)}, nil)
	return err
}

// Instance reads the pod.
func (a *Adapter) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out pod
	if _, err := a.c.Do(ctx, providers.Request{Op: "get pod", Path: a.pods() + "/" + url.PathEscape(id)}, &out); err != nil {
		return providers.Instance{}, err
	}
	return out.normal(), nil
}
