package providers

import (
	"context"
	"net/http"
	"time"
)

// Adapter lists one provider's offers. Adapters are safe for concurrent
// use and honour ctx cancellation.
type Adapter interface {
	// Provider is the provider id (see Supported).
	Provider() string
	// ListOffers returns every offer the provider sells now, normalized.
	ListOffers(ctx context.Context) ([]Offer, error)
}

// Base is the hold most adapters have on their provider: one API client
// and the tenant's configuration. Adapters embed it; it answers Provider.
type Base struct {
	C   *Client
	Cfg Config
}

// Provider implements Adapter.
func (b Base) Provider() string { return b.C.Provider }

// Provisioner manages instances at a provider. Adapters whose API cannot
// do an operation return an error of kind KindUnsupported for it.
type Provisioner interface {
	Create(ctx context.Context, req CreateRequest) (Instance, error)
	Start(ctx context.Context, instanceID string) error
	Stop(ctx context.Context, instanceID string) error
	Terminate(ctx context.Context, instanceID string) error
	Instance(ctx context.Context, instanceID string) (Instance, error)
}

// CreateRequest asks a provider for one machine of an offer's shape.
type CreateRequest struct {
	Offer        Offer
	Name         string
	Image        string
	SSHPublicKey string
	DiskGB       int
	Spot         bool
}

// InstanceState is the normalized lifecycle state of a provider instance.
type InstanceState string

// The states an instance moves through.
const (
	StatePending    InstanceState = "pending"
	StateRunning    InstanceState = "running"
	StateStopping   InstanceState = "stopping"
	StateStopped    InstanceState = "stopped"
	StateTerminated InstanceState = "terminated"
	StateFailed     InstanceState = "failed"
	StateUnknown    InstanceState = "unknown"
)

// Instance is a machine at a provider as the provider reports it.
type Instance struct {
	ID        string        `json:"id"`
	Provider  string        `json:"provider"`
	SKU       string        `json:"sku,omitempty"`
	Region    string        `json:"region,omitempty"`
	State     InstanceState `json:"state"`
	PublicIP  string        `json:"public_ip,omitempty"`
	SSHPort   int           `json:"ssh_port,omitempty"`
	PriceHour float64       `json:"price_hour,omitempty"`
	CreatedAt time.Time     `json:"created_at,omitzero"`
}

// Config is what every adapter constructor takes.
type Config struct {
	// BaseURL overrides the provider's documented API address (tests point
	// it at an httptest server).
	BaseURL string
	// HTTP is the client to use; nil means a client with a 30 s timeout.
	HTTP *http.Client
	// Credentials holds the provider's credential values by suffix, as
	// declared in Supported ("api_key", "client_secret", …).
	Credentials map[string]string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Cred returns one credential value.
func (c Config) Cred(name string) string { return c.Credentials[name] }

// Clock returns the configured clock.
func (c Config) Clock() func() time.Time {
	if c.Now != nil {
		return c.Now
	}
	return time.Now
}

// Normalized finishes a decoded listing: every offer gets its id, GPU
// memory and the time it was read (adapters end ListOffers with it).
func (c Config) Normalized(offers []Offer, err error) ([]Offer, error) {
	if err != nil {
		return nil, err
	}
	now := c.Clock()()
	for i := range offers {
		offers[i].Normalize(now)
	}
	return offers, nil
}

// Bearer returns an Auth function that sends "Authorization: Bearer
// <token>".
func Bearer(token string) func(*http.Request) error {
	return Header("Authorization", "Bearer "+token)
}

// Header returns an Auth function that sends one header.
func Header(name, value string) func(*http.Request) error {
	return func(r *http.Request) error {
		r.Header.Set(name, value)
		return nil
	}
}
