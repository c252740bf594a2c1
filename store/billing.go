package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
)

// BillingCustomer reads the user's customer in mode m.
func (s *Store) BillingCustomer(ctx context.Context, tenantID, userID string, m mode.Mode) (billing.Customer, error) {
	var c billing.Customer
	var m2, backend string
	err := s.queryRow(ctx, `SELECT tenant_id, user_id, mode, backend, account, customer_id, created_at FROM billing_customers
		WHERE tenant_id = $1 AND user_id = $2 AND mode = $3`, tenantID, userID, string(m)).
		Scan(&c.TenantID, &c.UserID, &m2, &backend, &c.Account, &c.ID, &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fault.NotFound("billing customer of user", userID)
	}
	if err != nil {
		return c, fmt.Errorf("read the billing customer of user %s: %w", userID, err)
	}
	c.Mode, c.Backend, c.CreatedAt = mode.Mode(m2), billing.BackendKind(backend), c.CreatedAt.UTC()
	return c, nil
}

// CustomerByProcessorID finds the customer a processor knows as
// customerID.
func (s *Store) CustomerByProcessorID(ctx context.Context, customerID string) (billing.Customer, error) {
	var c billing.Customer
	var m, backend string
	err := s.queryRow(ctx, `SELECT tenant_id, user_id, mode, backend, account, customer_id, created_at FROM billing_customers
		WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 1`, customerID).
		Scan(&c.TenantID, &c.UserID, &m, &backend, &c.Account, &c.ID, &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fault.NotFound("billing customer", customerID)
	}
	if err != nil {
		return c, fmt.Errorf("find billing customer %s: %w", customerID, err)
	}
	c.Mode, c.Backend, c.CreatedAt = mode.Mode(m), billing.BackendKind(backend), c.CreatedAt.UTC()
	return c, nil
}

// PutBillingCustomer stores the user's customer in its mode, replacing
// one at another backend or account.
func (s *Store) PutBillingCustomer(ctx context.Context, c billing.Customer) error {
	_, err := s.exec(ctx, `INSERT INTO billing_customers (tenant_id, user_id, mode, backend, account, customer_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (tenant_id, user_id, mode) DO UPDATE SET backend = excluded.backend, account = excluded.account,
			customer_id = excluded.customer_id, created_at = excluded.created_at`,
		c.TenantID, c.UserID, string(c.Mode), string(c.Backend), c.Account, c.ID, c.CreatedAt.UTC())
	if err != nil {
		return fmt.Errorf("store the billing customer of user %s: %w", c.UserID, err)
	}
	return nil
}

const paymentMethodColumns = `id, tenant_id, user_id, mode, backend, type, brand, last4, is_default, created_at`

func scanPaymentMethod(row rowScanner) (billing.PaymentMethod, error) {
	var pm billing.PaymentMethod
	var m, backend string
	err := row.Scan(&pm.ID, &pm.TenantID, &pm.UserID, &m, &backend, &pm.Type, &pm.Brand, &pm.Last4, &pm.Default, &pm.CreatedAt)
	pm.Mode, pm.Backend, pm.CreatedAt = mode.Mode(m), billing.BackendKind(backend), pm.CreatedAt.UTC()
	return pm, err
}

