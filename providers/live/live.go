// Package live lists the LIVE adapter of every provider, so the app can
// build a tenant's aggregator from the credentials the tenant has set. It
// holds no state and makes no calls itself.
package live

import (
	"sort"

	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/providers/lambda"
)

// constructors maps a provider id to its adapter's constructor.
func constructors() map[string]func(providers.Config) providers.Adapter {
	return map[string]func(providers.Config) providers.Adapter{
		lambda.ID: func(c providers.Config) providers.Adapter { return lambda.New(c) },
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
