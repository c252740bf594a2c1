// Package live lists the LIVE adapter of every provider, so the app can
// build a tenant's aggregator from the credentials the tenant has set. It
// holds no state and makes no calls itself.
package live

import (
	"sort"

	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/providers/akash"
	"github.com/gpubroker/pod/providers/aws"
	"github.com/gpubroker/pod/providers/azure"
	"github.com/gpubroker/pod/providers/coreweave"
	"github.com/gpubroker/pod/providers/crusoe"
	"github.com/gpubroker/pod/providers/cudo"
	"github.com/gpubroker/pod/providers/datacrunch"
	"github.com/gpubroker/pod/providers/fluidstack"
	"github.com/gpubroker/pod/providers/gcp"
	"github.com/gpubroker/pod/providers/genesiscloud"
	"github.com/gpubroker/pod/providers/hyperstack"
	"github.com/gpubroker/pod/providers/jarvislabs"
	"github.com/gpubroker/pod/providers/kubernetes"
	"github.com/gpubroker/pod/providers/lambda"
	"github.com/gpubroker/pod/providers/latitude"
	"github.com/gpubroker/pod/providers/oci"
	"github.com/gpubroker/pod/providers/ovhcloud"
	"github.com/gpubroker/pod/providers/paperspace"
	"github.com/gpubroker/pod/providers/runpod"
	"github.com/gpubroker/pod/providers/salad"
	"github.com/gpubroker/pod/providers/scaleway"
	"github.com/gpubroker/pod/providers/tensordock"
	"github.com/gpubroker/pod/providers/vastai"
	"github.com/gpubroker/pod/providers/vultr"
)

// constructors maps a provider id to its adapter's constructor.
func constructors() map[string]func(providers.Config) providers.Adapter {
	return map[string]func(providers.Config) providers.Adapter{
		akash.ID:        func(c providers.Config) providers.Adapter { return akash.New(c) },
		aws.ID:          func(c providers.Config) providers.Adapter { return aws.New(c) },
		azure.ID:        func(c providers.Config) providers.Adapter { return azure.New(c) },
		coreweave.ID:    func(c providers.Config) providers.Adapter { return coreweave.New(c) },
		crusoe.ID:       func(c providers.Config) providers.Adapter { return crusoe.New(c) },
		cudo.ID:         func(c providers.Config) providers.Adapter { return cudo.New(c) },
		datacrunch.ID:   func(c providers.Config) providers.Adapter { return datacrunch.New(c) },
		fluidstack.ID:   func(c providers.Config) providers.Adapter { return fluidstack.New(c) },
		gcp.ID:          func(c providers.Config) providers.Adapter { return gcp.New(c) },
		genesiscloud.ID: func(c providers.Config) providers.Adapter { return genesiscloud.New(c) },
		hyperstack.ID:   func(c providers.Config) providers.Adapter { return hyperstack.New(c) },
		jarvislabs.ID:   func(c providers.Config) providers.Adapter { return jarvislabs.New(c) },
		kubernetes.ID:   func(c providers.Config) providers.Adapter { return kubernetes.New(c) },
		lambda.ID:       func(c providers.Config) providers.Adapter { return lambda.New(c) },
		latitude.ID:     func(c providers.Config) providers.Adapter { return latitude.New(c) },
		oci.ID:          func(c providers.Config) providers.Adapter { return oci.New(c) },
		ovhcloud.ID:     func(c providers.Config) providers.Adapter { return ovhcloud.New(c) },
		paperspace.ID:   func(c providers.Config) providers.Adapter { return paperspace.New(c) },
		runpod.ID:       func(c providers.Config) providers.Adapter { return runpod.New(c) },
		salad.ID:        func(c providers.Config) providers.Adapter { return salad.New(c) },
		scaleway.ID:     func(c providers.Config) providers.Adapter { return scaleway.New(c) },
		tensordock.ID:   func(c providers.Config) providers.Adapter { return tensordock.New(c) },
		vastai.ID:       func(c providers.Config) providers.Adapter { return vastai.New(c) },
		vultr.ID:        func(c providers.Config) providers.Adapter { return vultr.New(c) },
	}
}

// New builds the LIVE adapter of a provider.
func New(id string, cfg providers.Config) (providers.Adapter, bool) {
	c, ok := constructors()[id]
	if !ok {
		return nil, false
	}
	return c(cfg), true
}

// IDs lists the providers with a LIVE adapter, sorted.
func IDs() []string {
	var out []string
	for id := range constructors() {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
