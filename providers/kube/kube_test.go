package kube

import (
	"testing"

	"github.com/gpubroker/pod/providers"
)

func TestQuantity(t *testing.T) {
	for in, want := range map[string]float64{
		"128": 128, "2Gi": 2 << 30, "1536Mi": 1536 << 20, "2Ti": 2 << 40, "500m": 0.5, "4k": 4000,
		"": 0, "-1": 0, "lots": 0, "NaN": 0, "1e400": 0,
	} {
		if got := Quantity(in); got != want {
			t.Errorf("Quantity(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestGroupCountsFreeNodes(t *testing.T) {
	var g Group
	mk := func() providers.Offer {
		return providers.Offer{Provider: "p", GPU: "L4-PCIE-24GB", GPUCount: 1, PriceHour: 1}
	}
	g.Add(Node{Free: true}, "a:1", "r", mk)
	g.Add(Node{Free: true}, "a:1", "r", mk)
	g.Add(Node{Free: false}, "a:1", "r", mk)
	g.Add(Node{Free: true}, "b:1", "r", mk)
	g.Add(Node{Free: false}, "c:1", "r", mk)
	got := g.Offers()
	want := []struct {
		sku   string
		av    providers.Availability
		count int
	}{{"a:1", providers.Available, 2}, {"b:1", providers.Limited, 1}, {"c:1", providers.None, 0}}
	if len(got) != len(want) {
		t.Fatalf("%d offers", len(got))
	}
	for i, w := range want {
		if got[i].SKU != w.sku || got[i].Availability != w.av || got[i].AvailableCount != w.count {
			t.Errorf("offer %d = %s %s %d, want %+v", i, got[i].SKU, got[i].Availability, got[i].AvailableCount, w)
		}
	}
}

func TestSplitSKU(t *testing.T) {
	if c, n, err := SplitSKU("p", "NVIDIA-H100-80GB-HBM3:8"); err != nil || c != "NVIDIA-H100-80GB-HBM3" || n != 8 {
		t.Errorf("got %q %d %v", c, n, err)
	}
	for _, bad := range []string{"", ":8", "H100", "H100:0", "H100:x"} {
		if _, _, err := SplitSKU("p", bad); providers.KindOf(err) != providers.KindInvalid {
			t.Errorf("SplitSKU(%q) = %v, want invalid", bad, err)
		}
	}
}
