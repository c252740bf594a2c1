// Package mode names the two ways a tenant runs: SANDBOX (simulated providers,
// Stripe test keys, no real money) and LIVE. It holds only the vocabulary; the
// rules for switching live in package tenant.
package mode

import "fmt"

// Mode is SANDBOX or LIVE.
type Mode string

// The two modes. Their spelling is part of the API and the database.
const (
	Sandbox Mode = "SANDBOX"
	Live    Mode = "LIVE"
)

// All lists the modes in a stable order.
var All = []Mode{Sandbox, Live}

// Parse accepts the canonical spelling and its lower-case form.
func Parse(s string) (Mode, error) {
	switch s {
	case "SANDBOX", "sandbox":
		return Sandbox, nil
	case "LIVE", "live":
		return Live, nil
	}
	return "", fmt.Errorf("unknown mode %q: want SANDBOX or LIVE", s)
}

// Valid reports whether m is one of the two modes.
func (m Mode) Valid() bool { return m == Sandbox || m == Live }

func (m Mode) String() string { return string(m) }
