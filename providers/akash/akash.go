// Package akash is the adapter for Akash Network through the Akash Console
// API (https://console-api.akash.network, "x-api-key" header, the Managed
// Wallet API). Offers come from GET /v1/gpu-prices: per GPU model the
// network-wide count of GPUs free and the USD per GPU hour providers bid
// (its weighted average). Akash is a marketplace, not a data centre, so an
// offer's region is "global" and the machine around the GPUs is what the
// deployment asks for. An instance is a deployment: Create posts an SDL
// asking for the offer's GPUs with a price ceiling, waits (bounded) for
// providers' bids, leases the cheapest bid and sends the manifest; with no
// bid in time it closes the deployment and reports no capacity.
// Instance reads the deployment and its lease; Terminate closes it. Akash
// cannot stop and start a lease.
package akash

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
	"time"

	"github.com/gpubroker/pod/providers"
)

// ID is the provider id.
const ID = "akash"

// DefaultBaseURL is the Akash Console API's documented address.
const DefaultBaseURL = "https://console-api.akash.network"

// Region is every offer's region.
const Region = "global"

// Denom is what deployments are priced in: ACT, whose micro unit is a
// micro-dollar.
const Denom = "uact"

// BlocksPerHour converts a per-block bid to an hourly price, at Akash's
// block time of about 6.1 s.
const BlocksPerHour = 3600 / 6.1

// DepositUSD is the escrow deposit a deployment starts with (the Managed
// Wallet API's minimum).
const DepositUSD = 5

const defaultImage = "nvcr.io/nvidia/pytorch:24.10-py3"

// Adapter talks to the Console API.
type Adapter struct {
	providers.Base
	// BidWait bounds how long Create waits for bids; BidPoll is how often
	// it asks.
	BidWait, BidPoll time.Duration
}

// New builds the adapter; the credential is "api_key".
func New(cfg providers.Config) *Adapter {
	c := providers.NewClient(ID, DefaultBaseURL, cfg)
	c.Auth = providers.Header("x-api-key", cfg.Cred("api_key"))
	c.Classify = classify
	return &Adapter{Base: providers.Base{C: c, Cfg: cfg}, BidWait: 90 * time.Second, BidPoll: 3 * time.Second}
}

// shapes are what a deployment may ask of the network: the GPU counts the
// adapter offers and the per-service limits of Akash's deployment
// validation parameters (256 CPUs, 512 GiB of memory, 32 TiB of storage).
var shapes = providers.Shapes{
	GPUCounts: counts,
	VCPU:      providers.Range{Min: 1, Max: 256},
	RAMGiB:    providers.Range{Min: 1, Max: 512},
	DiskGiB:   providers.Range{Min: 1, Max: 32768},
	Regions:   []string{Region},
}

// Shapes implements providers.Shaper.
func (a *Adapter) Shapes() providers.Shapes { return shapes }

// classify reads the Console API's codes: a wallet that cannot fund the
// deposit is an account limit.
func classify(_ int, body []byte) providers.ErrorKind {
	var v struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &v) == nil && strings.Contains(v.Code, "insufficient_funds") {
		return providers.KindQuota
	}
	return ""
}

// ListOffers reads the network's GPU prices and availability.
func (a *Adapter) ListOffers(ctx context.Context) ([]providers.Offer, error) {
	body, err := a.C.Do(ctx, providers.Request{Op: "list gpu prices", Path: "/v1/gpu-prices"}, nil)
	if err != nil {
		return nil, err
	}
	return a.Cfg.Normalized(DecodeOffers(body))
}

// counts are the GPU counts offered per model, when that many are free.
var counts = []int{1, 2, 4, 8}

