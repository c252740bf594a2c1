package mail

import (
	"fmt"
	"net/url"
	"time"

	"github.com/gpubroker/pod/fault"
)

// Kind names what a message is about; each has its data type and templates.
type Kind string

// The kinds of mail.
const (
	// KindVerifyEmail asks a new user to confirm their address.
	KindVerifyEmail Kind = "verify_email"
	// KindActivation carries a ready pod's single-use activation link.
	KindActivation Kind = "activation"
	// KindActivated confirms an activation and says how to reach the pod.
	KindActivated Kind = "activated"
	// KindInvoice announces an invoice.
	KindInvoice Kind = "invoice"
	// KindPaymentFailed says a charge did not go through.
	KindPaymentFailed Kind = "payment_failed"
	// KindAgentNotification passes on what the procurement agent has to say.
	KindAgentNotification Kind = "agent_notification"
	// KindIdleStopped says a pod was stopped for being idle.
	KindIdleStopped Kind = "idle_stopped"
	// KindAlreadyRegistered tells an address's owner that someone tried
	// to register with it; registering answers the same either way, so
	// only the owner learns the address has an account.
	KindAlreadyRegistered Kind = "already_registered"
	// KindLowBalance says usage took a user's prepaid credit below the
	// threshold.
	KindLowBalance Kind = "low_balance"
	// KindAgentAction tells a POD Admin what the procurement agent did,
	// or waits for them to approve: one of its decisions.
	KindAgentAction Kind = "agent_action"
)

// Kinds lists every kind.
var Kinds = []Kind{KindVerifyEmail, KindActivation, KindActivated, KindInvoice, KindPaymentFailed, KindAgentNotification, KindIdleStopped,
	KindAlreadyRegistered, KindLowBalance, KindAgentAction}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// The data of each kind. Fields are plain strings and numbers so that the
// packages asking for mail need nothing else from this one; money is a
// decimal string, already formatted by its owner.

// VerifyEmail is the data of KindVerifyEmail.
type VerifyEmail struct {
	Name      string
	Link      string
	ExpiresAt time.Time
}

// Activation is the data of KindActivation.
type Activation struct {
	Name      string
	PodName   string
	PodID     string
	GPU       string
	GPUCount  int
	Link      string
	ExpiresAt time.Time
}

// Activated is the data of KindActivated. JupyterURL is optional.
type Activated struct {
	Name              string
	PodName           string
	PodID             string
	SSHHost           string
	SSHPort           int
	SSHUser           string
	SSHKeyFingerprint string
	JupyterURL        string
}

// Invoice is the data of KindInvoice.
type Invoice struct {
	Name   string
	Number string
	Period string
	// Total is the amount due as a decimal string with its currency
	// ("USD 123.45"), never a float.
	Total string
	Link  string
}

// PaymentFailed is the data of KindPaymentFailed. NextAttempt is when the
// charge is tried again (zero: not again); Final says it was the last try,
// and the plan fell back to Plan with the running pods stopped.
type PaymentFailed struct {
	Name string
	// Amount is the charge that failed, as a decimal string with its
	// currency.
	Amount      string
	Reason      string
	Link        string
	NextAttempt time.Time
	Final       bool
	Plan        string
}

// AgentNotification is the data of KindAgentNotification. Link is
// optional.
type AgentNotification struct {
	Name     string
	Headline string
	Body     string
	Link     string
}

// IdleStopped is the data of KindIdleStopped.
type IdleStopped struct {
	Name    string
	PodName string
	PodID   string
	IdleFor time.Duration
	Link    string
}

// LowBalance is the data of KindLowBalance: the balance left and the
// threshold it fell below, as decimal strings with their currency.
type LowBalance struct {
	Name      string
	Balance   string
	Threshold string
	Link      string
}

// AgentAction is the data of KindAgentAction: one decision of the agent
// as it stands. Status is in words ("awaiting approval"); Cost is the
// preview's cost as a decimal string with its currency; Effect and Error
// are optional. Link opens the decision.
type AgentAction struct {
	Name     string
	Headline string
	Tool     string
	Status   string
	Cost     string
	Effect   string
	Error    string
	Link     string
}

