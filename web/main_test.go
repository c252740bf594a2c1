package web_test

import (
	"os"
	"testing"

	"github.com/gpubroker/pod/stripetest"
)

// TestMain stops stripe-mock, which the payment page's tests start on
// first use, once the package's tests end.
func TestMain(m *testing.M) { os.Exit(stripetest.Main(m)) }
