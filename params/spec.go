package params

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
)

// Type is the type of a parameter's value.
type Type string

// Parameter types. A money value is an amount in USD stored as a decimal
// string ("1000", "12.34") and read exactly as a money.Amount, never through
// a float.
const (
	TypeString   Type = "string"
	TypeInt      Type = "int"
	TypeFloat    Type = "float"
	TypeMoney    Type = "money"
	TypeBool     Type = "bool"
	TypeDuration Type = "duration"
	TypeURL      Type = "url"
	TypeEnum     Type = "enum"
	TypeSecret   Type = "secret"
	TypeJSON     Type = "json"
)

// Affects tells which modes read a parameter.
type Affects string

// Which modes a parameter affects.
const (
	AffectsBoth    Affects = "both"
	AffectsSandbox Affects = "sandbox"
	AffectsLive    Affects = "live"
)

// Modes lists the modes that read a parameter.
func (a Affects) Modes() []mode.Mode {
	switch a {
	case AffectsSandbox:
		return []mode.Mode{mode.Sandbox}
	case AffectsLive:
		return []mode.Mode{mode.Live}
	}
	return []mode.Mode{mode.Sandbox, mode.Live}
}

// Reads reports whether a tenant in mode m reads the parameter.
func (a Affects) Reads(m mode.Mode) bool {
	switch a {
	case AffectsSandbox:
		return m == mode.Sandbox
	case AffectsLive:
		return m == mode.Live
	}
	return true
}

// Rule is one validation rule beyond the type. Desc is what the error message
// quotes; Check reports whether v is acceptable in mode m (never "": a value
// for both modes is checked once per mode it affects).
type Rule struct {
	Desc  string
	Check func(m mode.Mode, v Value) bool
}

// Spec declares one parameter.
type Spec struct {
	Key         string   `json:"key"`
	Type        Type     `json:"type"`
	Default     string   `json:"default"`
	Description string   `json:"description"`
	Affects     Affects  `json:"affects"`
	Enum        []string `json:"enum,omitempty"`
	// GlobalOnly forbids tenant scopes (platform-wide settings).
	GlobalOnly bool `json:"global_only,omitempty"`
	// Group tags related parameters, such as provider credentials.
	Group string `json:"group,omitempty"`
	Rules []Rule `json:"-"`
}

// RuleDescs lists the descriptions of the spec's rules, for display.
func (s *Spec) RuleDescs() []string {
	out := make([]string, 0, len(s.Rules))
	for _, r := range s.Rules {
		out = append(out, r.Desc)
	}
	return out
}

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

// check reports what is wrong with the spec itself; the catalogue refuses a
// bad declaration at start-up.
func (s *Spec) check() error {
	if !keyPattern.MatchString(s.Key) {
		return fmt.Errorf("parameter key %q: want dotted lower-case words like stripe.secret_key", s.Key)
	}
	switch s.Type {
	case TypeString, TypeInt, TypeFloat, TypeMoney, TypeBool, TypeDuration, TypeURL, TypeSecret, TypeJSON:
	case TypeEnum:
		if len(s.Enum) == 0 {
			return fmt.Errorf("parameter %s: enum without values", s.Key)
		}
	default:
		return fmt.Errorf("parameter %s: unknown type %q", s.Key, s.Type)
	}
	switch s.Affects {
	case AffectsBoth, AffectsSandbox, AffectsLive:
	default:
		return fmt.Errorf("parameter %s: affects %q, want both, sandbox or live", s.Key, s.Affects)
	}
	if s.Type == TypeSecret && s.Default != "" {
		return fmt.Errorf("parameter %s: a secret has no default", s.Key)
	}
	if s.Default != "" || s.Type == TypeString || s.Type == TypeJSON {
		if _, err := s.parse(s.Default); err != nil && s.Default != "" {
			return fmt.Errorf("parameter %s: default: %w", s.Key, err)
		}
	}
	return nil
}

