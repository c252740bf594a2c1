package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/pods"
)

const podColumns = `id, tenant_id, owner_id, name, gpu, gpu_count, provider, offer_id, region, vcpu, ram_gib, disk_gib,
	image, pricing, state, reason, revision, instance_id, price_hour_micros, created_at, updated_at, ssh_public_key,
	connection, active_at, scale_to, reservation_id, rate`

func scanPod(row rowScanner) (pods.Pod, error) {
	var p pods.Pod
	var pricing, state string
	var price int64
	var conn, scale, rate string
	var active sql.NullTime
	err := row.Scan(&p.ID, &p.TenantID, &p.OwnerID, &p.Name, &p.GPU, &p.GPUCount, &p.Provider, &p.OfferID, &p.Region,
		&p.VCPU, &p.RAMGiB, &p.DiskGiB, &p.Image, &pricing, &state, &p.Reason, &p.Revision, &p.InstanceID, &price,
		&p.CreatedAt, &p.UpdatedAt, &p.SSHPublicKey, &conn, &active, &scale, &p.Reservation, &rate)
	if err != nil {
		return p, err
	}
	p.Pricing, p.State, p.PriceHour = pods.Pricing(pricing), pods.State(state), money.Amount(price)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	if active.Valid {
		t := active.Time.UTC()
		p.ActiveAt = &t
	}
	if p.Connection, err = decodeOptional[pods.Connection](conn); err != nil {
		return p, fmt.Errorf("decode pod %s connection: %w", p.ID, err)
	}
	if p.ScaleTo, err = decodeOptional[pods.Scale](scale); err != nil {
		return p, fmt.Errorf("decode pod %s scale: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(rate), &p.Rate); err != nil {
		return p, fmt.Errorf("decode pod %s rate: %w", p.ID, err)
	}
	return p, nil
}

// encodeOptional is an optional value as stored: JSON, or empty for none.
func encodeOptional[T any](v *T) (string, error) {
	if v == nil {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func decodeOptional[T any](s string) (*T, error) {
	if s == "" {
		return nil, nil
	}
	v := new(T)
	return v, json.Unmarshal([]byte(s), v)
}

// CreatePod stores a new pod at revision 1 with its first transition.
func (s *Store) CreatePod(ctx context.Context, p pods.Pod, t pods.Transition) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO pods (`+podColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, $17, $18, $19, $20, $21, '', NULL, '', '', $22)`,
			p.ID, p.TenantID, p.OwnerID, p.Name, p.GPU, p.GPUCount, p.Provider, p.OfferID, p.Region, p.VCPU, p.RAMGiB, p.DiskGiB,
			p.Image, string(p.Pricing), string(p.State), p.Reason, p.InstanceID, p.PriceHour.Micros(), p.CreatedAt.UTC(), p.UpdatedAt.UTC(),
			p.SSHPublicKey, mustJSON(p.Rate))
		if isUniqueViolation(err) {
			return fault.Conflict("pod %s already exists", p.ID)
		}
		if err != nil {
			return fmt.Errorf("create pod %s: %w", p.ID, err)
		}
		t.PodID, t.To = p.ID, p.State
		return appendTransition(ctx, tx, t)
	})
}

