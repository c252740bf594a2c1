// Package events holds the vocabulary of the event stream: an Event is a
// fact a domain operation committed, written to the outbox in the same
// transaction as the change it reports, and later published (to Kafka) by a
// relay that marks it published. Consumers may see an event more than once
// and must be idempotent by its ID; they never see one whose change was
// rolled back.
//
// The store keeps the outbox; the Relay here publishes it to Kafka as
// CloudEvents. The vocabulary itself does no I/O.
package events

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
)

// Type names what happened, as domain.past_tense ("pod.deploy_requested").
// Each domain package declares its event types as constants.
type Type string

var typePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// Valid reports whether t is spelled domain.event.
func (t Type) Valid() bool { return typePattern.MatchString(string(t)) }

// Event is one committed fact.
type Event struct {
	// ID is unique and time-ordered (UUIDv7): consumers deduplicate by it.
	ID   string `json:"id"`
	Type Type   `json:"type"`
	// Key orders events: those with one key (a pod id) reach a consumer
	// in the order they were committed.
	Key      string          `json:"key"`
	TenantID string          `json:"tenant_id,omitempty"`
	Payload  json.RawMessage `json:"payload"`
	// CreatedAt is when the change committed, by the operation's clock.
	CreatedAt time.Time `json:"created_at"`
	// PublishedAt is when the relay delivered it (nil while pending).
	PublishedAt *time.Time `json:"published_at,omitempty"`
}

// New builds an event with a fresh id, its payload encoded as JSON.
func New(typ Type, key, tenantID string, payload any, now time.Time) (Event, error) {
	if !typ.Valid() {
		return Event{}, fmt.Errorf("event type %q: want domain.event in lower case", typ)
	}
	if key == "" {
		return Event{}, fmt.Errorf("event %s: a key is required", typ)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return Event{}, fmt.Errorf("event %s: encode payload: %w", typ, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Event{}, fmt.Errorf("event %s: id: %w", typ, err)
	}
	return Event{ID: id.String(), Type: typ, Key: key, TenantID: tenantID, Payload: b,
		CreatedAt: now.UTC().Truncate(time.Microsecond)}, nil
}

// Backlog is how far the relay is behind: the outbox rows not yet
// published, and when the oldest of them and the latest published one
// were committed. Pending rows growing old mean the stream is stuck.
type Backlog struct {
	Pending         int64     `json:"pending"`
	OldestPendingAt time.Time `json:"oldest_pending_at,omitzero"`
	LastPublishedAt time.Time `json:"last_published_at,omitzero"`
}