// parse turns raw text into a typed Value, or says why it cannot.
func (s *Spec) parse(raw string) (Value, error) {
	v := Value{raw: raw, set: true}
	switch s.Type {
	case TypeString, TypeSecret:
	case TypeInt:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("want an integer, got %q", raw)
		}
		v.i, v.f = n, float64(n)
	case TypeFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			return Value{}, fmt.Errorf("want a number, got %q", raw)
		}
		v.f = f
	case TypeMoney:
		a, err := money.Parse(strings.TrimSpace(raw))
		if err != nil {
			return Value{}, fmt.Errorf("want an amount in USD such as 12.34: %w", err)
		}
		v.m = a
	case TypeBool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return Value{}, fmt.Errorf("want true or false, got %q", raw)
		}
		v.b = b
	case TypeDuration:
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return Value{}, fmt.Errorf("want a duration like 90s or 15m, got %q", raw)
		}
		v.d, v.f = d, d.Seconds()
	case TypeURL:
		if raw == "" {
			break
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Value{}, fmt.Errorf("want an absolute http(s) URL, got %q", raw)
		}
	case TypeEnum:
		ok := false
		for _, e := range s.Enum {
			if raw == e {
				ok = true
				break
			}
		}
		if !ok {
			return Value{}, fmt.Errorf("want one of %s, got %q", strings.Join(s.Enum, ", "), raw)
		}
	case TypeJSON:
		if raw == "" {
			break
		}
		if !json.Valid([]byte(raw)) {
			return Value{}, fmt.Errorf("want valid JSON, got %q", clip(raw))
		}
	}
	return v, nil
}

// Validate parses raw as the value of this parameter for mode m ("" for
// both modes) and applies every rule. The error names the rule broken.
func (s *Spec) Validate(m mode.Mode, raw string) (Value, error) {
	v, err := s.parse(raw)
	if err != nil {
		return Value{}, err
	}
	for _, r := range s.Rules {
		if m == "" {
			// A value for both modes must satisfy the rule in every mode
			// the parameter affects.
			for _, mm := range s.Affects.Modes() {
				if !r.Check(mm, v) {
					return Value{}, fmt.Errorf("%s in %s mode, got %s", r.Desc, mm, s.show(raw))
				}
			}
			continue
		}
		if !r.Check(m, v) {
			return Value{}, fmt.Errorf("%s, got %s", r.Desc, s.show(raw))
		}
	}
	return v, nil
}

// show quotes a value for an error message; secrets are never echoed.
func (s *Spec) show(raw string) string {
	if s.Type == TypeSecret {
		return "a value that does not match (not shown)"
	}
	return strconv.Quote(clip(raw))
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

// Range requires a number (or a duration, in seconds) within [min, max].
func Range(min, max float64) Rule {
	return Rule{
		Desc:  fmt.Sprintf("must be between %g and %g", min, max),
		Check: func(_ mode.Mode, v Value) bool { return v.f >= min && v.f <= max },
	}
}

// MoneyRange requires an amount within [min, max].
func MoneyRange(min, max money.Amount) Rule {
	return Rule{
		Desc:  fmt.Sprintf("must be between %s and %s", min, max),
		Check: func(_ mode.Mode, v Value) bool { return v.m >= min && v.m <= max },
	}
}

// DurationRange requires a duration within [min, max].
func DurationRange(min, max time.Duration) Rule {
	return Rule{
		Desc:  fmt.Sprintf("must be between %s and %s", min, max),
		Check: func(_ mode.Mode, v Value) bool { return v.d >= min && v.d <= max },
	}
}

// NotEmpty requires a non-empty value.
func NotEmpty() Rule {
	return Rule{Desc: "must not be empty", Check: func(_ mode.Mode, v Value) bool { return strings.TrimSpace(v.raw) != "" }}
}

// Matches requires the value to match a regular expression; desc says in
// words what the expression wants.
func Matches(desc, expr string) Rule {
	re := regexp.MustCompile(expr)
	return Rule{Desc: desc, Check: func(_ mode.Mode, v Value) bool { return v.raw == "" || re.MatchString(v.raw) }}
}

// PrefixByMode requires a mode-specific prefix, such as Stripe's sk_test_ in
// SANDBOX and sk_live_ in LIVE. An empty value passes (unset).
func PrefixByMode(sandbox, live []string) Rule {
	return Rule{
		Desc: fmt.Sprintf("must start with %s in SANDBOX and %s in LIVE",
			strings.Join(sandbox, " or "), strings.Join(live, " or ")),
		Check: func(m mode.Mode, v Value) bool {
			if v.raw == "" {
				return true
			}
			want := sandbox
			if m == mode.Live {
				want = live
			}
			for _, p := range want {
				if strings.HasPrefix(v.raw, p) {
					return true
				}
			}
			return false
		},
	}
}