func appendTransition(ctx context.Context, tx *sql.Tx, t pods.Transition) error {
	by, err := json.Marshal(t.Actor)
	if err != nil {
		return fmt.Errorf("encode actor: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO pod_transitions (pod_id, seq, at, from_state, to_state, reason, actor)
		VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM pod_transitions WHERE pod_id = $1), $2, $3, $4, $5, $6)`,
		t.PodID, t.At.UTC(), string(t.From), string(t.To), t.Reason, string(by))
	if err != nil {
		return fmt.Errorf("record pod %s becoming %s: %w", t.PodID, t.To, err)
	}
	return nil
}

// GetPod reads one pod of a tenant; another tenant's is not found.
func (s *Store) GetPod(ctx context.Context, tenantID, id string) (pods.Pod, error) {
	p, err := scanPod(s.queryRow(ctx, `SELECT `+podColumns+` FROM pods WHERE id = $1 AND tenant_id = $2`, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return pods.Pod{}, fault.NotFound("pod", id)
	}
	if err != nil {
		return pods.Pod{}, fmt.Errorf("read pod %s: %w", id, err)
	}
	return p, nil
}

// ListPods returns a tenant's pods matching f, newest first (at most 500).
func (s *Store) ListPods(ctx context.Context, f pods.Filter) ([]pods.Pod, error) {
	args := []any{f.TenantID}
	q := `SELECT ` + podColumns + ` FROM pods WHERE tenant_id = $1`
	if f.OwnerID != "" {
		args = append(args, f.OwnerID)
		q += fmt.Sprintf(" AND owner_id = $%d", len(args))
	}
	if len(f.States) > 0 {
		marks := make([]string, len(f.States))
		for i, st := range f.States {
			args = append(args, string(st))
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		q += " AND state IN (" + strings.Join(marks, ", ") + ")"
	}
	return listNewest(ctx, s, "pods", q, args, f.Limit, scanPod)
}

// LiveOwnerPods counts the pods owner holds a machine for (pending,
// provisioning, ready or running). Within a transaction it first takes
// the owner's lock, so two deploys of one owner at once count one after
// the other (SQLite's writers queue already).
func (s *Store) LiveOwnerPods(ctx context.Context, tenantID, ownerID string) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('gpubroker.pods.' || $1 || '.' || $2, 0))`,
				tenantID, ownerID); err != nil {
				return fmt.Errorf("lock the pods of %s: %w", ownerID, err)
			}
		}
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pods WHERE tenant_id = $1 AND owner_id = $2
			AND state IN ('pending', 'provisioning', 'ready', 'running')`, tenantID, ownerID).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count the live pods of %s: %w", ownerID, err)
	}
	return n, nil
}

// UpdatePodConfig replaces a draft's configuration and price on the
// revision the caller read.
func (s *Store) UpdatePodConfig(ctx context.Context, p pods.Pod) (pods.Pod, error) {
	row := s.queryRow(ctx, `UPDATE pods SET name = $1, gpu = $2, gpu_count = $3, provider = $4, offer_id = $5, region = $6,
		vcpu = $7, ram_gib = $8, disk_gib = $9, image = $10, pricing = $11, price_hour_micros = $12, updated_at = $13,
		ssh_public_key = $17, rate = $18, revision = revision + 1
		WHERE id = $14 AND tenant_id = $15 AND revision = $16 AND state = 'draft' RETURNING `+podColumns,
		p.Name, p.GPU, p.GPUCount, p.Provider, p.OfferID, p.Region, p.VCPU, p.RAMGiB, p.DiskGiB, p.Image, string(p.Pricing),
		p.PriceHour.Micros(), p.UpdatedAt.UTC(), p.ID, p.TenantID, p.Revision, p.SSHPublicKey, mustJSON(p.Rate))
	got, err := scanPod(row)
	if errors.Is(err, sql.ErrNoRows) {
		return pods.Pod{}, s.whyNot(ctx, p.TenantID, p.ID, p.Revision, pods.Draft, pods.Draft)
	}
	if err != nil {
		return pods.Pod{}, fmt.Errorf("update pod %s: %w", p.ID, err)
	}
	return got, nil
}

// MovePod moves a pod from c.From to c.To on the revision the caller read,
// recording the transition in the same transaction. Of two commands on one
// revision only the first lands; the second is a conflict naming the state
// the pod is in now.
func (s *Store) MovePod(ctx context.Context, c pods.Change) (pods.Pod, error) {
	if err := pods.Move(c.PodID, c.From, c.To); err != nil {
		return pods.Pod{}, err
	}
	conn, err := encodeOptional(c.Connection)
	if err != nil {
		return pods.Pod{}, err
	}
	var price int64
	rate := ""
	if c.Rate != nil {
		price, rate = c.Rate.Hour().Micros(), mustJSON(*c.Rate)
	}
	var out pods.Pod
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		// A running pod's activity clock starts when it starts running.
		out, err = scanPod(tx.QueryRowContext(ctx, `UPDATE pods SET state = $1, reason = $2, updated_at = $3,
			instance_id = CASE WHEN $4 = '' THEN instance_id ELSE $4 END,
			offer_id = CASE WHEN $9 = '' THEN offer_id ELSE $9 END,
			price_hour_micros = CASE WHEN $10 = 0 THEN price_hour_micros ELSE $10 END,
			rate = CASE WHEN $13 = '' THEN rate ELSE $13 END,
			connection = CASE WHEN $11 = '' THEN connection ELSE $11 END,
			reservation_id = CASE WHEN $12 = '' THEN reservation_id ELSE $12 END,
			active_at = CASE WHEN $1 = 'running' THEN $3 ELSE active_at END, revision = revision + 1
			WHERE id = $5 AND tenant_id = $6 AND revision = $7 AND state = $8 RETURNING `+podColumns,
			string(c.To), c.Reason, c.At.UTC(), c.InstanceID, c.PodID, c.TenantID, c.Revision, string(c.From), c.OfferID, price,
			conn, c.Reservation, rate))
		if errors.Is(err, sql.ErrNoRows) {
			return errStale
		}
		if err != nil {
			return fmt.Errorf("move pod %s to %s: %w", c.PodID, c.To, err)
		}
		return appendTransition(ctx, tx, pods.Transition{PodID: c.PodID, At: c.At, From: c.From, To: c.To, Reason: c.Reason, Actor: c.Actor})
	})
	if errors.Is(err, errStale) {
		return pods.Pod{}, s.whyNot(ctx, c.TenantID, c.PodID, c.Revision, c.From, c.To)
	}
	return out, err
}

// errStale rolls back a move whose pod changed since it was read.
var errStale = errors.New("stale pod revision")

// whyNot says why a conditional pod update matched nothing: the pod is
// gone, it is no longer in the state the command needs (refused as that
// move would be), or another command changed it first.
func (s *Store) whyNot(ctx context.Context, tenantID, id string, rev int64, from, to pods.State) error {
	cur, err := s.GetPod(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if cur.State != from {
		if from == to { // a change within a state (a draft's configuration)
			return fault.Conflict("pod %s is %s: only a %s pod can be changed this way", id, cur.State, from)
		}
		if err := pods.Move(id, cur.State, to); err != nil {
			return err
		}
	}
	return fault.Conflict("pod %s changed since revision %d (it is %s at revision %d): read it again and retry", id, rev, cur.State, cur.Revision)
}

// PodTransitions returns a pod's history, oldest first.
func (s *Store) PodTransitions(ctx context.Context, tenantID, id string) ([]pods.Transition, error) {
	if _, err := s.GetPod(ctx, tenantID, id); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT pod_id, seq, at, from_state, to_state, reason, actor FROM pod_transitions
		WHERE pod_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("read pod %s history: %w", id, err)
	}
	defer rows.Close()
	out := []pods.Transition{}
	for rows.Next() {
		var t pods.Transition
		var from, to, by string
		if err := rows.Scan(&t.PodID, &t.Seq, &t.At, &from, &to, &t.Reason, &by); err != nil {
			return nil, fmt.Errorf("scan pod transition: %w", err)
		}
		t.From, t.To, t.At = pods.State(from), pods.State(to), t.At.UTC()
		if err := json.Unmarshal([]byte(by), &t.Actor); err != nil {
			return nil, fmt.Errorf("decode pod transition actor: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// NotePod adds an entry to a pod's history that is not a move (an attempt
// that failed on one offer before another was tried): from and to are the
// pod's state.
func (s *Store) NotePod(ctx context.Context, t pods.Transition) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return appendTransition(ctx, tx, t) })
}

// PodsIn returns the pods of every tenant in the given states, oldest
// first: the work a restarted worker resumes.
func (s *Store) PodsIn(ctx context.Context, states ...pods.State) ([]pods.Pod, error) {
	args := make([]any, len(states))
	marks := make([]string, len(states))
	for i, st := range states {
		args[i], marks[i] = string(st), fmt.Sprintf("$%d", i+1)
	}
	return queryAll(ctx, s, "pods to resume", `SELECT `+podColumns+` FROM pods WHERE state IN (`+strings.Join(marks, ", ")+`)
		ORDER BY updated_at, id LIMIT 10000`, args, scanPod)
}

// PutActivation stores a pod's activation, replacing an earlier one.
func (s *Store) PutActivation(ctx context.Context, a pods.Activation) error {
	_, err := s.exec(ctx, `INSERT INTO pod_activations (pod_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (pod_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at,
		expires_at = excluded.expires_at, used_at = NULL`, a.PodID, a.TokenHash, a.CreatedAt.UTC(), a.ExpiresAt.UTC())
	if err != nil {
		return fmt.Errorf("store activation of pod %s: %w", a.PodID, err)
	}
	return nil
}

// GetActivation reads a pod's activation.
func (s *Store) GetActivation(ctx context.Context, podID string) (pods.Activation, error) {
	a := pods.Activation{PodID: podID}
	var used sql.NullTime
	err := s.queryRow(ctx, `SELECT token_hash, created_at, expires_at, used_at FROM pod_activations WHERE pod_id = $1`, podID).
		Scan(&a.TokenHash, &a.CreatedAt, &a.ExpiresAt, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fault.NotFound("activation of pod", podID)
	}
	if err != nil {
		return a, fmt.Errorf("read activation of pod %s: %w", podID, err)
	}
	a.CreatedAt, a.ExpiresAt = a.CreatedAt.UTC(), a.ExpiresAt.UTC()
	if used.Valid {
		t := used.Time.UTC()
		a.UsedAt = &t
	}
	return a, nil
}

// SpendActivation marks a pod's activation used in one conditional
// UPDATE, if it is unused, unexpired at at and has that hash: of two uses
// at once only one is told it succeeded.
func (s *Store) SpendActivation(ctx context.Context, podID, tokenHash string, at time.Time) (bool, error) {
	res, err := s.exec(ctx, `UPDATE pod_activations SET used_at = $1
		WHERE pod_id = $2 AND token_hash = $3 AND used_at IS NULL AND expires_at > $1`, at.UTC(), podID, tokenHash)
	if err != nil {
		return false, fmt.Errorf("spend activation of pod %s: %w", podID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// TouchPod records a running pod's last activity; it is not a change of
// the pod, so its revision stays.
func (s *Store) TouchPod(ctx context.Context, tenantID, id string, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE pods SET active_at = $1 WHERE id = $2 AND tenant_id = $3 AND state = 'running'`, at.UTC(), id, tenantID)
	if err != nil {
		return fmt.Errorf("touch pod %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		p, err := s.GetPod(ctx, tenantID, id)
		if err != nil {
			return err
		}
		return fault.Conflict("pod %s is %s: only a running pod sends heartbeats", id, p.State)
	}
	return nil
}

const usageColumns = `id, tenant_id, pod_id, owner_id, offer_id, price_hour_micros, provider_hour_micros, markup_bps,
	storage_hour_micros, started_at, ended_at, gpu_count`

func scanUsage(row rowScanner) (pods.Usage, error) {
	var u pods.Usage
	var price, provider, storage int64
	var end sql.NullTime
	if err := row.Scan(&u.ID, &u.TenantID, &u.PodID, &u.OwnerID, &u.OfferID, &price, &provider, &u.Rate.MarkupBps, &storage,
		&u.Start, &end, &u.GPUCount); err != nil {
		return u, err
	}
	u.PriceHour, u.Start = money.Amount(price), u.Start.UTC()
	u.Rate.ProviderHour, u.Rate.StorageHour = money.Amount(provider), money.Amount(storage)
	if end.Valid {
		t := end.Time.UTC()
		u.End = &t
	}
	return u, nil
}

// OpenUsage starts a pod's running interval; a pod has one open at most.
func (s *Store) OpenUsage(ctx context.Context, u pods.Usage) error {
	_, err := s.exec(ctx, `INSERT INTO pod_usage (`+usageColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11)`,
		u.ID, u.TenantID, u.PodID, u.OwnerID, u.OfferID, u.PriceHour.Micros(), u.Rate.ProviderHour.Micros(), u.Rate.MarkupBps,
		u.Rate.StorageHour.Micros(), u.Start.UTC(), u.GPUCount)
	if isUniqueViolation(err) {
		return fault.Conflict("pod %s is already counted as running", u.PodID)
	}
	if err != nil {
		return fmt.Errorf("open usage of pod %s: %w", u.PodID, err)
	}
	return nil
}

// CloseUsage ends a pod's open running interval at at, if it has one.
func (s *Store) CloseUsage(ctx context.Context, podID string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE pod_usage SET ended_at = $1 WHERE pod_id = $2 AND ended_at IS NULL`, at.UTC(), podID); err != nil {
		return fmt.Errorf("close usage of pod %s: %w", podID, err)
	}
	return nil
}

