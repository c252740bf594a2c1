package money_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     money.Amount
		err      string // part of the error message; "" means success
	}{
		{"whole dollars", "12", 12 * money.Dollar, ""},
		{"cents", "12.34", 12*money.Dollar + 34*money.Cent, ""},
		{"one decimal", "0.5", 500_000, ""},
		{"the smallest unit", "0.000001", money.Micro, ""},
		{"six decimals", "12.345678", 12_345_678, ""},
		{"a negative amount", "-3.50", -3_500_000, ""},
		{"negative zero is zero", "-0.000000", 0, ""},
		{"leading zeros", "007.10", 7_100_000, ""},
		{"the largest amount", "9223372036854.775807", money.Max, ""},
		{"the smallest amount", "-9223372036854.775807", -money.Max, ""},
		{"many leading zeros do not overflow", "0000000000000000000000001", money.Dollar, ""},

		{"empty text", "", 0, "empty"},
		{"seven decimals", "0.0000001", 0, "more than 6 decimal places"},
		{"seven decimals of zeros", "1.0000000", 0, "more than 6 decimal places"},
		{"one micro-unit past the largest", "9223372036854.775808", 0, "out of range"},
		{"one micro-unit below the smallest", "-9223372036854.775808", 0, "out of range"},
		{"far out of range", "100000000000000000000", 0, "out of range"},
		{"NaN", "NaN", 0, "not a number"},
		{"infinity", "Inf", 0, "not a number"},
		{"negative infinity", "-Infinity", 0, "not a number"},
		{"an exponent", "1e3", 0, "exponent forms"},
		{"a negative exponent", "12.5E-2", 0, "exponent forms"},
		{"a hexadecimal float", "0x1p3", 0, "want a decimal"},
		{"a plus sign", "+5", 0, "want a decimal"},
		{"a currency sign", "$5", 0, "want a decimal"},
		{"thousands separators", "1,000", 0, "want a decimal"},
		{"surrounding spaces", " 5 ", 0, "want a decimal"},
		{"a bare point", ".", 0, "want a decimal"},
		{"no digits before the point", ".5", 0, "want a decimal"},
		{"no digits after the point", "5.", 0, "want a decimal"},
		{"two points", "1.2.3", 0, "want a decimal"},
		{"a lone minus", "-", 0, "want a decimal"},
		{"two minuses", "--5", 0, "want a decimal"},
		{"a word", "ten", 0, "want a decimal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := money.Parse(tc.in)
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Fatalf("Parse(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Parse(%q) = %d, %v; want an error saying %q", tc.in, got, err, tc.err)
			}
			if fault.KindOf(err) != fault.KindInvalid {
				t.Fatalf("Parse(%q) error %v is not a fault of kind invalid", tc.in, err)
			}
		})
	}
}

