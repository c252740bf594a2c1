package decision

import (
	"context"
	"time"
)

// Delivery is where a decision's news went: each event of its moves on
// the way to Kafka (through the outbox), and its Slack message.
type Delivery struct {
	Events []EventDelivery `json:"events"`
	// Slack is the decision's message in the tenant's channel; nil when
	// it was not posted (Slack off, or not yet).
	Slack *SlackMessage `json:"slack,omitempty"`
}

// EventDelivery is one event of a decision in the outbox: committed with
// the move, then published by the relay. Published events are pruned
// after events.outbox_retention, so older ones are no longer listed.
type EventDelivery struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	CreatedAt   time.Time  `json:"created_at"`
	PublishedAt *time.Time `json:"published_at,omitempty"`
}

// SlackMessage is a decision's Slack message: where it is and the
// revision of the decision it shows now.
type SlackMessage struct {
	Channel   string    `json:"channel"`
	TS        string    `json:"ts"`
	Revision  int64     `json:"revision"`
	PostedAt  time.Time `json:"posted_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Deliveries reads where a decision's news went; the store implements it.
type Deliveries interface {
	DecisionDelivery(ctx context.Context, tenantID, decisionID string) (Delivery, error)
}
