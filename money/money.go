// Package money is the platform's one type for an amount of money: a whole
// number of micro-units of the currency (USD for now), never a float. It
// reads and writes decimal text exactly and does the little arithmetic the
// platform needs, with one stated rounding rule. It must not know about
// prices, budgets or exchange rates: those belong to the packages that own
// them.
package money

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"strconv"

	"github.com/gpubroker/pod/fault"
)

// Amount is an amount of money in micro-units of the currency: 1_000_000
// is one US dollar, 1 is 0.000001. Its range is ±9,223,372,036,854.775807.
//
// In JSON an Amount is a decimal string, never a number: "12.34",
// "0.000001", "-3.50". A JSON number passes through float64 in most
// clients, so it could not carry every amount exactly. Output has at least
// two and at most six decimals; input is matched by [Pattern] (an optional
// minus, digits, and up to six decimals after a point). null leaves the
// Amount unchanged, as for every other JSON type.
type Amount int64

// Units of an Amount.
const (
	Micro  Amount = 1
	Cent   Amount = 10_000
	Dollar Amount = 1_000_000
	// Max is the largest amount; -Max is the smallest one Parse accepts,
	// so negating an amount never overflows.
	Max Amount = math.MaxInt64
)

// Decimals is how many decimal places an amount has.
const Decimals = 6

// Pattern is the JSON Schema (ECMA-262) pattern of an amount's decimal
// string: what Parse accepts, apart from the range.
const Pattern = `^-?[0-9]+(\.[0-9]{1,6})?$`

// Parse reads a decimal string such as "12.34", "-0.5" or "1000": an
// optional minus, digits, and optionally a point followed by one to six
// digits. It refuses anything else with a *fault.Error of kind invalid
// that says why: empty text, a plus sign, spaces, thousands separators,
// currency signs, NaN and infinities, exponent forms such as 1e3 (money is
// written out in full), more than six decimals (the smallest unit is
// 0.000001, and rounding silently would change the amount) and values out
// of range.
func Parse(s string) (Amount, error) {
	a, reason := parse(s)
	if reason != "" {
		return 0, &fault.Error{Kind: fault.KindInvalid, Message: fmt.Sprintf("amount %q: %s", clip(s), reason)}
	}
	return a, nil
}

// MustParse is Parse for constants in code and tests; it panics on bad text.
func MustParse(s string) Amount {
	a, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return a
}

// parse returns the amount, or why s is not one.
func parse(s string) (Amount, string) {
	if s == "" {
		return 0, "empty; want a decimal such as 12.34"
	}
	digits := s
	neg := digits[0] == '-'
	if neg {
		digits = digits[1:]
	}
	whole, frac := digits, ""
	point := false
	for i := 0; i < len(digits); i++ {
		if digits[i] == '.' {
			whole, frac, point = digits[:i], digits[i+1:], true
			break
		}
	}
	if whole == "" || !allDigits(whole) || point && (frac == "" || !allDigits(frac)) {
		return 0, syntaxReason(s)
	}
	if len(frac) > Decimals {
		return 0, "more than 6 decimal places; the smallest amount is 0.000001"
	}
	var u uint64
	add := func(d byte) bool {
		hi, lo := bits.Mul64(u, 10)
		lo, carry := bits.Add64(lo, uint64(d-'0'), 0)
		u = lo
		return hi == 0 && carry == 0 && u <= math.MaxInt64
	}
	for i := 0; i < len(whole); i++ {
		if !add(whole[i]) {
			return 0, "out of range; amounts are at most ±9223372036854.775807"
		}
	}
	for i := range Decimals {
		d := byte('0')
		if i < len(frac) {
			d = frac[i]
		}
		if !add(d) {
			return 0, "out of range; amounts are at most ±9223372036854.775807"
		}
	}
	if neg {
		return -Amount(u), ""
	}
	return Amount(u), ""
}

