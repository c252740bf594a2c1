package providers

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Availability says whether a provider can start an offer now.
type Availability string

// The availability levels an offer can have.
const (
	Available Availability = "available"
	Limited   Availability = "limited"
	None      Availability = "none"
)

// Availabilities lists the valid availability values, best first.
var Availabilities = []Availability{Available, Limited, None}

// Rank orders availability for sorting and ranking: 2 available, 1 limited,
// 0 none.
func (a Availability) Rank() int {
	switch a {
	case Available:
		return 2
	case Limited:
		return 1
	}
	return 0
}

// Offer is one normalized provider offer: a machine shape in a region at a
// price. Every adapter maps its provider's answer onto this one schema.
type Offer struct {
	// ID is stable across refreshes: the same provider, SKU and region
	// always give the same ID (see OfferID).
	ID       string `json:"id"`
	Provider string `json:"provider"`
	// SKU is the provider's own name for the shape (instance type, GPU
	// type id, bundle id), used to create an instance.
	SKU string `json:"sku"`
	// GPU is the canonical GPU model (see GPUModels), or the provider's
	// spelling prefixed "unknown:" when no mapping matched.
	GPU         string  `json:"gpu"`
	GPUCount    int     `json:"gpu_count"`
	GPUMemoryGB int     `json:"gpu_memory_gb"`
	VCPU        int     `json:"vcpu"`
	RAMGB       float64 `json:"ram_gb"`
	DiskGB      int     `json:"disk_gb"`
	Region      string  `json:"region"`
	Zone        string  `json:"zone,omitempty"`
	// Interconnect is the GPU-to-GPU link where the provider tells it
	// (nvlink, pcie, infiniband).
	Interconnect string `json:"interconnect,omitempty"`
	// PriceHour is the on-demand price of the whole machine in USD per hour.
	PriceHour float64 `json:"price_hour"`
	// SpotPriceHour is the interruptible price in USD per hour; zero when
	// the provider sells no spot capacity for this shape.
	SpotPriceHour float64      `json:"spot_price_hour,omitempty"`
	Availability  Availability `json:"availability"`
	// AvailableCount is how many machines the provider says it can start,
	// when it says; -1 when it does not.
	AvailableCount int       `json:"available_count"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// OfferID derives the stable offer identifier from the provider, the
// provider's SKU and the region: a short, URL-safe, lower-case string that
// starts with the provider id so people can read where it comes from.
func OfferID(provider, sku, region string) string {
	sum := sha256.Sum256([]byte(provider + "\x00" + sku + "\x00" + region))
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:10])
	return provider + "-" + strings.ToLower(enc)
}

// Normalize fills what an adapter may leave out: the ID, the per-GPU memory
// from the canonical model, availability and the timestamp.
func (o *Offer) Normalize(now time.Time) {
	if o.ID == "" {
		o.ID = OfferID(o.Provider, o.SKU, o.Region)
	}
	if o.GPUMemoryGB == 0 {
		if m, ok := LookupGPU(o.GPU); ok {
			o.GPUMemoryGB = m.MemoryGB
		}
	}
	if o.Availability == "" {
		o.Availability = Available
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = now
	}
}

// PricePerGPUHour is the on-demand price divided by the GPU count.
func (o *Offer) PricePerGPUHour() float64 {
	if o.GPUCount <= 0 {
		return o.PriceHour
	}
	return o.PriceHour / float64(o.GPUCount)
}

// TFLOPS is the offer's dense FP16/BF16 throughput: the model's figure
// times the GPU count; zero for unknown models.
func (o *Offer) TFLOPS() float64 {
	m, ok := LookupGPU(o.GPU)
	if !ok {
		return 0
	}
	return m.TFLOPS * float64(o.GPUCount)
}

// PricePerformance is TFLOPS per USD per hour: higher is better; zero when
// either side is unknown.
func (o *Offer) PricePerformance() float64 {
	t := o.TFLOPS()
	if t == 0 || o.PriceHour <= 0 {
		return 0
	}
	return t / o.PriceHour
}

// Validate reports the first way the offer breaks the normalized schema.
func (o *Offer) Validate() error {
	switch {
	case o.ID == "":
		return errors.New("no id")
	case o.Provider == "":
		return errors.New("no provider")
	case o.SKU == "":
		return errors.New("no sku")
	case o.GPU == "":
		return errors.New("no gpu model")
	case o.GPUCount <= 0:
		return fmt.Errorf("gpu count %d", o.GPUCount)
	case o.Region == "":
		return errors.New("no region")
	case !(o.PriceHour > 0) || math.IsInf(o.PriceHour, 0):
		return fmt.Errorf("price %v", o.PriceHour)
	case o.SpotPriceHour < 0 || math.IsNaN(o.SpotPriceHour):
		return fmt.Errorf("spot price %v", o.SpotPriceHour)
	case o.Availability.Rank() == 0 && o.Availability != None:
		return fmt.Errorf("availability %q", o.Availability)
	case o.GPUMemoryGB < 0 || o.VCPU < 0 || o.RAMGB < 0 || o.DiskGB < 0:
		return errors.New("negative size")
	}
	return nil
}

// ProviderOfOffer is the provider an offer id (OfferID) belongs to: the
// longest supported provider id it starts with, or "" for none.
func ProviderOfOffer(offerID string) string {
	best := ""
	for _, p := range Supported {
		if strings.HasPrefix(offerID, p.ID+"-") && len(p.ID) > len(best) {
			best = p.ID
		}
	}
	return best
}
