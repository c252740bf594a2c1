package billing_test

import (
	"testing"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/money"
)

func TestAmountsCrossToMinorUnitsInWholeCents(t *testing.T) {
	for _, c := range []struct {
		amount string
		cents  int64
	}{
		{"29", 2900}, {"0.01", 1}, {"12.345678", 1235}, {"0.005", 1}, {"0.004999", 0}, {"-0.005", -1}, {"-85", -8500},
	} {
		got, err := billing.ToMinor(money.MustParse(c.amount))
		if err != nil || got != c.cents {
			t.Errorf("ToMinor(%s) = %d, %v; want %d", c.amount, got, err, c.cents)
		}
	}
	if a, err := billing.FromMinor(2900); err != nil || a != money.MustParse("29") {
		t.Errorf("FromMinor(2900) = %s, %v", a, err)
	}
	if _, err := billing.FromMinor(1 << 62); err == nil {
		t.Error("an amount beyond range was converted")
	}
}