// PutPaymentMethod stores pm as its user's default payment method in its
// mode; the previous default stays saved, no longer the default.
func (s *Store) PutPaymentMethod(ctx context.Context, pm billing.PaymentMethod) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE billing_payment_methods SET is_default = FALSE
			WHERE tenant_id = $1 AND user_id = $2 AND mode = $3 AND is_default`, pm.TenantID, pm.UserID, string(pm.Mode)); err != nil {
			return fmt.Errorf("clear the default payment method of user %s: %w", pm.UserID, err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO billing_payment_methods (`+paymentMethodColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9)
			ON CONFLICT (tenant_id, id) DO UPDATE SET is_default = TRUE`,
			pm.ID, pm.TenantID, pm.UserID, string(pm.Mode), string(pm.Backend), pm.Type, pm.Brand, pm.Last4, pm.CreatedAt.UTC())
		if err != nil {
			return fmt.Errorf("store payment method %s: %w", pm.ID, err)
		}
		return nil
	})
}

// DefaultPaymentMethod reads the user's default payment method in mode m.
func (s *Store) DefaultPaymentMethod(ctx context.Context, tenantID, userID string, m mode.Mode) (billing.PaymentMethod, error) {
	pm, err := scanPaymentMethod(s.queryRow(ctx, `SELECT `+paymentMethodColumns+` FROM billing_payment_methods
		WHERE tenant_id = $1 AND user_id = $2 AND mode = $3 AND is_default`, tenantID, userID, string(m)))
	if errors.Is(err, sql.ErrNoRows) {
		return pm, fault.NotFound("default payment method of user", userID)
	}
	if err != nil {
		return pm, fmt.Errorf("read the default payment method of user %s: %w", userID, err)
	}
	return pm, nil
}

const subscriptionColumns = `id, tenant_id, user_id, mode, backend, plan, billing_interval, status, period_start, period_end,
	cancel_at_period_end, pending_plan, pending_interval, backend_id, backend_item_id, revision, created_at, updated_at, dunning`

func scanSubscription(row rowScanner) (billing.Subscription, error) {
	var b billing.Subscription
	var m, backend, plan, interval, status, pendingPlan, pendingInterval, dunning string
	var start, end sql.NullTime
	err := row.Scan(&b.ID, &b.TenantID, &b.UserID, &m, &backend, &plan, &interval, &status, &start, &end, &b.CancelAtPeriodEnd,
		&pendingPlan, &pendingInterval, &b.BackendID, &b.BackendItem, &b.Revision, &b.CreatedAt, &b.UpdatedAt, &dunning)
	if err != nil {
		return b, err
	}
	if dunning != "" {
		b.Dunning = &billing.Dunning{}
		if err := json.Unmarshal([]byte(dunning), b.Dunning); err != nil {
			return b, fmt.Errorf("decode the dunning of subscription %s: %w", b.ID, err)
		}
	}
	b.Mode, b.Backend, b.Plan, b.Interval, b.Status = mode.Mode(m), billing.BackendKind(backend), billing.PlanID(plan), billing.Interval(interval), billing.Status(status)
	b.PendingPlan, b.PendingInterval = billing.PlanID(pendingPlan), billing.Interval(pendingInterval)
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	b.PeriodStart, b.PeriodEnd = optionalTime(start), optionalTime(end)
	return b, nil
}

// optionalTime reads a nullable time as a pointer, nil for NULL.
func optionalTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

// timeArg stores a nil time as NULL.
func timeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// CreateSubscription stores a new subscription at revision 1. A user has
// at most one subscription that is not canceled per mode: a second is a
// conflict.
func (s *Store) CreateSubscription(ctx context.Context, b billing.Subscription) error {
	_, err := s.exec(ctx, `INSERT INTO billing_subscriptions (`+subscriptionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $17, '')`,
		b.ID, b.TenantID, b.UserID, string(b.Mode), string(b.Backend), string(b.Plan), string(b.Interval), string(b.Status),
		timeArg(b.PeriodStart), timeArg(b.PeriodEnd), b.CancelAtPeriodEnd, string(b.PendingPlan), string(b.PendingInterval),
		b.BackendID, b.BackendItem, b.CreatedAt.UTC(), b.UpdatedAt.UTC())
	if isUniqueViolation(err) {
		return fault.Conflict("user %s has a subscription already, or one is being made", b.UserID)
	}
	if err != nil {
		return fmt.Errorf("create subscription %s: %w", b.ID, err)
	}
	return nil
}

