// Package providers is the vocabulary GPU clouds are spoken of in and the
// contract their adapters fulfil: the normalized Offer, the canonical GPU
// table (GPUModels, CanonicalGPU), typed provider errors, the Adapter,
// Provisioner and Shaper interfaces with the HTTP Client adapters share,
// the machine shapes a provider sells and the Check of a configuration
// against them, and the supported providers with their credential
// parameters and the rule that makes a provider LIVE for a tenant. Each
// adapter lives in providers/<id>.
//
// It must not aggregate, cache, rank or store offers (package market does)
// and must not import market, the store, tools or any face.
package providers
