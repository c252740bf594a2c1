package billing

import (
	"fmt"

	"github.com/gpubroker/pod/money"
)

// Processors count money in whole minor units of the currency: cents for
// every currency billing.currency allows (usd, eur, gbp have two
// decimals). These two functions are the one place an amount crosses that
// edge.

// ToMinor converts a to whole minor units, rounding half away from zero
// (money.Amount.MulRat's rule). Plan prices are whole cents by their
// parameters' rule, so only metered amounts are ever rounded.
func ToMinor(a money.Amount) (int64, error) {
	c, err := a.MulRat(1, int64(money.Cent))
	if err != nil {
		return 0, fmt.Errorf("%s in cents: %w", a, err)
	}
	return int64(c), nil
}

// FromMinor converts whole minor units to an amount.
func FromMinor(n int64) (money.Amount, error) {
	a, err := money.Amount(n).MulRat(int64(money.Cent), 1)
	if err != nil {
		return 0, fmt.Errorf("%d cents: %w", n, err)
	}
	return a, nil
}