// Subscription reads one subscription of a tenant.
func (s *Store) Subscription(ctx context.Context, tenantID, id string) (billing.Subscription, error) {
	b, err := scanSubscription(s.queryRow(ctx, `SELECT `+subscriptionColumns+` FROM billing_subscriptions WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return b, fault.NotFound("subscription", id)
	}
	if err != nil {
		return b, fmt.Errorf("read subscription %s: %w", id, err)
	}
	return b, nil
}

// SubscriptionByBackendID reads the tenant's subscription the processor
// knows as backendID.
func (s *Store) SubscriptionByBackendID(ctx context.Context, tenantID, backendID string) (billing.Subscription, error) {
	if backendID == "" {
		return billing.Subscription{}, fault.NotFound("subscription at the processor", backendID)
	}
	b, err := scanSubscription(s.queryRow(ctx, `SELECT `+subscriptionColumns+` FROM billing_subscriptions
		WHERE tenant_id = $1 AND backend_id = $2 ORDER BY created_at DESC LIMIT 1`, tenantID, backendID))
	if errors.Is(err, sql.ErrNoRows) {
		return b, fault.NotFound("subscription at the processor", backendID)
	}
	if err != nil {
		return b, fmt.Errorf("read subscription %s: %w", backendID, err)
	}
	return b, nil
}

// CurrentSubscription reads the user's subscription in mode m that is not
// canceled.
func (s *Store) CurrentSubscription(ctx context.Context, tenantID, userID string, m mode.Mode) (billing.Subscription, error) {
	b, err := scanSubscription(s.queryRow(ctx, `SELECT `+subscriptionColumns+` FROM billing_subscriptions
		WHERE tenant_id = $1 AND user_id = $2 AND mode = $3 AND status <> 'canceled'`, tenantID, userID, string(m)))
	if errors.Is(err, sql.ErrNoRows) {
		return b, fault.NotFound("subscription of user", userID)
	}
	if err != nil {
		return b, fmt.Errorf("read the subscription of user %s: %w", userID, err)
	}
	return b, nil
}

// UpdateSubscription writes b's state on the revision it was read at and
// answers it at the next revision; if another change landed first it is a
// conflict.
func (s *Store) UpdateSubscription(ctx context.Context, b billing.Subscription) (billing.Subscription, error) {
	dunning, next := "", any(nil)
	if b.Dunning != nil {
		dunning, next = string(mustJSON(b.Dunning)), b.Dunning.NextAt.UTC()
	}
	got, err := scanSubscription(s.queryRow(ctx, `UPDATE billing_subscriptions SET plan = $1, billing_interval = $2, status = $3,
		period_start = $4, period_end = $5, cancel_at_period_end = $6, pending_plan = $7, pending_interval = $8, backend_id = $9,
		backend_item_id = $10, updated_at = $11, dunning = $15, dunning_next_at = $16, revision = revision + 1
		WHERE tenant_id = $12 AND id = $13 AND revision = $14 RETURNING `+subscriptionColumns,
		string(b.Plan), string(b.Interval), string(b.Status), timeArg(b.PeriodStart), timeArg(b.PeriodEnd), b.CancelAtPeriodEnd,
		string(b.PendingPlan), string(b.PendingInterval), b.BackendID, b.BackendItem, b.UpdatedAt.UTC(), b.TenantID, b.ID, b.Revision,
		dunning, next))
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.Subscription(ctx, b.TenantID, b.ID); gerr != nil {
			return billing.Subscription{}, gerr
		}
		return billing.Subscription{}, fault.Conflict("subscription %s changed since revision %d was read; read it again", b.ID, b.Revision)
	}
	if isUniqueViolation(err) {
		return billing.Subscription{}, fault.Conflict("user %s has another subscription that is not canceled", b.UserID)
	}
	if err != nil {
		return billing.Subscription{}, fmt.Errorf("update subscription %s: %w", b.ID, err)
	}
	return got, nil
}

// DueSubscriptions lists, of every tenant, the subscriptions whose next
// payment attempt is due at at, and the Mock's whose period ended by at
// (to renew or end), oldest due first.
func (s *Store) DueSubscriptions(ctx context.Context, at time.Time, limit int) ([]billing.Subscription, error) {
	if limit <= 0 {
		limit = 500
	}
	rows, err := s.query(ctx, `SELECT `+subscriptionColumns+` FROM billing_subscriptions
		WHERE (dunning_next_at IS NOT NULL AND dunning_next_at <= $1)
		   OR (backend = 'mock' AND status IN ('active', 'past_due') AND dunning = '' AND period_end IS NOT NULL AND period_end <= $1)
		ORDER BY COALESCE(dunning_next_at, period_end), id LIMIT $2`, at.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("list due subscriptions: %w", err)
	}
	defer rows.Close()
	var out []billing.Subscription
	for rows.Next() {
		b, err := scanSubscription(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// DeleteSubscription removes a subscription the processor never made
// (one without a backend id); any other is kept.
func (s *Store) DeleteSubscription(ctx context.Context, tenantID, id string) error {
	if _, err := s.exec(ctx, `DELETE FROM billing_subscriptions WHERE tenant_id = $1 AND id = $2 AND backend_id = ''`, tenantID, id); err != nil {
		return fmt.Errorf("delete subscription %s: %w", id, err)
	}
	return nil
}

const mockColumns = `tenant_id, id, object, lookup_key, idempotency_key, customer, status, data, created_at, updated_at`

func scanMock(row rowScanner) (billing.MockObject, error) {
	var o billing.MockObject
	var data string
	err := row.Scan(&o.TenantID, &o.ID, &o.Object, &o.LookupKey, &o.IdempotencyKey, &o.Customer, &o.Status, &data, &o.CreatedAt, &o.UpdatedAt)
	o.Data, o.CreatedAt, o.UpdatedAt = []byte(data), o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return o, err
}

// CreateMockObject stores one of the mock processor's objects, marked
// mock. An object of the tenant with the same idempotency key is answered
// instead, with false.
func (s *Store) CreateMockObject(ctx context.Context, o billing.MockObject) (billing.MockObject, bool, error) {
	res, err := s.exec(ctx, `INSERT INTO billing_mock_objects (`+mockColumns+`, mock) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, TRUE)
		ON CONFLICT DO NOTHING`,
		o.TenantID, o.ID, o.Object, o.LookupKey, o.IdempotencyKey, o.Customer, o.Status, string(o.Data), o.CreatedAt.UTC(), o.UpdatedAt.UTC())
	if err != nil {
		return o, false, fmt.Errorf("create mock %s %s: %w", o.Object, o.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return o, err == nil, err
	}
	if o.IdempotencyKey != "" {
		if first, err := s.MockObjectByKey(ctx, o.TenantID, o.IdempotencyKey); err == nil {
			return first, false, nil
		}
	}
	return o, false, fault.Conflict("mock object %s exists, or another price holds lookup key %q", o.ID, o.LookupKey)
}

// MockObject reads one of a tenant's mock objects.
func (s *Store) MockObject(ctx context.Context, tenantID, id string) (billing.MockObject, error) {
	o, err := scanMock(s.queryRow(ctx, `SELECT `+mockColumns+` FROM billing_mock_objects WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return o, fault.NotFound("mock object", id)
	}
	if err != nil {
		return o, fmt.Errorf("read mock object %s: %w", id, err)
	}
	return o, nil
}

