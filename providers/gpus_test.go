package providers

import "testing"

func TestCanonicalGPUMapsEverySpellingSeen(t *testing.T) {
	cases := []struct {
		raw  string
		mem  int
		want string
	}{
		{"H100 SXM", 0, "H100-SXM-80GB"},
		{"NVIDIA H100 80GB HBM3", 0, "H100-SXM-80GB"},
		{"1x H100 (80 GB SXM5)", 0, "H100-SXM-80GB"},
		{"H100 (80 GB PCIe)", 0, "H100-PCIE-80GB"},
		{"H100 PCIE", 0, "H100-PCIE-80GB"},
		{"H100 NVL", 0, "H100-NVL-94GB"},
		{"NVIDIA H100 NVL", 94, "H100-NVL-94GB"},
		{"H100-80GB", 0, "H100-SXM-80GB"},
		{"nvidia-h100-80gb", 0, "H100-SXM-80GB"},
		{"H200", 0, "H200-SXM-141GB"},
		{"NVIDIA H200 NVL", 0, "H200-NVL-141GB"},
		{"GH200 (96 GB)", 0, "GH200-SXM-96GB"},
		{"B200", 0, "B200-SXM-180GB"},
		{"A100 PCIE", 40, "A100-PCIE-40GB"},
		{"A100 SXM4", 80, "A100-SXM-80GB"},
		{"A100 (40 GB SXM4)", 0, "A100-SXM-40GB"},
		{"NVIDIA A100 80GB PCIe", 0, "A100-PCIE-80GB"},
		{"nvidia-tesla-a100", 0, "A100-SXM-80GB"},
		{"A100X", 80, "A100-SXM-80GB"},
		{"A10G", 0, "A10G-PCIE-24GB"},
		{"A10 (24 GB PCIe)", 0, "A10-PCIE-24GB"},
		{"nvidia-l4", 0, "L4-PCIE-24GB"},
		{"L40S", 0, "L40S-PCIE-48GB"},
		{"NVIDIA L40", 0, "L40-PCIE-48GB"},
		{"A40", 0, "A40-PCIE-48GB"},
		{"RTX A6000", 0, "RTX-A6000-48GB"},
		{"NVIDIA RTX A6000", 0, "RTX-A6000-48GB"},
		{"RTX 6000 Ada", 0, "RTX-6000-ADA-48GB"},
		{"NVIDIA RTX 6000 Ada Generation", 0, "RTX-6000-ADA-48GB"},
		{"RTX 4090", 0, "RTX-4090-24GB"},
		{"NVIDIA GeForce RTX 4090", 0, "RTX-4090-24GB"},
		{"RTX 3090", 0, "RTX-3090-24GB"},
		{"RTX 5090", 0, "RTX-5090-32GB"},
		{"Tesla V100", 16, "V100-SXM-16GB"},
		{"Tesla V100-SXM2-32GB", 0, "V100-SXM-32GB"},
		{"V100 PCIE 16GB", 0, "V100-PCIE-16GB"},
		{"Tesla T4", 0, "T4-PCIE-16GB"},
		{"nvidia-tesla-t4", 0, "T4-PCIE-16GB"},
		{"MI300X", 0, "MI300X-OAM-192GB"},
		{"geforcertx4090-pcie-24gb", 0, "RTX-4090-24GB"},
		{"rtxa6000-pcie-48gb", 0, "RTX-A6000-48GB"},
		{"teslat4-pcie-16gb", 0, "T4-PCIE-16GB"},
		{"AMD Instinct MI300X", 192, "MI300X-OAM-192GB"},
	}
	for _, c := range cases {
		got, ok := CanonicalGPU(c.raw, c.mem)
		if !ok || got != c.want {
			t.Errorf("CanonicalGPU(%q, %d) = %q, %v; want %q", c.raw, c.mem, got, ok, c.want)
		}
		if _, ok := LookupGPU(got); ok != true {
			t.Errorf("%q maps to %q, which is not in the table", c.raw, got)
		}
	}
	for _, raw := range []string{"", "CPU only", "Radeon 7900", "8x"} {
		if got, ok := CanonicalGPU(raw, 0); ok {
			t.Errorf("CanonicalGPU(%q) = %q, want no match", raw, got)
		}
	}
	if got := MustCanonicalGPU("Quadro K80", 0); got != "unknown:Quadro K80" {
		t.Errorf("unmapped spelling = %q", got)
	}
}

func TestOfferIDIsStableAndDistinct(t *testing.T) {
	a := OfferID("lambda", "gpu_1x_a100", "us-east-1")
	if a != OfferID("lambda", "gpu_1x_a100", "us-east-1") {
		t.Fatal("same inputs gave different ids")
	}
	if a == OfferID("lambda", "gpu_1x_a100", "us-west-1") || a == OfferID("vastai", "gpu_1x_a100", "us-east-1") {
		t.Fatal("different inputs gave the same id")
	}
	if len(a) != len("lambda-")+16 {
		t.Errorf("id %q", a)
	}
}

func TestAnOfferIDNamesItsProvider(t *testing.T) {
	for _, p := range Supported {
		id := OfferID(p.ID, "sku-1", "region-1")
		if got := ProviderOfOffer(id); got != p.ID {
			t.Errorf("ProviderOfOffer(%s) = %q, want %q", id, got, p.ID)
		}
	}
	if got := ProviderOfOffer("nobody-abc"); got != "" {
		t.Errorf("an unknown prefix gave %q", got)
	}
}
