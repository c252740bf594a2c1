package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/policies"
)

const decisionColumns = `id, tenant_id, task_id, step, agent, admin_id, thoughts, headline, tool, args, effect, cost_micros,
	destructive, allowed, rule, reason, status, reply, result, error, decided_by, override, reverts, reverted_by,
	created_at, updated_at, revision, approval_id, read_only`

func scanDecision(row rowScanner) (decision.Decision, error) {
	var d decision.Decision
	var thoughts, args, rule, status, result, override string
	var cost int64
	err := row.Scan(&d.ID, &d.TenantID, &d.TaskID, &d.Step, &d.Agent, &d.AdminID, &thoughts, &d.Headline, &d.Tool, &args,
		&d.Preview.Effect, &cost, &d.Preview.Destructive, &d.Verdict.Allowed, &rule, &d.Verdict.Reason, &status, &d.Reply,
		&result, &d.Error, &d.DecidedBy, &override, &d.Reverts, &d.RevertedBy, &d.CreatedAt, &d.UpdatedAt, &d.Revision,
		&d.ApprovalID, &d.ReadOnly)
	if err != nil {
		return d, err
	}
	d.Preview.Cost, d.Verdict.Rule, d.Status = money.Amount(cost), policies.Rule(rule), decision.Status(status)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	d.Args, d.Result = rawOrNil(args), rawOrNil(result)
	if err := json.Unmarshal([]byte(thoughts), &d.Thoughts); err != nil {
		return d, fmt.Errorf("decode decision %s thoughts: %w", d.ID, err)
	}
	if d.Override, err = decodeOptional[decision.Override](override); err != nil {
		return d, fmt.Errorf("decode decision %s override: %w", d.ID, err)
	}
	return d, nil
}