// ListUsage returns a tenant's running intervals overlapping [f.From,
// f.To), newest first.
func (s *Store) ListUsage(ctx context.Context, f pods.UsageFilter) ([]pods.Usage, error) {
	where, args := usageWhere(f)
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return queryAll(ctx, s, "pod usage", `SELECT `+usageColumns+where+fmt.Sprintf(" ORDER BY started_at DESC, id DESC LIMIT %d", limit),
		args, scanUsage)
}

// usageWhere is the FROM and WHERE of the intervals f names.
func usageWhere(f pods.UsageFilter) (string, []any) {
	args := []any{f.TenantID}
	q := ` FROM pod_usage WHERE tenant_id = $1`
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.OwnerID != "" {
		add("owner_id = $%d", f.OwnerID)
	}
	if f.PodID != "" {
		add("pod_id = $%d", f.PodID)
	}
	if !f.From.IsZero() {
		add("(ended_at IS NULL OR ended_at > $%d)", f.From.UTC())
	}
	if !f.To.IsZero() {
		add("started_at < $%d", f.To.UTC())
	}
	return q, args
}

// PutScale sets or clears the scale of pod p, on its revision and state.
func (s *Store) PutScale(ctx context.Context, p pods.Pod, to *pods.Scale, at time.Time) (pods.Pod, error) {
	enc, err := encodeOptional(to)
	if err != nil {
		return pods.Pod{}, err
	}
	out, err := scanPod(s.queryRow(ctx, `UPDATE pods SET scale_to = $1, updated_at = $2, revision = revision + 1
		WHERE id = $3 AND tenant_id = $4 AND revision = $5 AND state = $6 RETURNING `+podColumns,
		enc, at.UTC(), p.ID, p.TenantID, p.Revision, string(p.State)))
	if errors.Is(err, sql.ErrNoRows) {
		return pods.Pod{}, s.whyNot(ctx, p.TenantID, p.ID, p.Revision, p.State, p.State)
	}
	if err != nil {
		return pods.Pod{}, fmt.Errorf("scale pod %s: %w", p.ID, err)
	}
	return out, nil
}