// DecodeOffers turns /v1/gpu-prices into offers: per model, memory and
// interface, one offer for each count of 1, 2, 4 and 8 GPUs (a count more
// than the free GPUs has availability none), priced at the weighted
// average bid per GPU hour times the count. Models nobody bids on have no
// price and no offer.
func DecodeOffers(body []byte) ([]providers.Offer, error) {
	var v struct {
		Models []struct {
			Vendor       string `json:"vendor"`
			Model        string `json:"model"`
			RAM          string `json:"ram"`
			Interface    string `json:"interface"`
			Availability struct {
				Total     int `json:"total"`
				Available int `json:"available"`
			} `json:"availability"`
			Price *struct {
				Currency        string  `json:"currency"`
				Avg             float64 `json:"avg"`
				WeightedAverage float64 `json:"weightedAverage"`
			} `json:"price"`
		} `json:"models"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, providers.BadResponse(ID, "list gpu prices", "%v", err)
	}
	if v.Models == nil {
		return nil, providers.BadResponse(ID, "list gpu prices", "no models")
	}
	var out []providers.Offer
	for _, m := range v.Models {
		if m.Price == nil || !strings.EqualFold(m.Price.Currency, "USD") || m.Model == "" || m.Vendor == "" {
			continue
		}
		per := m.Price.WeightedAverage
		if !(per > 0) {
			per = m.Price.Avg
		}
		memGB := ramGB(m.RAM)
		gpu, ok := providers.CanonicalGPU(m.Model+" "+m.Interface, memGB)
		if !ok || !(per > 0) || math.IsInf(per, 0) || memGB <= 0 {
			continue
		}
		free := max(0, m.Availability.Available)
		for _, n := range counts {
			o := providers.Offer{Provider: ID, SKU: SKU(m.Vendor, m.Model, m.RAM, m.Interface, n), GPU: gpu, GPUCount: n,
				Region: Region, PriceHour: math.Round(per*float64(n)*1000) / 1000, Availability: providers.None, AvailableCount: free / n}
			switch {
			case free >= 2*n:
				o.Availability = providers.Available
			case free >= n:
				o.Availability = providers.Limited
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU < out[j].SKU })
	return out, nil
}

// ramGB reads "80Gi" as 80.
func ramGB(s string) int {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(s, "Gi"), "GB"))
	if err != nil || n < 0 || n > 1<<12 {
		return 0
	}
	return n
}

// SKU names an offer: "nvidia/h100/80Gi/sxm5:8".
func SKU(vendor, model, ram, iface string, n int) string {
	return fmt.Sprintf("%s/%s/%s/%s:%d", strings.ToLower(vendor), strings.ToLower(model), ram, strings.ToLower(iface), n)
}

// parseSKU reads a SKU back.
func parseSKU(sku string) (vendor, model, ram, iface string, n int, err error) {
	head, count, ok := strings.Cut(sku, ":")
	parts := strings.Split(head, "/")
	n, cerr := strconv.Atoi(count)
	if !ok || cerr != nil || n < 1 || len(parts) != 4 || parts[0] == "" || parts[1] == "" {
		return "", "", "", "", 0, &providers.Error{Provider: ID, Op: "create deployment", Kind: providers.KindInvalid,
			Message: "sku is not <vendor>/<model>/<ram>/<interface>:<count>"}
	}
	return parts[0], parts[1], parts[2], parts[3], n, nil
}

// SDL writes the deployment an offer needs: one service running the image
// with SSH exposed, the offer's GPUs, and a price ceiling per block a
// quarter above the offer's price.
func SDL(req providers.CreateRequest) (string, error) {
	vendor, model, ram, iface, n, err := parseSKU(req.Offer.SKU)
	if err != nil {
		return "", err
	}
	img := req.Image
	if img == "" {
		img = defaultImage
	}
	cpu, mem, disk := max(4, req.Offer.VCPU), max(16, int(req.Offer.RAMGB)), max(50, req.DiskGB, req.Offer.DiskGB)
	if req.Offer.VCPU == 0 {
		cpu = 8 * n
	}
	if req.Offer.RAMGB == 0 {
		mem = 32 * n
	}
	ceiling := int(math.Ceil(req.Offer.PriceHour * 1.25 * 1e6 / BlocksPerHour))
	gpuIface := "pcie"
	if strings.HasPrefix(iface, "sxm") {
		gpuIface = "sxm"
	}
	q := strconv.Quote
	var b strings.Builder
	fmt.Fprintf(&b, "version: \"2.0\"\nservices:\n  gpu:\n    image: %s\n", q(img))
	fmt.Fprintf(&b, "    env:\n      - %s\n", q("PUBLIC_KEY="+req.SSHPublicKey))
	b.WriteString("    expose:\n      - port: 22\n        as: 22\n        to:\n          - global: true\n")
	b.WriteString("profiles:\n  compute:\n    gpu:\n      resources:\n")
	fmt.Fprintf(&b, "        cpu:\n          units: %d\n        memory:\n          size: %dGi\n        storage:\n          size: %dGi\n", cpu, mem, disk)
	fmt.Fprintf(&b, "        gpu:\n          units: %d\n          attributes:\n            vendor:\n              %s:\n", n, vendor)
	fmt.Fprintf(&b, "                - model: %s\n", model)
	if ram != "" {
		fmt.Fprintf(&b, "                  ram: %s\n", ram)
	}
	fmt.Fprintf(&b, "                  interface: %s\n", gpuIface)
	fmt.Fprintf(&b, "  placement:\n    akash:\n      pricing:\n        gpu:\n          denom: %s\n          amount: %d\n", Denom, ceiling)
	b.WriteString("deployment:\n  gpu:\n    akash:\n      profile: gpu\n      count: 1\n")
	return b.String(), nil
}

type bid struct {
	Bid struct {
		ID struct {
			DSeq     string `json:"dseq"`
			GSeq     int    `json:"gseq"`
			OSeq     int    `json:"oseq"`
			Provider string `json:"provider"`
		} `json:"id"`
		State string `json:"state"`
		Price struct {
			Denom  string `json:"denom"`
			Amount string `json:"amount"`
		} `json:"price"`
	} `json:"bid"`
}

// Create posts the deployment, waits for bids, leases the cheapest and
// sends the manifest.
func (a *Adapter) Create(ctx context.Context, req providers.CreateRequest) (providers.Instance, error) {
	if req.Spot {
		return providers.Instance{}, providers.Unsupported(ID, "create spot")
	}
	sdl, err := SDL(req)
	if err != nil {
		return providers.Instance{}, err
	}
	var dep struct {
		Data struct {
			DSeq     string `json:"dseq"`
			Manifest string `json:"manifest"`
		} `json:"data"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "create deployment", Method: http.MethodPost, Path: "/v1/deployments",
		Body: map[string]any{"data": map[string]any{"sdl": sdl, "deposit": DepositUSD}}}, &dep); err != nil {
		return providers.Instance{}, err
	}
	dseq := dep.Data.DSeq
	if dseq == "" {
		return providers.Instance{}, providers.BadResponse(ID, "create deployment", "no dseq in answer")
	}
	best, err := a.cheapestBid(ctx, dseq)
	if err != nil {
		a.closeQuietly(dseq)
		return providers.Instance{}, err
	}
	lease := map[string]any{"dseq": dseq, "gseq": best.Bid.ID.GSeq, "oseq": best.Bid.ID.OSeq, "provider": best.Bid.ID.Provider}
	if _, err := a.C.Do(ctx, providers.Request{Op: "create lease", Method: http.MethodPost, Path: "/v1/leases",
		Body: map[string]any{"manifest": dep.Data.Manifest, "leases": []any{lease}}}, nil); err != nil {
		a.closeQuietly(dseq)
		return providers.Instance{}, err
	}
	return providers.Instance{ID: dseq, Provider: ID, SKU: req.Offer.SKU, Region: Region, State: providers.StatePending,
		PriceHour: bidHourly(best.Bid.Price.Amount, req.Offer.PriceHour)}, nil
}