// rawOrNil is stored JSON text as a raw message, nil for none.
func rawOrNil(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

// CreateDecision stores a new decision as given (its revision included).
func (s *Store) CreateDecision(ctx context.Context, d decision.Decision) error {
	override, err := encodeOptional(d.Override)
	if err != nil {
		return fmt.Errorf("encode decision %s override: %w", d.ID, err)
	}
	thoughts := d.Thoughts
	if thoughts == nil {
		thoughts = []string{}
	}
	_, err = s.exec(ctx, `INSERT INTO agent_decisions (`+decisionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)`,
		d.ID, d.TenantID, d.TaskID, d.Step, d.Agent, d.AdminID, mustJSON(thoughts), d.Headline, d.Tool, string(d.Args),
		d.Preview.Effect, d.Preview.Cost.Micros(), d.Preview.Destructive, d.Verdict.Allowed, string(d.Verdict.Rule), d.Verdict.Reason,
		string(d.Status), d.Reply, string(d.Result), d.Error, d.DecidedBy, override, d.Reverts, d.RevertedBy,
		d.CreatedAt.UTC(), d.UpdatedAt.UTC(), d.Revision, d.ApprovalID, d.ReadOnly)
	if isUniqueViolation(err) {
		return fault.Conflict("decision %s already exists", d.ID)
	}
	if err != nil {
		return fmt.Errorf("create decision %s: %w", d.ID, err)
	}
	return nil
}

// Decision reads one decision of a tenant; another tenant's is not found.
func (s *Store) Decision(ctx context.Context, tenantID, id string) (decision.Decision, error) {
	d, err := scanDecision(s.queryRow(ctx, `SELECT `+decisionColumns+` FROM agent_decisions WHERE id = $1 AND tenant_id = $2`, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return decision.Decision{}, fault.NotFound("decision", id)
	}
	if err != nil {
		return decision.Decision{}, fmt.Errorf("read decision %s: %w", id, err)
	}
	return d, nil
}

// ListDecisions returns a tenant's decisions matching f, newest first, at
// most f.Limit, after the decision f.After names when it is set.
func (s *Store) ListDecisions(ctx context.Context, f decision.Filter) ([]decision.Decision, error) {
	args := []any{f.TenantID}
	q := `SELECT ` + decisionColumns + ` FROM agent_decisions WHERE tenant_id = $1`
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Status != "" {
		add("status = $%d", string(f.Status))
	}
	if f.Tool != "" {
		add("tool = $%d", f.Tool)
	}
	if f.TaskID != "" {
		add("task_id = $%d", f.TaskID)
	}
	if f.Changes {
		q += " AND read_only = FALSE"
	}
	if f.MinCost > 0 {
		add("cost_micros >= $%d", f.MinCost.Micros())
	}
	if f.After != "" {
		add("(created_at, id) < (SELECT created_at, id FROM agent_decisions WHERE tenant_id = $1 AND id = $%d)", f.After)
	}
	return listNewest(ctx, s, "decisions", q, args, f.Limit, scanDecision)
}

// MoveDecision moves a decision from c.From to c.To on the revision the
// caller read. Of two moves on one revision only the first lands; the
// second is a conflict naming the status the decision is in now.
func (s *Store) MoveDecision(ctx context.Context, c decision.Change) (decision.Decision, error) {
	if err := decision.CheckMove(c.ID, c.From, c.To); err != nil {
		return decision.Decision{}, err
	}
	override, err := encodeOptional(c.Override)
	if err != nil {
		return decision.Decision{}, fmt.Errorf("encode decision %s override: %w", c.ID, err)
	}
	var v decision.Verdict
	if c.Verdict != nil {
		v = *c.Verdict
	}
	d, err := scanDecision(s.queryRow(ctx, `UPDATE agent_decisions SET status = $1, updated_at = $2,
		result = CASE WHEN $3 = '' THEN result ELSE $3 END,
		error = CASE WHEN $4 = '' THEN error ELSE $4 END,
		decided_by = CASE WHEN $5 = '' THEN decided_by ELSE $5 END,
		override = CASE WHEN $6 = '' THEN override ELSE $6 END,
		reverted_by = CASE WHEN $7 = '' THEN reverted_by ELSE $7 END,
		approval_id = CASE WHEN $12 = '' THEN approval_id ELSE $12 END,
		allowed = CASE WHEN $13 THEN $14 ELSE allowed END,
		rule = CASE WHEN $13 THEN $15 ELSE rule END,
		reason = CASE WHEN $13 THEN $16 ELSE reason END,
		revision = revision + 1
		WHERE id = $8 AND tenant_id = $9 AND revision = $10 AND status = $11 RETURNING `+decisionColumns,
		string(c.To), c.At.UTC(), string(c.Result), c.Error, c.DecidedBy, override, c.RevertedBy,
		c.ID, c.TenantID, c.Revision, string(c.From), c.ApprovalID, c.Verdict != nil, v.Allowed, string(v.Rule), v.Reason))
	if errors.Is(err, sql.ErrNoRows) {
		return decision.Decision{}, s.whyNotDecision(ctx, c)
	}
	if err != nil {
		return decision.Decision{}, fmt.Errorf("move decision %s to %s: %w", c.ID, c.To, err)
	}
	return d, nil
}

// whyNotDecision says why a move matched nothing: the decision is gone,
// is no longer in the status the move needs, or moved on since it was
// read.
func (s *Store) whyNotDecision(ctx context.Context, c decision.Change) error {
	cur, err := s.Decision(ctx, c.TenantID, c.ID)
	if err != nil {
		return err
	}
	if cur.Status != c.From {
		if err := decision.CheckMove(c.ID, cur.Status, c.To); err != nil {
			return err
		}
	}
	return fault.Conflict("decision %s changed since revision %d (it is %s at revision %d): read it again and retry",
		c.ID, c.Revision, cur.Status, cur.Revision)
}

// likeEscaper escapes what LIKE reads as wildcards, with \ as the escape.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// DecisionDelivery reads where a decision's news went: its events in the
// outbox (by the decision id their payload carries), oldest first, and
// its Slack message.
func (s *Store) DecisionDelivery(ctx context.Context, tenantID, decisionID string) (decision.Delivery, error) {
	out := decision.Delivery{Events: []decision.EventDelivery{}}
	pattern := `%"decision":{"id":"` + likeEscaper.Replace(decisionID) + `"%`
	rows, err := s.query(ctx, `SELECT id, type, created_at, published_at FROM outbox
		WHERE tenant_id = $1 AND type LIKE 'agent.decision\_%' ESCAPE '\' AND payload LIKE $2 ESCAPE '\' ORDER BY seq`, tenantID, pattern)
	if err != nil {
		return out, fmt.Errorf("read the events of decision %s: %w", decisionID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e decision.EventDelivery
		var published sql.NullTime
		if err := rows.Scan(&e.ID, &e.Type, &e.CreatedAt, &published); err != nil {
			return out, fmt.Errorf("scan the events of decision %s: %w", decisionID, err)
		}
		e.CreatedAt, e.PublishedAt = e.CreatedAt.UTC(), optionalTime(published)
		out.Events = append(out.Events, e)
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	var sd decision.SlackMessage
	err = s.queryRow(ctx, `SELECT channel, ts, revision, posted_at, updated_at FROM slack_messages WHERE decision_id = $1 AND tenant_id = $2`,
		decisionID, tenantID).Scan(&sd.Channel, &sd.TS, &sd.Revision, &sd.PostedAt, &sd.UpdatedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return out, fmt.Errorf("read the slack message of decision %s: %w", decisionID, err)
	default:
		sd.PostedAt, sd.UpdatedAt = sd.PostedAt.UTC(), sd.UpdatedAt.UTC()
		out.Slack = &sd
	}
	return out, nil
}
