package params

import (
	"time"
)

// Stored is one value as a backend keeps it. For a secret kept in the
// database, Value holds the sealed bytes (base64) and Sealed is true; a
// backend that encrypts by itself (Secrets Manager) returns plain text.
type Stored struct {
	Scope     Scope
	Key       string
	Value     string
	Sealed    bool
	UpdatedAt time.Time
	UpdatedBy string
}

// Write is one change to apply: a value to put, or a deletion.
type Write struct {
	Scope  Scope
	Key    string
	Value  string
	Sealed bool
	Secret bool
	Delete bool
}

// Change is one entry of a parameter's history. Secret values are never
// recorded: OldValue and NewValue hold Redacted instead.
type Change struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Scope    Scope     `json:"scope"`
	Key      string    `json:"key"`
	Action   string    `json:"action"` // set, delete, import
	OldValue *string   `json:"old_value"`
	NewValue *string   `json:"new_value"`
}

// Redacted stands for a secret value in history, exports and listings.
const Redacted = "[redacted]"

// HistoryQuery selects history entries, newest first.
type HistoryQuery struct {
	Key      string
	Scope    *Scope
	BeforeID int64
	Limit    int
}