// MockObjectByKey reads the mock object a tenant made with an idempotency
// key; the empty key names none.
func (s *Store) MockObjectByKey(ctx context.Context, tenantID, key string) (billing.MockObject, error) {
	if key == "" {
		return billing.MockObject{}, fault.NotFound("mock object with idempotency key", key)
	}
	o, err := scanMock(s.queryRow(ctx, `SELECT `+mockColumns+` FROM billing_mock_objects WHERE tenant_id = $1 AND idempotency_key = $2`, tenantID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return o, fault.NotFound("mock object with idempotency key", key)
	}
	if err != nil {
		return o, fmt.Errorf("read mock object by key: %w", err)
	}
	return o, nil
}

// UpdateMockObject writes a mock object's status and data.
func (s *Store) UpdateMockObject(ctx context.Context, o billing.MockObject) error {
	res, err := s.exec(ctx, `UPDATE billing_mock_objects SET status = $1, data = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5`,
		o.Status, string(o.Data), o.UpdatedAt.UTC(), o.TenantID, o.ID)
	if err != nil {
		return fmt.Errorf("update mock object %s: %w", o.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fault.NotFound("mock object", o.ID)
	}
	return nil
}

// MockPrices reads the tenant's mock prices holding these lookup keys.
func (s *Store) MockPrices(ctx context.Context, tenantID string, lookupKeys []string) ([]billing.MockObject, error) {
	if len(lookupKeys) == 0 {
		return []billing.MockObject{}, nil
	}
	args := []any{tenantID}
	marks := make([]string, len(lookupKeys))
	for i, k := range lookupKeys {
		args = append(args, k)
		marks[i] = fmt.Sprintf("$%d", len(args))
	}
	q := `SELECT ` + mockColumns + ` FROM billing_mock_objects WHERE tenant_id = $1 AND object = 'price' AND lookup_key IN (` +
		strings.Join(marks, ", ") + `) ORDER BY lookup_key`
	return queryAll(ctx, s, "mock prices", q, args, scanMock)
}

// ReleaseMockLookupKey takes a lookup key from the mock price holding it.
func (s *Store) ReleaseMockLookupKey(ctx context.Context, tenantID, lookupKey string) error {
	if _, err := s.exec(ctx, `UPDATE billing_mock_objects SET lookup_key = '' WHERE tenant_id = $1 AND lookup_key = $2`, tenantID, lookupKey); err != nil {
		return fmt.Errorf("release lookup key %s: %w", lookupKey, err)
	}
	return nil
}
