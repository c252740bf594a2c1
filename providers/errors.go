package providers

import (
	"errors"
	"fmt"
	"time"
)

// ErrorKind classifies what went wrong at a provider so the aggregator,
// the pod service and the agent can react (try the next offer, back off,
// ask for credentials) without reading provider-specific messages.
type ErrorKind string

// The kinds of provider failure.
const (
	KindAuth        ErrorKind = "auth"         // credentials missing, wrong or lacking permission
	KindQuota       ErrorKind = "quota"        // account limit reached
	KindNoCapacity  ErrorKind = "no_capacity"  // the provider has no machine of that shape now
	KindRateLimit   ErrorKind = "rate_limited" // too many requests; see RetryAfter
	KindNotFound    ErrorKind = "not_found"    // instance or offer unknown to the provider
	KindInvalid     ErrorKind = "invalid"      // the provider refused the request as malformed
	KindUnavailable ErrorKind = "unavailable"  // 5xx, timeout, connection refused
	KindBadResponse ErrorKind = "bad_response" // the provider answered something we cannot read
	KindUnsupported ErrorKind = "unsupported"  // the provider's API has no such operation
	KindCircuitOpen ErrorKind = "circuit_open" // the breaker refuses calls for now
)

// Error is a provider failure with its kind, the HTTP status when there
// was one, and the provider's own message.
type Error struct {
	Provider   string
	Op         string
	Kind       ErrorKind
	Status     int
	RetryAfter time.Duration
	Message    string
	Err        error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s %s: %s", e.Provider, e.Op, e.Kind)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, providers.ErrNoCapacity) match by kind.
func (e *Error) Is(target error) bool {
	var k kindError
	if errors.As(target, &k) {
		return e.Kind == ErrorKind(k)
	}
	return false
}

type kindError ErrorKind

func (k kindError) Error() string { return string(k) }

// Sentinels to test with errors.Is.
var (
	ErrAuth        error = kindError(KindAuth)
	ErrQuota       error = kindError(KindQuota)
	ErrNoCapacity  error = kindError(KindNoCapacity)
	ErrRateLimit   error = kindError(KindRateLimit)
	ErrNotFound    error = kindError(KindNotFound)
	ErrInvalid     error = kindError(KindInvalid)
	ErrUnavailable error = kindError(KindUnavailable)
	ErrBadResponse error = kindError(KindBadResponse)
	ErrUnsupported error = kindError(KindUnsupported)
	ErrCircuitOpen error = kindError(KindCircuitOpen)
)

// KindOf returns the kind of a provider error, or "" for other errors.
func KindOf(err error) ErrorKind {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return ""
}

// Unsupported is the error an adapter returns for an operation its
// provider's API does not offer.
func Unsupported(provider, op string) error {
	return &Error{Provider: provider, Op: op, Kind: KindUnsupported}
}