// ApplyScale gives a running pod being scaled its new configuration,
// machine, price and connection, on next's revision.
func (s *Store) ApplyScale(ctx context.Context, next pods.Pod, at time.Time) (pods.Pod, error) {
	conn, err := encodeOptional(next.Connection)
	if err != nil {
		return pods.Pod{}, err
	}
	out, err := scanPod(s.queryRow(ctx, `UPDATE pods SET gpu_count = $1, offer_id = $2, region = $3, vcpu = $4, ram_gib = $5,
		instance_id = $6, price_hour_micros = $7, connection = $8, scale_to = '', updated_at = $9, rate = $13, revision = revision + 1
		WHERE id = $10 AND tenant_id = $11 AND revision = $12 AND state = 'running' AND scale_to <> '' RETURNING `+podColumns,
		next.GPUCount, next.OfferID, next.Region, next.VCPU, next.RAMGiB, next.InstanceID, next.PriceHour.Micros(), conn, at.UTC(),
		next.ID, next.TenantID, next.Revision, mustJSON(next.Rate)))
	if errors.Is(err, sql.ErrNoRows) {
		return pods.Pod{}, s.whyNot(ctx, next.TenantID, next.ID, next.Revision, pods.Running, pods.Running)
	}
	if err != nil {
		return pods.Pod{}, fmt.Errorf("apply the scale of pod %s: %w", next.ID, err)
	}
	return out, nil
}

