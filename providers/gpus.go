package providers

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// GPUModel is one canonical GPU: family, form factor and memory, with the
// dense FP16/BF16 tensor throughput from the vendor's data sheet (without
// sparsity), used for price/performance.
type GPUModel struct {
	Name     string  `json:"name"`
	Vendor   string  `json:"vendor"`
	Family   string  `json:"family"`
	Form     string  `json:"form"`
	MemoryGB int     `json:"memory_gb"`
	TFLOPS   float64 `json:"tflops"`
}

// GPUModels is the canonical table. A name is FAMILY-FORM-MEMORYGB; the
// first model of a family is the one a bare family name maps to. TFLOPS
// are dense FP16/BF16 tensor figures from NVIDIA's and AMD's product data
// sheets (half the "with sparsity" figure where the sheet gives only that).
var GPUModels = []GPUModel{
	{"B200-SXM-180GB", "nvidia", "B200", "SXM", 180, 2250},
	{"GH200-SXM-96GB", "nvidia", "GH200", "SXM", 96, 989},
	{"H200-SXM-141GB", "nvidia", "H200", "SXM", 141, 989},
	{"H200-NVL-141GB", "nvidia", "H200", "NVL", 141, 835},
	{"H100-SXM-80GB", "nvidia", "H100", "SXM", 80, 989},
	{"H100-PCIE-80GB", "nvidia", "H100", "PCIE", 80, 756},
	{"H100-NVL-94GB", "nvidia", "H100", "NVL", 94, 835},
	{"A100-SXM-80GB", "nvidia", "A100", "SXM", 80, 312},
	{"A100-SXM-40GB", "nvidia", "A100", "SXM", 40, 312},
	{"A100-PCIE-80GB", "nvidia", "A100", "PCIE", 80, 312},
	{"A100-PCIE-40GB", "nvidia", "A100", "PCIE", 40, 312},
	{"L40S-PCIE-48GB", "nvidia", "L40S", "PCIE", 48, 362},
	{"L40-PCIE-48GB", "nvidia", "L40", "PCIE", 48, 181},
	{"L4-PCIE-24GB", "nvidia", "L4", "PCIE", 24, 121},
	{"A40-PCIE-48GB", "nvidia", "A40", "PCIE", 48, 150},
	{"A10-PCIE-24GB", "nvidia", "A10", "PCIE", 24, 125},
	{"A10G-PCIE-24GB", "nvidia", "A10G", "PCIE", 24, 70},
	{"RTX-6000-ADA-48GB", "nvidia", "RTX6000ADA", "PCIE", 48, 364},
	{"RTX-A6000-48GB", "nvidia", "A6000", "PCIE", 48, 155},
	{"RTX-A5000-24GB", "nvidia", "A5000", "PCIE", 24, 111},
	{"RTX-A4000-16GB", "nvidia", "A4000", "PCIE", 16, 77},
	{"RTX-5090-32GB", "nvidia", "5090", "PCIE", 32, 210},
	{"RTX-4090-24GB", "nvidia", "4090", "PCIE", 24, 165},
	{"RTX-3090-24GB", "nvidia", "3090", "PCIE", 24, 71},
	{"V100-SXM-16GB", "nvidia", "V100", "SXM", 16, 125},
	{"V100-SXM-32GB", "nvidia", "V100", "SXM", 32, 125},
	{"V100-PCIE-16GB", "nvidia", "V100", "PCIE", 16, 112},
	{"V100-PCIE-32GB", "nvidia", "V100", "PCIE", 32, 112},
	{"T4-PCIE-16GB", "nvidia", "T4", "PCIE", 16, 65},
	{"P100-PCIE-16GB", "nvidia", "P100", "PCIE", 16, 19},
	{"MI300X-OAM-192GB", "amd", "MI300X", "OAM", 192, 1307},
	{"MI325X-OAM-256GB", "amd", "MI325X", "OAM", 256, 1307},
}

var gpuByName = func() map[string]GPUModel {
	m := make(map[string]GPUModel, len(GPUModels))
	for _, g := range GPUModels {
		m[g.Name] = g
	}
	return m
}()

// LookupGPU returns the canonical model with that exact name.
func LookupGPU(name string) (GPUModel, bool) {
	g, ok := gpuByName[name]
	return g, ok
}

// gpuNames is every canonical name, sorted, built once.
var gpuNames = func() []string {
	out := make([]string, 0, len(GPUModels))
	for _, g := range GPUModels {
		out = append(out, g.Name)
	}
	sort.Strings(out)
	return out
}()

// GPUNames lists every canonical name, sorted.
func GPUNames() []string { return slices.Clone(gpuNames) }

// IsGPU reports whether name is a canonical GPU model.
func IsGPU(name string) bool {
	_, ok := gpuByName[name]
	return ok
}

// Unknown marks a GPU no mapping matched; the provider's own spelling
// follows so the offer is still shown and the gap can be fixed.
const Unknown = "unknown:"