func TestParseQuotesLongTextClipped(t *testing.T) {
	_, err := money.Parse(strings.Repeat("9", 500))
	if err == nil || len(err.Error()) > 120 {
		t.Fatalf("error for a long text = %v; want a short message", err)
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		name            string
		in              money.Amount
		decimal, people string
	}{
		{"zero", 0, "0.00", "$0.00"},
		{"whole dollars keep two decimals", 12 * money.Dollar, "12.00", "$12.00"},
		{"cents", 1234 * money.Cent, "12.34", "$12.34"},
		{"one decimal is shown as cents", 500_000, "0.50", "$0.50"},
		{"sub-cent amounts are exact", 4 * money.Cent / 10, "0.004", "$0.004"},
		{"the smallest unit", money.Micro, "0.000001", "$0.000001"},
		{"six decimals", 12_345_678, "12.345678", "$12.345678"},
		{"negative", -3_500_000, "-3.50", "-$3.50"},
		{"negative sub-cent", -money.Micro, "-0.000001", "-$0.000001"},
		{"thousands", 1_234_567 * money.Cent, "12345.67", "$12,345.67"},
		{"exactly a thousand", 1000 * money.Dollar, "1000.00", "$1,000.00"},
		{"a million", 1_000_000 * money.Dollar, "1000000.00", "$1,000,000.00"},
		{"the largest amount", money.Max, "9223372036854.775807", "$9,223,372,036,854.775807"},
		{"the most negative int64", money.Amount(math.MinInt64), "-9223372036854.775808", "-$9,223,372,036,854.775808"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.Decimal(); got != tc.decimal {
				t.Errorf("Decimal() = %q; want %q", got, tc.decimal)
			}
			if got := tc.in.String(); got != tc.people {
				t.Errorf("String() = %q; want %q", got, tc.people)
			}
			b, err := json.Marshal(tc.in)
			if err != nil || string(b) != `"`+tc.decimal+`"` {
				t.Errorf("json.Marshal = %s, %v; want %q", b, err, tc.decimal)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	type priced struct {
		Cost money.Amount `json:"cost"`
	}
	type order struct {
		Item priced `json:"item"`
	}
	for _, tc := range []struct {
		name, in string
		want     money.Amount
		err      string // part of the error message; "" means success
	}{
		{"a decimal string", `{"item":{"cost":"12.34"}}`, 12_340_000, ""},
		{"an escaped string", `{"item":{"cost":"\u0031.5"}}`, 1_500_000, ""},
		{"null leaves the amount unchanged", `{"item":{"cost":null}}`, 7, ""},
		{"a number is refused", `{"item":{"cost":12.34}}`, 0, "number 12.34 (an amount is a decimal string"},
		{"a bool is refused", `{"item":{"cost":true}}`, 0, "bool"},
		{"an object is refused", `{"item":{"cost":{}}}`, 0, "object"},
		{"seven decimals are refused", `{"item":{"cost":"0.1234567"}}`, 0, "more than 6 decimal places"},
		{"an exponent is refused", `{"item":{"cost":"1e3"}}`, 0, "exponent forms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := order{Item: priced{Cost: 7}}
			err := json.Unmarshal([]byte(tc.in), &o)
			if tc.err == "" {
				if err != nil || o.Item.Cost != tc.want {
					t.Fatalf("decoded %d, %v; want %d", o.Item.Cost, err, tc.want)
				}
				return
			}
			var typ *json.UnmarshalTypeError
			if !errors.As(err, &typ) || !strings.Contains(typ.Value, tc.err) {
				t.Fatalf("error = %v; want a type error saying %q", err, tc.err)
			}
			if typ.Field != "item.cost" {
				t.Fatalf("error names field %q; want item.cost", typ.Field)
			}
		})
	}
}

func TestMulRat(t *testing.T) {
	for _, tc := range []struct {
		name     string
		a        money.Amount
		num, den int64
		want     money.Amount
		err      bool
	}{
		{"an hour at a price per hour", 2_490_000, 1, 1, 2_490_000, false},
		{"ninety minutes", 2_490_000, int64(90 * time.Minute), int64(time.Hour), 3_735_000, false},
		{"one second of $1/h is 277.77… micro-units", money.Dollar, int64(time.Second), int64(time.Hour), 278, false},
		{"a 15 % markup", 2 * money.Dollar, 115, 100, 2_300_000, false},
		{"a 12.5 % markup", money.Dollar, 1125, 1000, 1_125_000, false},
		{"exactly half rounds away from zero", 1, 1, 2, 1, false},
		{"exactly half of 3 rounds up to 2", 3, 1, 2, 2, false},
		{"a negative half rounds away from zero", -1, 1, 2, -1, false},
		{"a negative half of 3 rounds down to -2", -3, 1, 2, -2, false},
		{"below half rounds toward zero", 1, 1, 3, 0, false},
		{"above half rounds away from zero", 2, 1, 3, 1, false},
		{"negative below half rounds toward zero", -1, 1, 3, 0, false},
		{"negative above half rounds away from zero", -2, 1, 3, -1, false},
		{"a negative ratio", 10, -1, 4, -3, false},
		{"a negative denominator", 10, 1, -4, -3, false},
		{"zero", 0, 7, 3, 0, false},
		{"a large intermediate product fits", money.Max, int64(time.Hour), int64(time.Hour), money.Max, false},
		{"the largest amount halved", money.Max, 1, 2, money.Max/2 + 1, false},
		{"a zero denominator", 1, 1, 0, 0, true},
		{"an overflowing product", money.Max, 2, 1, 0, true},
		{"an exact ratio of the largest amount", money.Max, 3, 3, money.Max, false},
		{"rounding up past the largest amount", 6148914691236517205, 3, 2, 0, true},
		{"a product just over the range", money.Max/2 + 1, 2, 1, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.a.MulRat(tc.num, tc.den)
			if tc.err {
				if err == nil || fault.KindOf(err) != fault.KindInvalid {
					t.Fatalf("MulRat = %d, %v; want an invalid fault", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%d.MulRat(%d, %d) = %d, %v; want %d", tc.a, tc.num, tc.den, got, err, tc.want)
			}
		})
	}
}

// TestMulRatAgreesWithExactArithmetic checks the rounding rule against
// big.Rat over a grid that includes every remainder around a half.
func TestMulRatAgreesWithExactArithmetic(t *testing.T) {
	for a := int64(-25); a <= 25; a++ {
		for num := int64(-7); num <= 7; num++ {
			for den := int64(1); den <= 8; den++ {
				got, err := money.Amount(a).MulRat(num, den)
				if err != nil {
					t.Fatal(err)
				}
				if want := roundHalfAway(big.NewRat(a*num, den)); got != want {
					t.Fatalf("%d × %d/%d = %d; want %d", a, num, den, got, want)
				}
			}
		}
	}
}

func roundHalfAway(r *big.Rat) money.Amount {
	abs := new(big.Rat).Abs(r)
	abs.Add(abs, big.NewRat(1, 2))
	q := new(big.Int).Quo(abs.Num(), abs.Denom())
	if r.Sign() < 0 {
		q.Neg(q)
	}
	return money.Amount(q.Int64())
}

var pattern = regexp.MustCompile(money.Pattern)

// FuzzParse checks that whatever Parse accepts it reads exactly (against
// big.Rat), that the pattern admits it, and that its decimal and JSON forms
// read back to the same amount.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "12.34", "-3.5", "0.000001", "9223372036854.775807", "-9223372036854.775808",
		"1e3", "NaN", "1.2345678", "+1", "00.10", "", "-", "1.", ".1"} {
		f.Add(s)
	}
	million := big.NewRat(1_000_000, 1)
	f.Fuzz(func(t *testing.T, s string) {
		a, err := money.Parse(s)
		if err != nil {
			if fault.KindOf(err) != fault.KindInvalid {
				t.Fatalf("Parse(%q) error %v is not an invalid fault", s, err)
			}
			return
		}
		if !pattern.MatchString(s) {
			t.Fatalf("Parse accepted %q, which the pattern refuses", s)
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("Parse accepted %q, which big.Rat cannot read", s)
		}
		if r.Mul(r, million); !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() != int64(a) {
			t.Fatalf("Parse(%q) = %d; exactly it is %s micro-units", s, a, r.RatString())
		}
		roundTrip(t, a)
	})
}

// FuzzAmountRoundTrip checks every amount's decimal and JSON forms.
func FuzzAmountRoundTrip(f *testing.F) {
	for _, n := range []int64{0, 1, -1, 10_000, 999_999, 1_000_000, math.MaxInt64, -math.MaxInt64} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		if n == math.MinInt64 {
			return // outside the range Parse accepts, by design
		}
		roundTrip(t, money.Amount(n))
	})
}