// AlreadyRegistered is the data of KindAlreadyRegistered. Link is where
// to sign in.
type AlreadyRegistered struct {
	Name string
	Link string
}

// content is what every kind's data says about itself: its kind and the
// links it carries, in the order the message shows them.
type content interface {
	kind() Kind
	links() []Link
}

func (VerifyEmail) kind() Kind       { return KindVerifyEmail }
func (Activation) kind() Kind        { return KindActivation }
func (Activated) kind() Kind         { return KindActivated }
func (Invoice) kind() Kind           { return KindInvoice }
func (PaymentFailed) kind() Kind     { return KindPaymentFailed }
func (AgentNotification) kind() Kind { return KindAgentNotification }
func (IdleStopped) kind() Kind       { return KindIdleStopped }
func (AlreadyRegistered) kind() Kind { return KindAlreadyRegistered }

func (d VerifyEmail) links() []Link {
	return []Link{{Label: "Verify your email address", URL: d.Link}}
}

func (d Activation) links() []Link { return []Link{{Label: "Activate " + d.PodName, URL: d.Link}} }

func (d Activated) links() []Link { return optional(Link{Label: "Open Jupyter", URL: d.JupyterURL}) }

func (d Invoice) links() []Link { return []Link{{Label: "View invoice " + d.Number, URL: d.Link}} }

func (d PaymentFailed) links() []Link {
	return []Link{{Label: "Update your payment method", URL: d.Link}}
}

func (d AgentNotification) links() []Link {
	return optional(Link{Label: "Open in the platform", URL: d.Link})
}

func (d IdleStopped) links() []Link { return []Link{{Label: "Open " + d.PodName, URL: d.Link}} }

func (d AlreadyRegistered) links() []Link { return []Link{{Label: "Sign in", URL: d.Link}} }

func (LowBalance) kind() Kind { return KindLowBalance }

func (d LowBalance) links() []Link { return []Link{{Label: "Buy credit", URL: d.Link}} }

func (AgentAction) kind() Kind { return KindAgentAction }

func (d AgentAction) links() []Link { return []Link{{Label: "Open the decision", URL: d.Link}} }

// optional is the link when it has a URL, and none otherwise.
func optional(l Link) []Link {
	if l.URL == "" {
		return nil
	}
	return []Link{l}
}

// contentOf checks that data is kind's data (a value or a pointer to one)
// and that every link it carries is an absolute http(s) URL.
func contentOf(kind Kind, data any) (content, error) {
	if !kind.Valid() {
		return nil, fault.Invalid("kind", "unknown kind of mail %q", kind)
	}
	var c content
	// Pointers first: they carry the value's methods, so the content case
	// would take them too (and a nil one would panic).
	switch d := data.(type) {
	case *VerifyEmail:
		c = deref(d)
	case *Activation:
		c = deref(d)
	case *Activated:
		c = deref(d)
	case *Invoice:
		c = deref(d)
	case *PaymentFailed:
		c = deref(d)
	case *AgentNotification:
		c = deref(d)
	case *IdleStopped:
		c = deref(d)
	case *AlreadyRegistered:
		c = deref(d)
	case *LowBalance:
		c = deref(d)
	case *AgentAction:
		c = deref(d)
	case content:
		c = d
	}
	if c == nil || c.kind() != kind {
		return nil, fault.Invalid("data", "mail of kind %s takes its own data type, not %T", kind, data)
	}
	for _, l := range c.links() {
		if err := checkLink(l); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// deref turns a pointer to data into its value; a nil pointer is no data.
func deref[T content](p *T) content {
	if p == nil {
		return nil
	}
	return *p
}

func checkLink(l Link) error {
	u, err := url.Parse(l.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fault.Invalid("data", "the link %q needs an absolute http(s) URL, got %q", l.Label, l.URL)
	}
	return nil
}

// span says how long d is in words: "3 hours 20 minutes", "45 minutes".
func span(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "less than a minute"
	}
	days, hours, minutes := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60
	var out string
	add := func(n int, unit string) {
		if n == 0 {
			return
		}
		if out != "" {
			out += " "
		}
		out += fmt.Sprintf("%d %s", n, unit)
		if n != 1 {
			out += "s"
		}
	}
	add(days, "day")
	add(hours, "hour")
	add(minutes, "minute")
	return out
}
