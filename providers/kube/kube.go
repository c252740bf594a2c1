// Package kube holds what the adapters whose machines are Kubernetes nodes
// share: reading a NodeList from the Kubernetes API, grouping GPU nodes
// into offers, and running an instance as a pod that claims a node's GPUs
// (created, read and deleted in one namespace). It speaks the core v1 API
// only (/api/v1/nodes, /api/v1/namespaces/{ns}/pods).
package kube

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/providers"
)

// GPUResource is the extended resource NVIDIA's device plugin advertises.
const GPUResource = "nvidia.com/gpu"

// RegionLabel is the well-known region label.
const RegionLabel = "topology.kubernetes.io/region"

// DefaultImage runs in a pod when the request names none.
const DefaultImage = "nvcr.io/nvidia/pytorch:24.10-py3"

// Quantity reads a Kubernetes quantity ("128", "2113470Mi", "2Ti", "500m")
// as a plain number (bytes for memory, cores for CPU).
func Quantity(s string) float64 {
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"m", 1e-3}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) || v < 0 {
		return 0
	}
	return v * mult
}

// Node is one node of a NodeList, reduced to what offers need.
type Node struct {
	Name        string
	Labels      map[string]string
	Annotations map[string]string
	GPUs        int
	CPU         int
	MemoryGB    float64
	// Free says the node is Ready and schedulable.
	Free bool
}

