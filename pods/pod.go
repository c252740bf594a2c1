package pods

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/providers"
)

// Pricing is how a pod is bought.
type Pricing string

// The ways to buy a pod.
const (
	OnDemand Pricing = "on_demand"
	// Spot is cheaper and may be interrupted by the provider.
	Spot Pricing = "spot"
)

// Auto as a pod's provider lets the platform choose the best-ranked offer.
const Auto = "auto"

// Image is a machine image a pod can boot.
type Image struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// MinDiskGiB is the smallest disk the image fits on with room to work.
	MinDiskGiB int `json:"min_disk_gib"`
	// Jupyter tells whether the image serves JupyterLab.
	Jupyter bool `json:"jupyter"`
}

// Images are the images a pod can boot, each a public image of its project
// (the ids name the versions).
var Images = []Image{
	{ID: "pytorch-2.5-cuda12.4", Name: "PyTorch 2.5", Description: "PyTorch 2.5 with CUDA 12.4, cuDNN 9 and Python 3.11 on Ubuntu 22.04", MinDiskGiB: 40},
	{ID: "cuda-12.4-base", Name: "CUDA 12.4 base", Description: "NVIDIA driver, CUDA 12.4 toolkit and Python 3.11 on Ubuntu 22.04", MinDiskGiB: 20},
	{ID: "jupyter-pytorch-2.5", Name: "JupyterLab", Description: "JupyterLab 4 with PyTorch 2.5 and CUDA 12.4", MinDiskGiB: 40, Jupyter: true},
	{ID: "vllm-0.6", Name: "vLLM 0.6", Description: "vLLM 0.6 serving an OpenAI-compatible API on port 8000", MinDiskGiB: 80},
	{ID: "tensorflow-2.17-cuda12.3", Name: "TensorFlow 2.17", Description: "TensorFlow 2.17 with CUDA 12.3 and Python 3.11", MinDiskGiB: 40},
}

// LookupImage finds an image by id.
func LookupImage(id string) (Image, bool) {
	i := slices.IndexFunc(Images, func(im Image) bool { return im.ID == id })
	if i < 0 {
		return Image{}, false
	}
	return Images[i], true
}

