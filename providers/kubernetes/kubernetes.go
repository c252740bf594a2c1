// Package kubernetes is the adapter for a tenant's own Kubernetes cluster
// (the core v1 API at "api_server", with a bearer token): offers are its
// GPU nodes as NVIDIA's GPU Feature Discovery labels them
// (nvidia.com/gpu.product, nvidia.com/gpu.memory), grouped by product,
// region and GPUs per node. A cluster publishes no prices, so each node
// states what an hour of one of its GPUs costs the tenant in the
// annotation gpubroker.io/gpu-hour-usd; nodes without it are not offered.
// An instance is a pod that claims the GPUs of one such node, created,
// read and deleted in the tenant's namespace.
package kubernetes

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/providers/kube"
)

// ID is the provider id.
const ID = "kubernetes"

// The labels GPU Feature Discovery sets and the price annotation.
const (
	ProductLabel    = "nvidia.com/gpu.product"
	MemoryLabel     = "nvidia.com/gpu.memory" // MiB per GPU
	PriceAnnotation = "gpubroker.io/gpu-hour-usd"
)

// NoRegion is the region of nodes that carry no region label.
const NoRegion = "cluster"

// MaxNodeGPUs is the most GPUs a node may report and still be offered.
const MaxNodeGPUs = 64

// Adapter talks to the cluster.
type Adapter struct {
	kube.Cluster

	mu   sync.Mutex
	seen providers.Shapes // of the last listing with offers
}

// New builds the adapter; the credentials are "api_server" (the cluster's
// API address), "api_token" and "namespace".
func New(cfg providers.Config) *Adapter { return &Adapter{Cluster: kube.NewCluster(ID, cfg)} }

// ListOffers reads the nodes that carry a GPU product label.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	body, err := a.Nodes(ctx, ProductLabel)
	if err != nil {
		return nil, err
	}
	offers, err := a.Cfg.Normalized(DecodeOffers(body))
	if len(offers) > 0 {
		s := providers.Span(slices.Values(offers), providers.OfferMachine, providers.AnyDisk, nil)
		a.mu.Lock()
		a.seen = s
		a.mu.Unlock()
	}
	return offers, err
}

// unlisted are the shapes before any listing: a tenant's own cluster has
// no documentation but its nodes, so until they are read every node the
// adapter could offer fits, in the region of unlabelled nodes.
var unlisted = providers.Shapes{
	GPUCounts: providers.CountsFrom(1, MaxNodeGPUs),
	VCPU:      providers.Range{Min: 1, Max: math.MaxInt32},
	RAMGiB:    providers.Range{Min: 1, Max: math.MaxInt32},
	DiskGiB:   providers.AnyDisk,
	Regions:   []string{NoRegion},
}

// Shapes implements providers.Shaper: the cluster's GPU nodes as its last
// listing found them (their GPU counts, vCPUs, memory and region labels).
// A pod runs on the node's own disk: the adapter sizes none.
func (a *Adapter) Shapes() providers.Shapes {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen.GPUCounts == nil {
		return unlisted
	}
	return a.seen
}

// DecodeOffers groups priced GPU nodes into offers: "NVIDIA-H100-80GB-HBM3"
// with 8 GPUs in us-east is the SKU "NVIDIA-H100-80GB-HBM3:8" there.
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	nodes, err := kube.DecodeNodes(ID, body)
	if err != nil {
		return nil, err
	}
	var g kube.Group
	for _, n := range nodes {
		product := n.Labels[ProductLabel]
		price, err := strconv.ParseFloat(strings.TrimSpace(n.Annotations[PriceAnnotation]), 64)
		if product == "" || err != nil || !(price > 0) || math.IsInf(price, 0) || n.GPUs <= 0 || n.GPUs > MaxNodeGPUs {
			continue
		}
		memGB := int(math.Round(kube.Quantity(n.Labels[MemoryLabel]) / 1024))
		gpu, ok := providers.CanonicalGPU(strings.ReplaceAll(product, "-", " "), memGB)
		if !ok {
			continue
		}
		region := n.Labels[kube.RegionLabel]
		if region == "" {
			region = NoRegion
		}
		g.Add(n, fmt.Sprintf("%s:%d", product, n.GPUs), region, func() providers.Offer {
			o := providers.Offer{Provider: ID, GPU: gpu, GPUCount: n.GPUs, VCPU: n.CPU, RAMGB: n.MemoryGB,
				PriceHour: math.Round(price*float64(n.GPUs)*1000) / 1000}
			if strings.Contains(strings.ToUpper(product), "SXM") && n.GPUs > 1 {
				o.Interconnect = "nvlink"
			}
			return o
		})
	}
	return g.Offers(), nil
}

// Create starts a pod that claims the offer's GPUs on a node of its
// product in its region.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	product, gpus, err := kube.SplitSKU(ID, req.Offer.SKU)
	if err != nil {
		return providers.Instance{}, err
	}
	sel := map[string]string{ProductLabel: product}
	if req.Offer.Region != NoRegion {
		sel[kube.RegionLabel] = req.Offer.Region
	}
	return a.Pods.Create(ctx, req, gpus, sel)
}