// bidHourly turns a per-block bid in micro-dollars into USD per hour; an
// unreadable amount keeps the offer's price.
func bidHourly(amount string, fallback float64) float64 {
	v, err := strconv.ParseFloat(amount, 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return fallback
	}
	return math.Round(v*BlocksPerHour/1e6*1000) / 1000
}

// cheapestBid polls the deployment's bids until an open one arrives or
// BidWait passes.
func (a *Adapter) cheapestBid(ctx context.Context, dseq string) (bid, error) {
	deadline := time.Now().Add(a.BidWait)
	for {
		var out struct {
			Data []bid `json:"data"`
		}
		if _, err := a.C.Do(ctx, providers.Request{Op: "list bids", Path: "/v1/bids", Query: url.Values{"dseq": {dseq}}}, &out); err != nil {
			return bid{}, err
		}
		var open []bid
		for _, b := range out.Data {
			if b.Bid.State == "open" && b.Bid.ID.Provider != "" && b.Bid.Price.Denom == Denom {
				open = append(open, b)
			}
		}
		if len(open) > 0 {
			sort.SliceStable(open, func(i, j int) bool {
				x, _ := strconv.ParseFloat(open[i].Bid.Price.Amount, 64)
				y, _ := strconv.ParseFloat(open[j].Bid.Price.Amount, 64)
				return x < y
			})
			return open[0], nil
		}
		if time.Now().Add(a.BidPoll).After(deadline) {
			return bid{}, &providers.Error{Provider: ID, Op: "list bids", Kind: providers.KindNoCapacity,
				Message: "no provider bid on deployment " + dseq + " within " + a.BidWait.String()}
		}
		select {
		case <-ctx.Done():
			return bid{}, &providers.Error{Provider: ID, Op: "list bids", Kind: providers.KindUnavailable, Err: ctx.Err()}
		case <-time.After(a.BidPoll):
		}
	}
}