// Config is what a user chooses for a pod.
type Config struct {
	Name string `json:"name" jsonschema:"a name for the pod: 1 to 63 lower-case letters, digits and dashes, starting with a letter"`
	// GPU is the canonical GPU model (providers.GPUModels).
	GPU      string `json:"gpu" jsonschema:"canonical GPU model, e.g. H100-SXM-80GB"`
	GPUCount int    `json:"gpu_count" jsonschema:"GPUs in the machine, 1 to 16"`
	// Provider is a provider id, or auto for the best-ranked offer.
	Provider string `json:"provider" jsonschema:"provider id, or auto to choose the best-ranked offer"`
	// OfferID is the offer the pod is priced on and deployed from.
	OfferID string  `json:"offer_id,omitempty" jsonschema:"the offer to deploy; chosen by ranking when empty"`
	Region  string  `json:"region,omitempty" jsonschema:"provider region; any when empty"`
	VCPU    int     `json:"vcpu" jsonschema:"virtual CPUs"`
	RAMGiB  int     `json:"ram_gib" jsonschema:"memory in GiB"`
	DiskGiB int     `json:"disk_gib" jsonschema:"disk in GiB"`
	Image   string  `json:"image" jsonschema:"machine image id (see the declared images)"`
	Pricing Pricing `json:"pricing" jsonschema:"on_demand, or spot (cheaper, may be interrupted)"`
	// SSHPublicKey is installed on the machine for its owner to log in.
	SSHPublicKey string `json:"ssh_public_key,omitempty" jsonschema:"an OpenSSH public key (authorized_keys line) to log in with"`
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// Validate checks what a configuration means on its own, before any
// provider's limits: every problem is named by its field.
func (c Config) Validate() error {
	var ps []fault.Problem
	bad := func(field, msg string) { ps = append(ps, fault.Problem{Field: field, Message: msg}) }
	if !namePattern.MatchString(c.Name) {
		bad("name", "want 1 to 63 lower-case letters, digits and dashes, starting with a letter")
	}
	if _, ok := providers.LookupGPU(c.GPU); !ok {
		bad("gpu", "unknown GPU model "+quote(c.GPU)+"; valid: "+strings.Join(providers.GPUNames(), ", "))
	}
	if c.GPUCount < 1 || c.GPUCount > 16 {
		bad("gpu_count", "want 1 to 16")
	}
	if c.Provider == "" {
		bad("provider", "want a provider id, or auto")
	}
	if c.VCPU < 1 {
		bad("vcpu", "want at least 1")
	}
	if c.RAMGiB < 1 {
		bad("ram_gib", "want at least 1")
	}
	im, ok := LookupImage(c.Image)
	switch {
	case !ok:
		ids := make([]string, len(Images))
		for i, im := range Images {
			ids[i] = im.ID
		}
		bad("image", "unknown image "+quote(c.Image)+"; valid: "+strings.Join(ids, ", "))
	case c.DiskGiB < im.MinDiskGiB:
		bad("disk_gib", "image "+im.ID+" needs at least "+itoa(im.MinDiskGiB)+" GiB")
	}
	if c.Pricing != OnDemand && c.Pricing != Spot {
		bad("pricing", "want on_demand or spot")
	}
	if c.SSHPublicKey != "" {
		if _, err := KeyFingerprint(c.SSHPublicKey); err != nil {
			bad("ssh_public_key", err.Error())
		}
	}
	return fault.InvalidAll("invalid pod configuration", ps)
}

// Pod is one GPU machine of a tenant's user.
type Pod struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	OwnerID  string `json:"owner_id"`
	Config
	State State `json:"state"`
	// Reason says why the pod is in its state (a failure's cause).
	Reason string `json:"reason,omitempty"`
	// Revision counts the pod's changes: a command names the revision it
	// read, and of two commands on one revision only the first lands.
	Revision int64 `json:"revision"`
	// InstanceID is the provider's id of the machine, once provisioned.
	InstanceID string `json:"instance_id,omitempty"`
	// PriceHour is what the pod costs per hour, as quoted; Rate is its
	// parts.
	PriceHour money.Amount `json:"price_hour"`
	Rate      Rate         `json:"rate"`
	// Connection is how the owner reaches the running pod, once activated.
	Connection *Connection `json:"connection,omitempty"`
	// Reservation is the budget hold of the pod's deploy, settled when
	// the pod is ready and released if it fails first.
	Reservation string `json:"reservation_id,omitempty"`
	// ScaleTo is the shape a running pod is being moved to, if any.
	ScaleTo *Scale `json:"scale_to,omitempty"`
	// ActiveAt is the last activity signal of a running pod.
	ActiveAt  *time.Time `json:"active_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Transition is one step of a pod's history.
type Transition struct {
	PodID  string      `json:"pod_id"`
	Seq    int64       `json:"seq"`
	At     time.Time   `json:"at"`
	From   State       `json:"from,omitempty"`
	To     State       `json:"to"`
	Reason string      `json:"reason,omitempty"`
	Actor  actor.Actor `json:"actor"`
}

// Change moves a pod from one state to another, on the revision the caller
// read.
type Change struct {
	PodID    string
	TenantID string
	Revision int64
	From, To State
	Reason   string
	Actor    actor.Actor
	At       time.Time
	// InstanceID, when set, records the provider's machine.
	InstanceID string
	// OfferID and Rate, when set, record the offer the pod moved to (a
	// failover) and its price.
	OfferID string
	Rate    *Rate
	// Connection, when set, records how the pod is reached.
	Connection *Connection
	// Reservation, when set, records the budget hold of a deploy.
	Reservation string
}

// Filter selects a tenant's pods, newest first.
type Filter struct {
	TenantID string
	// OwnerID narrows to one user's pods.
	OwnerID string
	States  []State
	Limit   int
}

func quote(s string) string { return `"` + s + `"` }

func itoa(n int) string { return strconv.Itoa(n) }