// DecodeNodes reads a NodeList answer.
func DecodeNodes(provider string, body []byte) ([]Node, error) {
	var v struct {
		Items []struct {
			Metadata struct {
				Name        string            `json:"name"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
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
		return nil, providers.BadResponse(provider, "list nodes", "%v", err)
	}
	if v.Items == nil {
		return nil, providers.BadResponse(provider, "list nodes", "no items")
	}
	out := make([]Node, 0, len(v.Items))
	for _, it := range v.Items {
		ready := false
		for _, c := range it.Status.Conditions {
			ready = ready || c.Type == "Ready" && c.Status == "True"
		}
		out = append(out, Node{Name: it.Metadata.Name, Labels: it.Metadata.Labels, Annotations: it.Metadata.Annotations,
			GPUs: int(Quantity(it.Status.Allocatable[GPUResource])), CPU: int(Quantity(it.Status.Allocatable["cpu"])),
			MemoryGB: math.Round(Quantity(it.Status.Allocatable["memory"]) / (1 << 30)), Free: ready && !it.Spec.Unschedulable})
	}
	return out, nil
}

// Group collects nodes into offers: the first node of a key makes the
// offer, each free node of the key adds one to its available count; an
// offer is available with two or more free nodes, limited with one.
type Group struct {
	offers map[string]*providers.Offer
}

// Add counts a node towards the offer of its SKU and region; build makes
// the offer the first time the pair is seen.
func (g *Group) Add(n Node, sku, region string, build func() providers.Offer) {
	if g.offers == nil {
		g.offers = map[string]*providers.Offer{}
	}
	k := sku + "\x00" + region
	o := g.offers[k]
	if o == nil {
		v := build()
		v.SKU, v.Region, v.Availability, v.AvailableCount = sku, region, providers.None, 0
		o = &v
		g.offers[k] = o
	}
	if n.Free {
		o.AvailableCount++
	}
}

// Offers returns the grouped offers sorted by SKU and region.
func (g *Group) Offers() []providers.Offer {
	out := make([]providers.Offer, 0, len(g.offers))
	for _, o := range g.offers {
		switch {
		case o.AvailableCount >= 2:
			o.Availability = providers.Available
		case o.AvailableCount == 1:
			o.Availability = providers.Limited
		}
		out = append(out, *o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU+out[i].Region < out[j].SKU+out[j].Region })
	return out
}

// Cluster is an adapter's hold on one cluster: its API client (bearer
// token, API server address) and the namespace its pods run in. Adapters
// embed it and add ListOffers and Create.
type Cluster struct {
	Pods
	Cfg providers.Config
}

// NewCluster connects to the cluster named by the credentials
// "api_server", "api_token" and "namespace".
func NewCluster(provider string, cfg providers.Config) Cluster {
	c := providers.NewClient(provider, cfg.Cred("api_server"), cfg)
	c.Auth = providers.Bearer(cfg.Cred("api_token"))
	return Cluster{Pods: Pods{Client: c, Namespace: cfg.Cred("namespace")}, Cfg: cfg}
}

// Provider implements providers.Adapter.
func (c Cluster) Provider() string { return c.Client.Provider }

// Nodes reads the NodeList of the nodes carrying a label.
func (c Cluster) Nodes(ctx context.Context, label string) ([]byte, error) {
	return c.Client.Do(ctx, providers.Request{Op: "list nodes", Path: "/api/v1/nodes", Query: url.Values{"labelSelector": {label}}}, nil)
}

// Pods runs instances as pods in one namespace.
type Pods struct {
	Client    *providers.Client
	Namespace string
}

func (p Pods) path() string {
	return "/api/v1/namespaces/" + url.PathEscape(p.Namespace) + "/pods"
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

func (p pod) normal(provider string) providers.Instance {
	in := providers.Instance{ID: p.Metadata.Name, Provider: provider, PublicIP: p.Status.PodIP, SSHPort: 22, State: providers.StateUnknown}
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

// Create starts a pod that claims gpus GPUs on a node matching the
// selector; the SSH key reaches the container as PUBLIC_KEY.
func (p Pods) Create(ctx context.Context, req providers.CreateRequest, gpus int, selector map[string]string) (providers.Instance, error) {
	img := req.Image
	if img == "" {
		img = DefaultImage
	}
	limits := map[string]string{GPUResource: strconv.Itoa(gpus)}
	body := map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": req.Name, "labels": map[string]string{"app.kubernetes.io/managed-by": "gpubroker"}},
		"spec": map[string]any{"restartPolicy": "Never", "nodeSelector": selector,
			"containers": []any{map[string]any{"name": "main", "image": img, "command": []string{"sleep", "infinity"},
				"env":       []any{map[string]string{"name": "PUBLIC_KEY", "value": req.SSHPublicKey}},
				"resources": map[string]any{"limits": limits, "requests": limits}}}}}
	var out pod
	if _, err := p.Client.Do(ctx, providers.Request{Op: "create pod", Method: http.MethodPost, Path: p.path(), Body: body}, &out); err != nil {
		return providers.Instance{}, err
	}
	in := out.normal(p.Client.Provider)
	in.SKU, in.Region, in.PriceHour = req.Offer.SKU, req.Offer.Region, req.Offer.PriceHour
	return in, nil
}

// Start is not possible: a pod cannot be resumed once stopped.
func (p Pods) Start(context.Context, string) error {
	return providers.Unsupported(p.Client.Provider, "start")
}

// Stop is not possible: a pod is deleted, not stopped.
func (p Pods) Stop(context.Context, string) error {
	return providers.Unsupported(p.Client.Provider, "stop")
}

// Terminate deletes the pod.
func (p Pods) Terminate(ctx context.Context, id string) error {
	_, err := p.Client.Do(ctx, providers.Request{Op: "delete pod", Method: http.MethodDelete, Path: p.path() + "/" + url.PathEscape(id)}, nil)
	return err
}

// Instance reads the pod.
func (p Pods) Instance(ctx context.Context, id string) (providers.Instance, error) {
	var out pod
	if _, err := p.Client.Do(ctx, providers.Request{Op: "get pod", Path: p.path() + "/" + url.PathEscape(id)}, &out); err != nil {
		return providers.Instance{}, err
	}
	return out.normal(p.Client.Provider), nil
}

// SplitSKU reads a "<class>:<gpus>" SKU.
func SplitSKU(provider, sku string) (string, int, error) {
	i := strings.LastIndexByte(sku, ':')
	if i <= 0 {
		return "", 0, &providers.Error{Provider: provider, Op: "create pod", Kind: providers.KindInvalid, Message: "sku is not <class>:<gpus>"}
	}
	n, err := strconv.Atoi(sku[i+1:])
	if err != nil || n < 1 {
		return "", 0, &providers.Error{Provider: provider, Op: "create pod", Kind: providers.KindInvalid, Message: "sku is not <class>:<gpus>"}
	}
	return sku[:i], n, nil
}
