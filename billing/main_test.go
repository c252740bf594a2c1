package billing_test

import (
	"os"
	"testing"

	"github.com/gpubroker/pod/stripetest"
)

// TestMain stops the stripe-mock the Stripe tests started.
func TestMain(m *testing.M) { os.Exit(stripetest.Main(m)) }