// syntaxReason says, as precisely as it can, why s is not a decimal.
func syntaxReason(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err == nil && (math.IsNaN(f) || math.IsInf(f, 0)):
		return "not a number; want a decimal such as 12.34"
	case err == nil && containsAny(s, "eE") && !containsAny(s, "xX"):
		return "exponent forms such as 1e3 are not accepted; write the digits out"
	}
	return "want a decimal such as 12.34: an optional minus, digits, and up to 6 decimals after a point"
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func containsAny(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// Micros returns the amount as a whole number of micro-units, the form the
// database stores.
func (a Amount) Micros() int64 { return int64(a) }

// magnitude returns |a| without overflow, even for the most negative int64.
func (a Amount) magnitude() uint64 {
	if a < 0 {
		return uint64(-(a + 1)) + 1
	}
	return uint64(a)
}

// Decimal returns the amount as a plain decimal, its JSON form: "12.34",
// "0.000001", "-3.50", "1000.00". It is exact (never rounded) and has at
// least two decimals and no trailing zeros beyond them.
func (a Amount) Decimal() string {
	var buf [32]byte
	return string(a.appendDecimal(buf[:0], false))
}

// String returns the amount for people, exact and grouped by thousands:
// "$1,234.56", "$0.004", "-$3.50".
func (a Amount) String() string {
	var buf [40]byte
	return string(a.appendDecimal(buf[:0], true))
}

func (a Amount) appendDecimal(b []byte, forPeople bool) []byte {
	u := a.magnitude()
	if a < 0 {
		b = append(b, '-')
	}
	if forPeople {
		b = append(b, '$')
	}
	whole, frac := u/uint64(Dollar), u%uint64(Dollar)
	if forPeople {
		b = appendGrouped(b, whole)
	} else {
		b = strconv.AppendUint(b, whole, 10)
	}
	b = append(b, '.')
	var digits [Decimals]byte
	for i := Decimals - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := Decimals
	for n > 2 && digits[n-1] == '0' {
		n--
	}
	return append(b, digits[:n]...)
}

// appendGrouped appends u with a comma between groups of three digits.
func appendGrouped(b []byte, u uint64) []byte {
	var buf [20]byte
	s := strconv.AppendUint(buf[:0], u, 10)
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, c)
	}
	return b
}

// MarshalJSON writes the amount as a decimal string (see Amount).
func (a Amount) MarshalJSON() ([]byte, error) {
	var buf [34]byte
	b := append(buf[:0], '"')
	b = a.appendDecimal(b, false)
	return append(b, '"'), nil
}

// UnmarshalJSON reads a decimal string (see Amount). A JSON number, or a
// string Parse refuses, is a *json.UnmarshalTypeError, so a strict decoder
// reports it with the path of the field it was found in.
func (a *Amount) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) == 0 || b[0] != '"' {
		return &json.UnmarshalTypeError{Type: amountType,
			Value: fmt.Sprintf("%s (an amount is a decimal string such as \"12.34\")", jsonKind(b))}
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, reason := parse(s)
	if reason != "" {
		return &json.UnmarshalTypeError{Type: amountType, Value: fmt.Sprintf("%q (%s)", clip(s), reason)}
	}
	*a = v
	return nil
}

var amountType = reflect.TypeFor[Amount]()

func jsonKind(b []byte) string {
	switch {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	}
	return "number " + clip(string(b))
}

// MulRat returns a × num / den, rounded half away from zero to the nearest
// micro-unit: 0.5 micro-units and more round away from zero, less toward
// it, for positive and negative amounts alike. This is the rule people
// expect on an invoice; banker's rounding would only matter for sums of
// many roundings, and at a millionth of a dollar a rounding moves an
// amount by at most half a micro-unit either way.
//
// It is the one multiplication money needs: the cost of d at a price per
// hour is price.MulRat(int64(d), int64(time.Hour)); a 15 % markup is
// a.MulRat(115, 100), 12.5 % is a.MulRat(1125, 1000). The product is
// computed in 128 bits, so only a result out of range fails; den == 0 fails.
func (a Amount) MulRat(num, den int64) (Amount, error) {
	if den == 0 {
		return 0, fault.Invalid("den", "a ratio cannot have a zero denominator")
	}
	neg := (a < 0) != (num < 0) != (den < 0)
	ud := Amount(den).magnitude()
	hi, lo := bits.Mul64(a.magnitude(), Amount(num).magnitude())
	if hi >= ud {
		return 0, outOfRange(a, num, den)
	}
	q, r := bits.Div64(hi, lo, ud)
	if r >= ud-r { // r ≥ den/2, without overflowing 2r
		if q >= math.MaxInt64 {
			return 0, outOfRange(a, num, den)
		}
		q++
	}
	if q > math.MaxInt64 {
		return 0, outOfRange(a, num, den)
	}
	if neg {
		return -Amount(q), nil
	}
	return Amount(q), nil
}

func outOfRange(a Amount, num, den int64) error {
	return &fault.Error{Kind: fault.KindInvalid, Message: fmt.Sprintf("%s × %d/%d is out of range", a, num, den)}
}

// FromFloat converts a price a provider states as a float of dollars (the
// one place floats enter: offers as providers publish them) to an Amount,
// rounding half away from zero to the micro-dollar. NaN, infinities and
// values out of range are refused.
func FromFloat(usd float64) (Amount, error) {
	if math.IsNaN(usd) || math.IsInf(usd, 0) || math.Abs(usd) >= maxFloatDollars {
		return 0, fault.Invalid("amount", "%v is not an amount of money", usd)
	}
	return Amount(math.Round(usd * 1e6)), nil
}

// maxFloatDollars bounds FromFloat well inside the range of an Amount,
// where a float64 still holds every micro-dollar exactly.
const maxFloatDollars = 1e9
