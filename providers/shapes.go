package providers

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gpubroker/pod/fault"
)

// Shapes are the machines a provider sells, as its documentation declares them: what a pod's configuration must fit before any offer is asked for.
type Shapes struct {
	GPUCounts []int    // GPU counts per machine the provider sells, ascending
	VCPU      Range    // per machine
	RAMGiB    Range    // per machine
	DiskGiB   Range    // attachable root/boot disk
	Regions   []string // region ids as the adapter's offers name them (Offer.Region)
}

// Range is an inclusive range of sizes.
type Range struct{ Min, Max int }

// Contains reports whether v lies within the range.
func (r Range) Contains(v int) bool { return r.Min <= v && v <= r.Max }

// Shaper is implemented by every adapter. The slices of the Shapes it
// returns may be shared: callers must not modify them.
type Shaper interface{ Shapes() Shapes }

// AnyDisk is the disk range of a provider that documents no disk limit
// (or whose adapter asks for no disk size, the machine's own disk serving
// the pod): nothing but the common ceiling of a cloud block volume
// (16 TiB) bounds a request.
var AnyDisk = Range{Min: 1, Max: 16384}

// Check lists, by field, every limit of s that a configuration breaks,
// each message naming the limit. Region "" means any region.
func Check(s Shapes, gpuCount, vcpu, ramGiB, diskGiB int, region string) []fault.Problem {
	var ps []fault.Problem
	bad := func(field, format string, args ...any) {
		ps = append(ps, fault.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !slices.Contains(s.GPUCounts, gpuCount) {
		bad("gpu_count", "want %s GPUs per machine", sayCounts(s.GPUCounts))
	}
	if !s.VCPU.Contains(vcpu) {
		bad("vcpu", "want %d to %d vCPUs per machine", s.VCPU.Min, s.VCPU.Max)
	}
	if !s.RAMGiB.Contains(ramGiB) {
		bad("ram_gib", "want %d to %d GiB of RAM per machine", s.RAMGiB.Min, s.RAMGiB.Max)
	}
	if !s.DiskGiB.Contains(diskGiB) {
		bad("disk_gib", "want a disk of %d to %d GiB", s.DiskGiB.Min, s.DiskGiB.Max)
	}
	if region != "" && !slices.Contains(s.Regions, region) {
		bad("region", "unknown region %q; valid: %s", region, strings.Join(s.Regions, ", "))
	}
	return ps
}

// sayCounts says which of an ascending list of counts are allowed, runs of
// consecutive counts as ranges: "1, 2, 4 or 8", "1 to 8", "1 to 4 or 8".
func sayCounts(counts []int) string {
	var parts []string
	for i := 0; i < len(counts); {
		j := i
		for j+1 < len(counts) && counts[j+1] == counts[j]+1 {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, strconv.Itoa(counts[i])+" to "+strconv.Itoa(counts[j]))
		case j > i:
			parts = append(parts, strconv.Itoa(counts[i]), strconv.Itoa(counts[j]))
		default:
			parts = append(parts, strconv.Itoa(counts[i]))
		}
		i = j + 1
	}
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// CountsFrom lists every count from lo to hi, for providers that sell
// each GPU count within a span.
func CountsFrom(lo, hi int) []int {
	out := make([]int, 0, max(0, hi-lo+1))
	for n := lo; n <= hi; n++ {
		out = append(out, n)
	}
	return out
}

// Validate reports the first way the shapes are malformed: no GPU counts,
// counts not positive and strictly ascending, a range not within
// 0 < Min <= Max, no regions or a region repeated.
func (s Shapes) Validate() error {
	if len(s.GPUCounts) == 0 {
		return errors.New("no gpu counts")
	}
	for i, n := range s.GPUCounts {
		if n <= 0 || (i > 0 && n <= s.GPUCounts[i-1]) {
			return fmt.Errorf("gpu counts %v are not positive and ascending", s.GPUCounts)
		}
	}
	for _, r := range []struct {
		name string
		Range
	}{{"vcpu", s.VCPU}, {"ram_gib", s.RAMGiB}, {"disk_gib", s.DiskGiB}} {
		if r.Min <= 0 || r.Min > r.Max {
			return fmt.Errorf("%s range %d to %d", r.name, r.Min, r.Max)
		}
	}
	if len(s.Regions) == 0 {
		return errors.New("no regions")
	}
	seen := map[string]bool{}
	for _, r := range s.Regions {
		if r == "" || seen[r] {
			return fmt.Errorf("region %q empty or repeated", r)
		}
		seen[r] = true
	}
	return nil
}

// Holds lists, by field, how an offer falls outside the shapes: its GPU
// count, vCPUs, RAM (rounded to a whole GiB) and region. vCPUs and RAM an
// offer leaves unknown (zero) hold; the offer's disk is the machine's
// own, not the attachable disk the shapes bound, so it is not compared.
func (s Shapes) Holds(o Offer) []fault.Problem {
	vcpu, ram := o.VCPU, int(math.Round(o.RAMGB))
	if vcpu == 0 {
		vcpu = s.VCPU.Min
	}
	if ram == 0 {
		ram = s.RAMGiB.Min
	}
	return Check(s, o.GPUCount, vcpu, ram, s.DiskGiB.Min, o.Region)
}

// Machine is one machine a provider sells, as its documentation or its
// listing sizes it: what Span spans shapes over.
type Machine struct {
	GPUs   int
	VCPU   int     // zero when unknown
	RAMGiB float64 // zero when unknown
	Region string  // "" when sold in every region of the shapes
}

// Span are the narrowest shapes holding every machine sold, each read by
// machine: their GPU counts, the span of the vCPUs and RAM they state,
// the attachable disk range (machines do not state one) and the regions
// given, or, when regions is nil, the machines' own.
func Span[T any](sold iter.Seq[T], machine func(T) Machine, disk Range, regions []string) Shapes {
	s := Shapes{DiskGiB: disk, Regions: regions}
	span := func(r *Range, v int) {
		if v <= 0 {
			return
		}
		if r.Min == 0 || v < r.Min {
			r.Min = v
		}
		r.Max = max(r.Max, v)
	}
	for t := range sold {
		m := machine(t)
		if !slices.Contains(s.GPUCounts, m.GPUs) {
			s.GPUCounts = append(s.GPUCounts, m.GPUs)
		}
		span(&s.VCPU, m.VCPU)
		span(&s.RAMGiB, int(math.Round(m.RAMGiB)))
		if regions == nil && m.Region != "" && !slices.Contains(s.Regions, m.Region) {
			s.Regions = append(s.Regions, m.Region)
		}
	}
	slices.Sort(s.GPUCounts)
	if regions == nil {
		slices.Sort(s.Regions)
	}
	return s
}

// OfferMachine reads an offer as the machine it sells.
func OfferMachine(o Offer) Machine {
	return Machine{GPUs: o.GPUCount, VCPU: o.VCPU, RAMGiB: o.RAMGB, Region: o.Region}
}