// mustJSON encodes a value of the pods package's own plain types, which
// cannot fail to encode.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// EachUsage calls fn with every running interval f selects (overlapping
// [f.From, f.To)), in no particular order, reading them as a stream with
// only what charging needs: pod, owner, offer, rate, start and end.
func (s *Store) EachUsage(ctx context.Context, f pods.UsageFilter, fn func(pods.Usage) error) error {
	where, args := usageWhere(f)
	const q = `SELECT pod_id, owner_id, offer_id, provider_hour_micros, markup_bps, storage_hour_micros, started_at, ended_at`
	var u pods.Usage
	var provider, storage int64
	// A month holds many intervals of few pods, owners and offers: each
	// name is made into a string once.
	names := map[string]string{}
	name := func(b []byte) string {
		if s, ok := names[string(b)]; ok {
			return s
		}
		s := string(b)
		names[s] = s
		return s
	}
	emit := func(pod, owner, offer []byte, end *time.Time) error {
		u.PodID, u.OwnerID, u.OfferID = name(pod), name(owner), name(offer)
		u.TenantID, u.Rate.ProviderHour, u.Rate.StorageHour, u.End = f.TenantID, money.Amount(provider), money.Amount(storage), end
		return fn(u)
	}
	if s.pool != nil && !inTx(ctx) {
		// PostgreSQL outside a transaction: pgx itself, which scans a
		// month of intervals in a fraction of database/sql's time.
		rows, err := s.pool.Query(ctx, q+where, args...)
		if err != nil {
			return fmt.Errorf("read pod usage: %w", err)
		}
		defer rows.Close()
		// The names are read in place (DriverBytes: no copy a row) and
		// made strings once, by name.
		var pod, owner, offer pgtype.DriverBytes
		var end pgtype.Timestamptz // pgx's own type: scanning sql.NullTime goes the slow way
		return eachRow(rows, []any{&pod, &owner, &offer, &provider, &u.Rate.MarkupBps, &storage, &u.Start, &end}, func() error {
			return emit(pod, owner, offer, optionalTime(sql.NullTime{Time: end.Time, Valid: end.Valid}))
		})
	}
	rows, err := s.query(ctx, q+where, args...)
	if err != nil {
		return fmt.Errorf("read pod usage: %w", err)
	}
	defer rows.Close()
	var end sql.NullTime
	var pod, owner, offer sql.RawBytes
	return eachRow(rows, []any{&pod, &owner, &offer, &provider, &u.Rate.MarkupBps, &storage, &u.Start, &end}, func() error {
		return emit(pod, owner, offer, optionalTime(end))
	})
}

// scanned is a result set: database/sql's rows and pgx's alike.
type scanned interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// eachRow scans every row into dest and hands it to fn.
func eachRow(rows scanned, dest []any, fn func() error) error {
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// UnsettledUsage lists ended intervals not yet charged to their owners'
// ledgers, of one tenant or (tenantID empty) of every tenant, oldest
// first, at most limit.
func (s *Store) UnsettledUsage(ctx context.Context, tenantID string, limit int) ([]pods.Usage, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return queryAll(ctx, s, "unsettled usage", fmt.Sprintf(`SELECT `+usageColumns+` FROM pod_usage
		WHERE ended_at IS NOT NULL AND settled_at IS NULL AND ($1 = '' OR tenant_id = $1) ORDER BY ended_at, id LIMIT %d`, limit),
		[]any{tenantID}, scanUsage)
}

// MarkUsageSettled records that an ended interval was charged.
func (s *Store) MarkUsageSettled(ctx context.Context, id string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE pod_usage SET settled_at = $1 WHERE id = $2 AND settled_at IS NULL`, at.UTC(), id); err != nil {
		return fmt.Errorf("mark usage %s settled: %w", id, err)
	}
	return nil
}