// CanonicalGPU maps a provider's spelling of a GPU ("H100 SXM", "NVIDIA
// H100 80GB HBM3", "1x H100 (80 GB SXM5)", "nvidia-tesla-a100", "RTX 4090")
// to a canonical model name. memGB, when not zero, is the per-GPU memory the
// provider reports elsewhere and picks the variant when the spelling does
// not. It returns false when no family matches.
func CanonicalGPU(raw string, memGB int) (string, bool) {
	toks := gpuTokens(raw)
	family := gpuFamily(toks)
	if family == "" {
		return "", false
	}
	form := ""
	mem := 0
	for i, t := range toks {
		switch {
		case strings.HasPrefix(t, "SXM") || t == "HGX" || t == "HBM3" || t == "HBM3E":
			if form == "" {
				form = "SXM"
			}
		case t == "NVL":
			form = "NVL"
		case t == "PCIE" || t == "PCI":
			form = "PCIE"
		case t == "OAM":
			form = "OAM"
		}
		if n, ok := memToken(t, toks, i); ok && mem == 0 {
			mem = n
		}
	}
	if mem == 0 {
		mem = memGB
	}
	return pickVariant(family, form, mem), true
}

// MustCanonicalGPU is CanonicalGPU that falls back to the Unknown form.
func MustCanonicalGPU(raw string, memGB int) string {
	if name, ok := CanonicalGPU(raw, memGB); ok {
		return name
	}
	return Unknown + strings.TrimSpace(raw)
}

func gpuTokens(raw string) []string {
	up := strings.ToUpper(raw)
	return strings.FieldsFunc(up, func(r rune) bool {
		return (r < 'A' || r > 'Z') && (r < '0' || r > '9')
	})
}

// familyTokens maps a token to a family; longer names are matched first by
// being distinct tokens, so L40S, L40 and L4 never shadow each other.
var familyTokens = map[string]string{
	"B200": "B200", "GH200": "GH200", "H200": "H200", "H100": "H100",
	"A100": "A100", "L40S": "L40S", "L40": "L40", "L4": "L4", "A40": "A40",
	"A10": "A10", "A10G": "A10G", "A6000": "A6000", "A5000": "A5000", "A4000": "A4000",
	"5090": "5090", "4090": "4090", "3090": "3090", "V100": "V100", "T4": "T4",
	"P100": "P100", "MI300X": "MI300X", "MI325X": "MI325X",
	"RTX4090": "4090", "RTX3090": "3090", "RTX5090": "5090", "RTXA6000": "A6000",
	"RTXA5000": "A5000", "RTXA4000": "A4000", "6000ADA": "RTX6000ADA",
	"H100SXM": "H100", "H100NVL": "H100", "H100PCIE": "H100", "A100SXM": "A100",
	"A100PCIE": "A100", "H200SXM": "H200", "H200NVL": "H200",
}

func gpuFamily(toks []string) string {
	for i, t := range toks {
		if t == "6000" && i+1 < len(toks) && toks[i+1] == "ADA" {
			return "RTX6000ADA"
		}
		if t == "ADA" && i > 0 && toks[i-1] == "6000" {
			return "RTX6000ADA"
		}
	}
	for _, t := range toks {
		// Glued brand prefixes ("geforcertx4090", "rtxa6000", "teslat4").
		for _, p := range []string{"NVIDIA", "GEFORCE", "TESLA", "QUADRO", "RTX"} {
			if rest := strings.TrimPrefix(t, p); rest != t && rest != "" {
				if _, ok := familyTokens[rest]; ok || strings.HasPrefix(rest, "RTX") {
					t = rest
				}
			}
		}
		if f, ok := familyTokens[t]; ok {
			return f
		}
		// Tokens such as "A100X80GB" or "H100SXM5" glue family and suffix.
		for _, p := range []string{"GH200", "H200", "H100", "A100", "B200"} {
			if strings.HasPrefix(t, p) && len(t) > len(p) && !isDigit(t[len(p)]) {
				return p
			}
		}
	}
	return ""
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// memToken reads "80GB", "80G" or "80" followed by "GB".
func memToken(t string, toks []string, i int) (int, bool) {
	num := strings.TrimSuffix(strings.TrimSuffix(t, "GB"), "G")
	if num == t {
		if i+1 < len(toks) && (toks[i+1] == "GB" || toks[i+1] == "G") {
			num = t
		} else {
			return 0, false
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 8 || n > 512 {
		return 0, false
	}
	return n, true
}

func pickVariant(family, form string, mem int) string {
	var best GPUModel
	bestScore := -1
	for _, g := range GPUModels {
		if g.Family != family {
			continue
		}
		score := 0
		if form != "" && g.Form == form {
			score += 2
		}
		if mem != 0 && nearMem(g.MemoryGB, mem) {
			score += 3
		}
		if score > bestScore {
			best, bestScore = g, score
		}
	}
	return best.Name
}

// nearMem accepts the rounding providers apply (80 vs 81920 MB / 1024, 94
// vs 96 for H100 NVL, 141 vs 144 for H200).
func nearMem(model, got int) bool {
	d := model - got
	if d < 0 {
		d = -d
	}
	return d <= model/20+1
}
