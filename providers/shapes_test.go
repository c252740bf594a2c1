package providers

import (
	"reflect"
	"slices"
	"testing"

	"github.com/gpubroker/pod/fault"
)

var shapes = Shapes{
	GPUCounts: []int{1, 2, 4, 8},
	VCPU:      Range{4, 192},
	RAMGiB:    Range{16, 2048},
	DiskGiB:   Range{20, 16384},
	Regions:   []string{"us-east-1", "eu-west-1"},
}

func TestCheckNamesEveryBrokenLimitByField(t *testing.T) {
	tests := []struct {
		name                  string
		gpus, vcpu, ram, disk int
		region                string
		want                  []fault.Problem
	}{
		{"a configuration within every limit fits", 8, 192, 2048, 100, "us-east-1", nil},
		{"the smallest machine at the smallest disk fits", 1, 4, 16, 20, "eu-west-1", nil},
		{"no region means any region", 2, 8, 32, 100, "", nil},
		{"a GPU count not sold lists the counts sold", 3, 8, 32, 100, "",
			[]fault.Problem{{Field: "gpu_count", Message: "want 1, 2, 4 or 8 GPUs per machine"}}},
		{"too many vCPUs names the range", 1, 193, 32, 100, "",
			[]fault.Problem{{Field: "vcpu", Message: "want 4 to 192 vCPUs per machine"}}},
		{"too few vCPUs names the range", 1, 2, 32, 100, "",
			[]fault.Problem{{Field: "vcpu", Message: "want 4 to 192 vCPUs per machine"}}},
		{"too much RAM names the range", 1, 8, 4096, 100, "",
			[]fault.Problem{{Field: "ram_gib", Message: "want 16 to 2048 GiB of RAM per machine"}}},
		{"too small a disk names the range", 1, 8, 32, 10, "",
			[]fault.Problem{{Field: "disk_gib", Message: "want a disk of 20 to 16384 GiB"}}},
		{"an unknown region lists the valid ones", 1, 8, 32, 100, "mars-1",
			[]fault.Problem{{Field: "region", Message: `unknown region "mars-1"; valid: us-east-1, eu-west-1`}}},
		{"every broken limit is answered at once", 16, 512, 8192, 20000, "mars-1", []fault.Problem{
			{Field: "gpu_count", Message: "want 1, 2, 4 or 8 GPUs per machine"},
			{Field: "vcpu", Message: "want 4 to 192 vCPUs per machine"},
			{Field: "ram_gib", Message: "want 16 to 2048 GiB of RAM per machine"},
			{Field: "disk_gib", Message: "want a disk of 20 to 16384 GiB"},
			{Field: "region", Message: `unknown region "mars-1"; valid: us-east-1, eu-west-1`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check(shapes, tt.gpus, tt.vcpu, tt.ram, tt.disk, tt.region)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Check = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCountsReadAsASentence(t *testing.T) {
	for _, tt := range []struct {
		counts []int
		want   string
	}{
		{[]int{1}, "1"},
		{[]int{1, 8}, "1 or 8"},
		{[]int{1, 2}, "1 or 2"},
		{[]int{1, 2, 4, 8}, "1, 2, 4 or 8"},
		{[]int{1, 2, 3, 4, 5}, "1 to 5"},
		{[]int{1, 2, 3, 4, 8}, "1 to 4 or 8"},
		{[]int{1, 2, 4, 5, 6, 8, 16}, "1, 2, 4 to 6, 8 or 16"},
		{nil, ""},
	} {
		if got := sayCounts(tt.counts); got != tt.want {
			t.Errorf("sayCounts(%v) = %q, want %q", tt.counts, got, tt.want)
		}
	}
	if got := CountsFrom(1, 4); !reflect.DeepEqual(got, []int{1, 2, 3, 4}) {
		t.Errorf("CountsFrom(1, 4) = %v", got)
	}
}

func TestValidateRefusesMalformedShapes(t *testing.T) {
	change := func(f func(*Shapes)) Shapes {
		s := shapes
		s.GPUCounts = append([]int(nil), shapes.GPUCounts...)
		s.Regions = append([]string(nil), shapes.Regions...)
		f(&s)
		return s
	}
	tests := []struct {
		name  string
		s     Shapes
		valid bool
	}{
		{"well-formed shapes are valid", shapes, true},
		{"one GPU count and one region are enough", change(func(s *Shapes) { s.GPUCounts, s.Regions = []int{1}, []string{"global"} }), true},
		{"a range of one size is valid", change(func(s *Shapes) { s.VCPU = Range{8, 8} }), true},
		{"no GPU counts", change(func(s *Shapes) { s.GPUCounts = nil }), false},
		{"a zero GPU count", change(func(s *Shapes) { s.GPUCounts = []int{0, 1} }), false},
		{"GPU counts out of order", change(func(s *Shapes) { s.GPUCounts = []int{8, 1} }), false},
		{"a GPU count repeated", change(func(s *Shapes) { s.GPUCounts = []int{1, 1} }), false},
		{"a zero minimum", change(func(s *Shapes) { s.RAMGiB = Range{0, 16} }), false},
		{"a minimum above the maximum", change(func(s *Shapes) { s.DiskGiB = Range{100, 10} }), false},
		{"an unset range", change(func(s *Shapes) { s.VCPU = Range{} }), false},
		{"no regions", change(func(s *Shapes) { s.Regions = nil }), false},
		{"a region repeated", change(func(s *Shapes) { s.Regions = []string{"a", "a"} }), false},
		{"an empty region", change(func(s *Shapes) { s.Regions = []string{""} }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(); (err == nil) != tt.valid {
				t.Fatalf("Validate = %v, want valid %v", err, tt.valid)
			}
		})
	}
}

func TestHoldsComparesWhatAnOfferStates(t *testing.T) {
	tests := []struct {
		name  string
		o     Offer
		field string
	}{
		{"an offer within the shapes holds", Offer{GPUCount: 8, VCPU: 192, RAMGB: 2048, DiskGB: 30400, Region: "us-east-1"}, ""},
		{"unknown vCPUs and RAM hold", Offer{GPUCount: 1, Region: "eu-west-1"}, ""},
		{"RAM is rounded to a whole GiB", Offer{GPUCount: 1, VCPU: 4, RAMGB: 15.7, Region: "eu-west-1"}, ""},
		{"the machine's own disk is not the attachable disk", Offer{GPUCount: 1, VCPU: 4, RAMGB: 16, DiskGB: 1 << 20, Region: "eu-west-1"}, ""},
		{"a GPU count not declared", Offer{GPUCount: 3, VCPU: 4, RAMGB: 16, Region: "eu-west-1"}, "gpu_count"},
		{"more vCPUs than declared", Offer{GPUCount: 1, VCPU: 208, RAMGB: 16, Region: "eu-west-1"}, "vcpu"},
		{"less RAM than declared", Offer{GPUCount: 1, VCPU: 4, RAMGB: 8, Region: "eu-west-1"}, "ram_gib"},
		{"a region not declared", Offer{GPUCount: 1, VCPU: 4, RAMGB: 16, Region: "ap-south-1"}, "region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shapes.Holds(tt.o)
			switch {
			case tt.field == "" && len(got) > 0:
				t.Fatalf("Holds = %v, want none", got)
			case tt.field != "" && (len(got) != 1 || got[0].Field != tt.field):
				t.Fatalf("Holds = %v, want one problem with %s", got, tt.field)
			}
		})
	}
}

func TestSpanIsTheNarrowestHoldingEveryMachine(t *testing.T) {
	offers := []Offer{
		{GPUCount: 8, VCPU: 192, RAMGB: 2048, Region: "us-west-2"},
		{GPUCount: 1, VCPU: 4, RAMGB: 15.6, Region: "us-east-1"},
		{GPUCount: 1, Region: "us-west-2"}, // states no vCPUs or RAM
		{GPUCount: 4, VCPU: 48, RAMGB: 192, Region: "us-east-1"},
	}
	disk := Range{1, 100}
	got := Span(slices.Values(offers), OfferMachine, disk, nil)
	want := Shapes{GPUCounts: []int{1, 4, 8}, VCPU: Range{4, 192}, RAMGiB: Range{16, 2048}, DiskGiB: disk,
		Regions: []string{"us-east-1", "us-west-2"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Span = %+v, want %+v", got, want)
	}
	for _, o := range offers {
		if ps := got.Holds(o); len(ps) > 0 {
			t.Errorf("offer %+v: %v", o, ps)
		}
	}
	regions := []string{"eu-west-1"}
	if got := Span(slices.Values(offers), OfferMachine, disk, regions); !reflect.DeepEqual(got.Regions, regions) {
		t.Errorf("given regions = %v, want %v", got.Regions, regions)
	}
}
