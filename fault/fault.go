// Package fault holds the typed domain errors every package returns and every
// face maps: one place per face turns a Kind into an HTTP status, an MCP tool
// error or an agent observation. It must not know about any face.
package fault

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies a domain error.
type Kind string

// Kinds of domain error.
const (
	KindInvalid           Kind = "invalid"
	KindMalformed         Kind = "malformed"
	KindNotFound          Kind = "not_found"
	KindConflict          Kind = "conflict"
	KindForbidden         Kind = "forbidden"
	KindUnauthenticated   Kind = "unauthenticated"
	KindNeedsConfirmation Kind = "needs_confirmation"
	KindUnavailable       Kind = "unavailable"
	KindRateLimited       Kind = "rate_limited"
	// KindGone reports a thing that existed but can no longer be used (an
	// expired approval).
	KindGone Kind = "gone"
)

// Problem is one thing wrong with an input, located by a field path such as
// "params[3].value" or "stripe.secret_key".
type Problem struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Error is a domain error with a kind, a message, and where it applies the
// field problems or the confirmation the caller must give.
type Error struct {
	Kind     Kind
	Message  string
	Problems []Problem
	// Confirm is the exact phrase a caller must send to confirm, set when
	// Kind is KindNeedsConfirmation.
	Confirm string
	// Missing lists what a precondition lacks (for example the settings a
	// tenant needs before it may go LIVE).
	Missing []string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		if p.Field != "" {
			b.WriteString(p.Field)
			b.WriteString(": ")
		}
		b.WriteString(p.Message)
	}
	if len(e.Missing) > 0 {
		b.WriteString(": missing ")
		b.WriteString(strings.Join(e.Missing, ", "))
	}
	return b.String()
}

// Invalid reports one bad field.
func Invalid(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Kind: KindInvalid, Message: "invalid input", Problems: []Problem{{Field: field, Message: msg}}}
}

// Malformed reports a request that cannot be read: broken JSON, an unknown
// field, a wrong type. field may be empty.
func Malformed(field, format string, args ...any) *Error {
	e := &Error{Kind: KindMalformed, Message: "malformed request"}
	e.Problems = []Problem{{Field: field, Message: fmt.Sprintf(format, args...)}}
	return e
}

// InvalidAll reports several bad fields at once; it returns nil when there
// are none, so callers can collect problems and return the result directly.
func InvalidAll(message string, problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Message: message, Problems: problems}
}

// NotFound reports a missing thing by its kind and id.
func NotFound(what, id string) *Error {
	return &Error{Kind: KindNotFound, Message: fmt.Sprintf("%s %q not found", what, id)}
}

// Conflict reports a state that forbids the change.
func Conflict(format string, args ...any) *Error {
	return &Error{Kind: KindConflict, Message: fmt.Sprintf(format, args...)}
}

// Forbidden reports a call the actor may not make.
func Forbidden(format string, args ...any) *Error {
	return &Error{Kind: KindForbidden, Message: fmt.Sprintf(format, args...)}
}

// Unauthenticated reports a missing or bad credential.
func Unauthenticated(format string, args ...any) *Error {
	return &Error{Kind: KindUnauthenticated, Message: fmt.Sprintf(format, args...)}
}

// Unavailable reports a dependency that cannot serve now.
func Unavailable(format string, args ...any) *Error {
	return &Error{Kind: KindUnavailable, Message: fmt.Sprintf(format, args...)}
}

// Gone reports a thing past its end: it existed, and will not come back.
func Gone(format string, args ...any) *Error {
	return &Error{Kind: KindGone, Message: fmt.Sprintf(format, args...)}
}

// RateLimited reports a caller who must wait before trying again.
func RateLimited(format string, args ...any) *Error {
	return &Error{Kind: KindRateLimited, Message: fmt.Sprintf(format, args...)}
}

// NeedsConfirmation asks the caller to repeat the request with confirm set to
// phrase.
func NeedsConfirmation(phrase, format string, args ...any) *Error {
	return &Error{Kind: KindNeedsConfirmation, Message: fmt.Sprintf(format, args...) +
		fmt.Sprintf("; repeat the request with confirm=%q", phrase), Confirm: phrase}
}

// KindOf returns the kind of the first *Error in err's chain, or "" when err
// is not a domain error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// As returns the *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IllegalMove is the refusal of a move a transition table does not allow:
// a conflict naming the thing (what and id), where it is, and what it
// could become instead (next; none when it is final).
func IllegalMove[S ~string](what, id string, from, to S, next []S) error {
	if from == to {
		return Conflict("%s %s is already %s", what, id, from)
	}
	could := "nothing: it is final"
	if len(next) > 0 {
		could = fmt.Sprint(next)
	}
	return Conflict("%s %s is %s and cannot become %s (from %s it can become %s)", what, id, from, to, from, could)
}
