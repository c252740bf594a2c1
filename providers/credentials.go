package providers

import "github.com/gpubroker/pod/params"

// Provider describes a supported GPU cloud and the credential parameters
// its API needs per tenant and mode.
type Provider struct {
	ID   string
	Name string
	// Credentials are the parameter key suffixes the provider's API needs;
	// each becomes the secret parameter providers.<id>.<suffix>.
	Credentials []string
}

// Supported lists every provider the platform integrates with.
var Supported = []Provider{
	{ID: "aws", Name: "AWS EC2", Credentials: []string{"access_key_id", "secret_access_key"}},
	{ID: "gcp", Name: "Google Cloud", Credentials: []string{"service_account_json"}},
	{ID: "azure", Name: "Microsoft Azure", Credentials: []string{"tenant_id", "client_id", "client_secret", "subscription_id", "resource_group", "subnet_id"}},
	{ID: "lambda", Name: "Lambda", Credentials: []string{"api_key"}},
	{ID: "runpod", Name: "RunPod", Credentials: []string{"api_key"}},
	{ID: "vastai", Name: "Vast.ai", Credentials: []string{"api_key"}},
	{ID: "tensordock", Name: "TensorDock", Credentials: []string{"api_key", "api_token"}},
	{ID: "paperspace", Name: "Paperspace", Credentials: []string{"api_key"}},
	{ID: "coreweave", Name: "CoreWeave", Credentials: []string{"api_token", "api_server", "namespace"}},
	{ID: "fluidstack", Name: "FluidStack", Credentials: []string{"api_key"}},
	{ID: "jarvislabs", Name: "Jarvis Labs", Credentials: []string{"api_key"}},
	{ID: "genesiscloud", Name: "Genesis Cloud", Credentials: []string{"api_token"}},
	{ID: "oci", Name: "Oracle Cloud", Credentials: []string{"tenancy_ocid", "user_ocid", "fingerprint", "private_key", "compartment_ocid", "subnet_ocid"}},
	{ID: "cudo", Name: "Cudo Compute", Credentials: []string{"api_key", "project_id"}},
	{ID: "datacrunch", Name: "DataCrunch", Credentials: []string{"client_id", "client_secret"}},
	{ID: "nebius", Name: "Nebius", Credentials: []string{"service_account_json"}},
	{ID: "vultr", Name: "Vultr", Credentials: []string{"api_key"}},
	{ID: "hyperstack", Name: "Hyperstack", Credentials: []string{"api_key"}},
	{ID: "scaleway", Name: "Scaleway", Credentials: []string{"secret_key", "project_id"}},
	{ID: "ovhcloud", Name: "OVHcloud", Credentials: []string{"application_key", "application_secret", "consumer_key", "project_id"}},
	{ID: "crusoe", Name: "Crusoe", Credentials: []string{"access_key", "secret_key", "project_id"}},
	{ID: "latitude", Name: "Latitude.sh", Credentials: []string{"api_key", "project"}},
	{ID: "salad", Name: "SaladCloud", Credentials: []string{"api_key", "organization", "project"}},
	{ID: "akash", Name: "Akash Network", Credentials: []string{"api_key"}},
	{ID: "kubernetes", Name: "Kubernetes (own cluster)", Credentials: []string{"api_server", "api_token", "namespace"}},
}

// Name is what people call provider id; the id itself when it is not
// one of Supported.
func Name(id string) string {
	for _, p := range Supported {
		if p.ID == id {
			return p.Name
		}
	}
	return id
}

// CredentialGroup is the parameter group holding one provider's
// credentials: "provider:<id>".
func CredentialGroup(id string) string { return "provider:" + id }

// CredentialParams declares every provider credential as a secret parameter
// in the provider's group.
func CredentialParams() []params.Spec {
	var out []params.Spec
	for _, p := range Supported {
		for _, c := range p.Credentials {
			out = append(out, params.Spec{
				Key: CredentialKey(p.ID, c), Type: params.TypeSecret, Affects: params.AffectsBoth,
				Group:       CredentialGroup(p.ID),
				Description: p.Name + " API credential (" + c + "); a test credential in SANDBOX, a production one in LIVE.",
			})
		}
	}
	return out
}

// CredentialKey is the secret parameter holding one credential of a
// provider: providers.<id>.<name>.
func CredentialKey(id, name string) string { return "providers." + id + "." + name }

// LiveCredentials holds the one rule of which providers serve a tenant in
// LIVE: a provider is LIVE when all its credentials are set. get reads a
// credential parameter as the tenant's LIVE reader sees it. The answer
// maps the id of every LIVE provider to its credential values by suffix;
// the other providers are absent.
func LiveCredentials(get func(key string) string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, p := range Supported {
		if len(p.Credentials) == 0 {
			continue
		}
		creds := make(map[string]string, len(p.Credentials))
		complete := true
		for _, c := range p.Credentials {
			v := get(CredentialKey(p.ID, c))
			complete = complete && v != ""
			creds[c] = v
		}
		if complete {
			out[p.ID] = creds
		}
	}
	return out
}