// closeQuietly closes a deployment that could not be leased, so its
// deposit returns; a failure here leaves the original error to report.
func (a *Adapter) closeQuietly(dseq string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = a.Terminate(ctx, dseq)
}

// Start is not possible: a lease cannot be resumed once closed.
func (a *Adapter) Start(context.Context, string) error { return providers.Unsupported(ID, "start") }

// Stop is not possible: a lease runs until its deployment is closed.
func (a *Adapter) Stop(context.Context, string) error { return providers.Unsupported(ID, "stop") }

// Terminate closes the deployment.
func (a *Adapter) Terminate(ctx context.Context, dseq string) error {
	_, err := a.C.Do(ctx, providers.Request{Op: "close deployment", Method: http.MethodDelete, Path: "/v1/deployments/" + url.PathEscape(dseq)}, nil)
	return err
}

// Instance reads the deployment and its lease; the SSH address is the
// port the provider forwards to the service's port 22.
func (a *Adapter) Instance(ctx context.Context, dseq string) (providers.Instance, error) {
	var out struct {
		Data struct {
			Deployment struct {
				State string `json:"state"`
			} `json:"deployment"`
			Leases []struct {
				State string `json:"state"`
				Price struct {
					Amount string `json:"amount"`
				} `json:"price"`
				Status *struct {
					ForwardedPorts map[string][]struct {
						Host         string `json:"host"`
						Port         int    `json:"port"`
						ExternalPort int    `json:"externalPort"`
					} `json:"forwarded_ports"`
				} `json:"status"`
			} `json:"leases"`
		} `json:"data"`
	}
	if _, err := a.C.Do(ctx, providers.Request{Op: "get deployment", Path: "/v1/deployments/" + url.PathEscape(dseq)}, &out); err != nil {
		return providers.Instance{}, err
	}
	in := providers.Instance{ID: dseq, Provider: ID, Region: Region, State: providers.StateUnknown}
	d := out.Data
	switch {
	case d.Deployment.State == "closed":
		in.State = providers.StateTerminated
	case len(d.Leases) == 0:
		in.State = providers.StatePending
	case d.Leases[0].State == "active" && d.Leases[0].Status != nil:
		in.State = providers.StatePending
		for _, ports := range d.Leases[0].Status.ForwardedPorts {
			for _, p := range ports {
				if p.Port == 22 && p.Host != "" {
					in.PublicIP, in.SSHPort, in.State = p.Host, p.ExternalPort, providers.StateRunning
				}
			}
		}
	case d.Leases[0].State == "active":
		in.State = providers.StatePending
	case d.Leases[0].State == "closed" || d.Leases[0].State == "insufficient_funds":
		in.State = providers.StateTerminated
	}
	if len(d.Leases) > 0 {
		in.PriceHour = bidHourly(d.Leases[0].Price.Amount, 0)
	}
	return in, nil
}
