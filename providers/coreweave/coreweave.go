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
	"fmt"
	"math"
	"strings"

	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/providers/kube"
)

// ID is the provider id.
const ID = "coreweave"

// classLabel is the node label CoreWeave sets to a node's GPU class.
const classLabel = "gpu.nvidia.com/class"

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
type Adapter struct{ kube.Cluster }

// New builds the adapter; the credentials are "api_server" (the cluster's
// API address), "api_token" and "namespace".
func New(cfg providers.Config) *Adapter { return &Adapter{kube.NewCluster(ID, cfg)} }

// ListOffers reads the GPU nodes.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	body, err := a.Nodes(ctx, classLabel)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(body))
}

// DecodeOffers groups GPU nodes by class, region and GPUs per node; each
// group is an offer whose available count is its ready, schedulable nodes.
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	nodes, err := kube.DecodeNodes(ID, body)
	if err != nil {
		return nil, err
	}
	var g kube.Group
	for _, n := range nodes {
		class, region := n.Labels[classLabel], n.Labels[kube.RegionLabel]
		lp, known := listPrices[class]
		if !known || region == "" || n.GPUs <= 0 || n.GPUs > 64 {
			continue
		}
		g.Add(n, fmt.Sprintf("%s:%d", class, n.GPUs), region, func() providers.Offer {
			o := providers.Offer{Provider: ID, GPU: lp.gpu, GPUCount: n.GPUs, VCPU: n.CPU, RAMGB: n.MemoryGB,
				PriceHour: math.Round(lp.price*float64(n.GPUs)*1000) / 1000}
			if strings.Contains(class, "NVLINK") {
				o.Interconnect = "nvlink"
			}
			return o
		})
	}
	return g.Offers(), nil
}

// Create starts a pod that claims the offer's GPUs on a node of its class
// in its region.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	class, gpus, err := kube.SplitSKU(ID, req.Offer.SKU)
	if err != nil {
		return providers.Instance{}, err
	}
	return a.Pods.Create(ctx, req, gpus, map[string]string{classLabel: class, kube.RegionLabel: req.Offer.Region})
}
