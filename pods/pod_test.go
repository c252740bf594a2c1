package pods

import (
	"strings"
	"testing"

	"github.com/gpubroker/pod/fault"
)

func TestAConfigurationNamesEveryBrokenField(t *testing.T) {
	good := Config{Name: "train-1", GPU: "H100-SXM-80GB", GPUCount: 8, Provider: Auto, VCPU: 208, RAMGiB: 1800, DiskGiB: 1000,
		Image: "pytorch-2.5-cuda12.4", Pricing: OnDemand}
	if err := good.Validate(); err != nil {
		t.Fatalf("a good configuration: %v", err)
	}
	cases := []struct {
		name   string
		edit   func(*Config)
		fields []string
		says   string
	}{
		{"a name with capitals", func(c *Config) { c.Name = "Train" }, []string{"name"}, "lower-case"},
		{"an unknown GPU lists the valid ones", func(c *Config) { c.GPU = "H900" }, []string{"gpu"}, "A100-SXM-80GB"},
		{"no GPUs", func(c *Config) { c.GPUCount = 0 }, []string{"gpu_count"}, "1 to 16"},
		{"an unknown image lists the valid ones", func(c *Config) { c.Image = "windows" }, []string{"image"}, "vllm-0.6"},
		{"a disk too small for the image", func(c *Config) { c.Image, c.DiskGiB = "vllm-0.6", 50 }, []string{"disk_gib"}, "80 GiB"},
		{"an unknown pricing", func(c *Config) { c.Pricing = "reserved" }, []string{"pricing"}, "on_demand or spot"},
		{"every broken field at once", func(c *Config) { *c = Config{} }, []string{"name", "gpu", "gpu_count", "provider", "vcpu", "ram_gib", "image", "pricing"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.edit(&cfg)
			fe, ok := fault.As(cfg.Validate())
			if !ok || fe.Kind != fault.KindInvalid || len(fe.Problems) != len(c.fields) {
				t.Fatalf("Validate = %v; want problems with %v", cfg.Validate(), c.fields)
			}
			for i, f := range c.fields {
				if fe.Problems[i].Field != f {
					t.Errorf("problem %d names %q, want %q", i, fe.Problems[i].Field, f)
				}
			}
			if !strings.Contains(fe.Error(), c.says) {
				t.Errorf("%q does not say %q", fe.Error(), c.says)
			}
		})
	}
}