func roundTrip(t *testing.T, a money.Amount) {
	t.Helper()
	d := a.Decimal()
	if !pattern.MatchString(d) {
		t.Fatalf("Decimal() = %q does not match the pattern", d)
	}
	if back, err := money.Parse(d); err != nil || back != a {
		t.Fatalf("Parse(%q) = %d, %v; want %d", d, back, err, a)
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back money.Amount
	if err := json.Unmarshal(b, &back); err != nil || back != a {
		t.Fatalf("JSON %s read back as %d, %v; want %d", b, back, err, a)
	}
	if p := strings.ReplaceAll(strings.Replace(a.String(), "$", "", 1), ",", ""); p != d {
		t.Fatalf("String() = %q does not show the same digits as Decimal() = %q", a.String(), d)
	}
}

func TestFromFloatRoundsProviderPricesToTheMicroDollar(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
		ok   bool
	}{
		{2.49, "2.49", true},
		{0.0000005, "0.000001", true}, // half away from zero
		{-0.0000005, "-0.000001", true},
		{13.466, "13.466", true},
		{0.1 + 0.2, "0.30", true},
		{math.NaN(), "", false},
		{math.Inf(1), "", false},
		{2e9, "", false},
	} {
		got, err := money.FromFloat(c.in)
		if (err == nil) != c.ok || (c.ok && got.Decimal() != money.MustParse(c.want).Decimal()) {
			t.Errorf("money.FromFloat(%v) = %s, %v; want %s", c.in, got.Decimal(), err, c.want)
		}
	}
}
