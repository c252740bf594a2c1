package params_test

import (
	"strings"
	"testing"

	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
)

func TestMoneyValuesAreReadExactly(t *testing.T) {
	spec := params.Spec{Key: "test.limit_usd", Type: params.TypeMoney, Affects: params.AffectsBoth,
		Rules: []params.Rule{params.MoneyRange(0, 1000*money.Dollar)}}
	for _, tc := range []struct {
		name, raw string
		want      money.Amount
		err       []string // parts of the error message; nil means success
	}{
		{"whole dollars", "100", 100 * money.Dollar, nil},
		{"cents that a float cannot hold", "0.10", 10 * money.Cent, nil},
		{"six decimals", "999.999999", 1000*money.Dollar - money.Micro, nil},
		{"surrounding spaces are trimmed", " 12.34 ", 1234 * money.Cent, nil},
		{"the lower bound", "0", 0, nil},
		{"the upper bound", "1000.000000", 1000 * money.Dollar, nil},
		{"a word", "lots", 0, []string{"want an amount in USD", `"lots"`}},
		{"an exponent", "1e3", 0, []string{"exponent"}},
		{"seven decimals", "1.0000001", 0, []string{"more than 6 decimal places"}},
		{"below the range", "-0.01", 0, []string{"must be between $0.00 and $1,000.00", `"-0.01"`}},
		{"above the range", "1000.000001", 0, []string{"must be between $0.00 and $1,000.00"}},
		{"out of int64", "99999999999999999", 0, []string{"out of range"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := spec.Validate("", tc.raw)
			if tc.err == nil {
				if err != nil || v.Money() != tc.want || v.String() != tc.raw {
					t.Fatalf("Validate(%q) = %v (%d), %v; want %d", tc.raw, v, v.Money(), err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%q) = %d; want an error", tc.raw, v.Money())
			}
			for _, m := range tc.err {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}
