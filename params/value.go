package params

import (
	"time"

	"github.com/gpubroker/pod/money"
)

// Value is a parsed parameter value. Readers get it from a Snapshot; its
// accessors never allocate.
type Value struct {
	raw string
	i   int64
	f   float64
	b   bool
	d   time.Duration
	m   money.Amount
	set bool
}

// String returns the value as text (the canonical stored form).
func (v Value) String() string { return v.raw }

// Int returns an int parameter.
func (v Value) Int() int64 { return v.i }

// Float returns a float parameter (ints and durations in seconds as well).
func (v Value) Float() float64 { return v.f }

// Money returns a money parameter; it is never converted from a float.
func (v Value) Money() money.Amount { return v.m }

// Bool returns a bool parameter.
func (v Value) Bool() bool { return v.b }

// Duration returns a duration parameter.
func (v Value) Duration() time.Duration { return v.d }

// IsSet reports whether the value came from a declaration or a stored
// value; the zero Value (unknown key) is not set.
func (v Value) IsSet() bool { return v.set }
