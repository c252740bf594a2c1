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

// shapes are CoreWeave's GPU nodes as its instance pages give them (one
// GH200 with 72 vCPUs and 480 GB, four GB200 with 144 vCPUs, eight of
// the others with 128 vCPUs and up to 2,048 GB), widened to the nodes the
// recorded clusters report (four L40S with 64 vCPUs, 2,064 GiB
// allocatable), in the General Access regions of its regions page. A pod
// runs on the node's own disk: the adapter sizes none.
var shapes = providers.Shapes{
	GPUCounts: []int{1, 4, 8},
	VCPU:      providers.Range{Min: 64, Max: 144},
	RAMGiB:    providers.Range{Min: 480, Max: 2064},
	DiskGiB:   providers.AnyDisk,
	Regions: []string{"EU-SOUTH-03", "EU-SOUTH-04", "RNO2", "US-CENTRAL-06", "US-CENTRAL-07", "US-EAST-01", "US-EAST-02",
		"US-EAST-04", "US-EAST-06", "US-EAST-08", "US-EAST-13", "US-EAST-14", "US-WEST-01", "US-WEST-04", "US-WEST-09", "US-WEST-10"},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

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
