package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	slackgo "github.com/slack-go/slack"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/tools"
)

// Tolerance is how far a request's signed timestamp may be from now; an
// older request is refused as a capture sent again. Signatures accepted
// are remembered for twice as long, which covers every timestamp that
// could still pass.
const Tolerance = 5 * time.Minute

// MaxInteractionBody bounds a request; Slack's payloads are far smaller.
const MaxInteractionBody = 1 << 20

// The refusals of a request, as audited.
const (
	RefusedForged   = "forged"
	RefusedStale    = "stale"
	RefusedReplayed = "replayed"
)

// maxEmailLookups bounds the users.lookupByEmail calls one click makes
// to find a Slack user not linked to a user.
const maxEmailLookups = 20

// request is what is known of an interaction request before its payload.
type request struct {
	// tenant is the tenant whose own route was called; "" for the global
	// one.
	tenant string
	path   string
	addr   string
}

// Interactions serves POST /slack/interactions, verified with the global
// slack.signing_secret, and POST /slack/interactions/{tenant}, verified
// with the tenant's own (the global one when it has none) and acting only
// on that tenant's decisions. A forged, stale or replayed request is
// answered 401 and audited.
func (f *Face) Interactions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.serve(w, r, chi.URLParam(r, "tenant"))
	})
}

func (f *Face) serve(w http.ResponseWriter, r *http.Request, tenantID string) {
	ctx := r.Context()
	in := request{tenant: tenantID, path: r.URL.Path, addr: clientHost(r)}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxInteractionBody))
	if err != nil {
		if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "the request is larger than 1 MiB")
			return
		}
		writeError(w, http.StatusBadRequest, "the request body could not be read")
		return
	}
	cfg, err := f.d.Configs(ctx, tenantID)
	if err != nil {
		if fault.KindOf(err) == fault.KindNotFound {
			writeError(w, http.StatusNotFound, "no such tenant")
			return
		}
		f.d.Log.ErrorContext(ctx, "read the Slack settings", "tenant", tenantID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "the Slack settings could not be read")
		return
	}
	if cfg.SigningSecret == "" {
		f.d.Log.WarnContext(ctx, "a Slack request came but no signing secret is set", "tenant", tenantID, "ip", in.addr)
		writeError(w, http.StatusServiceUnavailable, "no Slack signing secret is set: set slack.signing_secret")
		return
	}
	refusal, msg, err := f.verify(ctx, r.Header, body, cfg.SigningSecret)
	if err != nil {
		f.d.Log.ErrorContext(ctx, "check a Slack request for a replay", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the request could not be checked; Slack may send it again")
		return
	}
	if refusal != "" {
		f.refuse(ctx, in, refusal, msg)
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	form, err := url.ParseQuery(string(body))
	var ic slackgo.InteractionCallback
	if err == nil {
		err = json.Unmarshal([]byte(form.Get("payload")), &ic)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "the payload is not a Slack interaction")
		return
	}
	switch {
	case ic.Type == slackgo.InteractionTypeBlockActions:
		for _, a := range ic.ActionCallback.BlockActions {
			switch a.ActionID {
			case ActionApprove, ActionReject, ActionOverride:
				f.clicked(ctx, in, &ic, a.ActionID, a.Value)
			}
		}
		w.WriteHeader(http.StatusOK)
	case ic.Type == slackgo.InteractionTypeViewSubmission && ic.View.CallbackID == callbackOverride:
		errs := f.submitOverride(ctx, in, &ic)
		if len(errs) > 0 {
			writeJSON(w, slackgo.NewErrorsViewSubmissionResponse(errs))
			return
		}
		w.WriteHeader(http.StatusOK) // an empty answer closes the modal
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// verify checks the request's v0 signature with secret, its age against
// the face's clock, and that it was not received before. It answers the
// refusal and why, or "" for a request to serve; an error means the
// replay check could not be made.
func (f *Face) verify(ctx context.Context, h http.Header, body []byte, secret string) (refusal, msg string, err error) {
	sig, stamp := h.Get("X-Slack-Signature"), h.Get("X-Slack-Request-Timestamp")
	if sig == "" || stamp == "" {
		return RefusedForged, "the request is not signed: X-Slack-Signature or X-Slack-Request-Timestamp is missing", nil
	}
	secs, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return RefusedForged, "X-Slack-Request-Timestamp is not a Unix time", nil
	}
	now := f.now()
	if age := now.Sub(time.Unix(secs, 0)); age > Tolerance || age < -Tolerance {
		return RefusedStale, "the request's timestamp is more than 5 minutes from now", nil
	}
	v, err := slackgo.NewSecretsVerifier(h, secret)
	switch {
	case errors.Is(err, slackgo.ErrExpiredTimestamp):
		return RefusedStale, "the request's timestamp is more than 5 minutes from now", nil
	case err != nil:
		return RefusedForged, "X-Slack-Signature is not a v0 signature", nil
	}
	if _, err := v.Write(body); err != nil {
		return "", "", fmt.Errorf("hash the request: %w", err)
	}
	if v.Ensure() != nil {
		return RefusedForged, "X-Slack-Signature does not match the request and the signing secret", nil
	}
	fresh, err := f.d.Signatures.SeeSlackSignature(ctx, sig, now, now.Add(-2*Tolerance))
	if err != nil {
		return "", "", err
	}
	if !fresh {
		return RefusedReplayed, "this signed request was received before", nil
	}
	return "", "", nil
}

// refuse audits a refused request; a failure to audit is logged and the
// refusal stands.
func (f *Face) refuse(ctx context.Context, in request, refusal, msg string) {
	r := audit.Record{At: f.now(), Actor: actor.Anonymous(in.tenant, in.addr), Face: audit.FaceSlack, TenantID: in.tenant,
		Action: "slack.interaction", Verdict: "deny", Error: msg,
		Input: audit.JSON(map[string]any{"endpoint": in.path, "outcome": refusal, "ip": in.addr})}
	if _, err := f.d.Audit.AppendAudit(ctx, r); err != nil {
		f.d.Log.ErrorContext(ctx, "audit a refused Slack request", "outcome", refusal, "err", err)
	}
	f.d.Log.WarnContext(ctx, "Slack request refused", "outcome", refusal, "tenant", in.tenant, "ip", in.addr)
}

// target is the decision a click or a form is about: its tenant, its
// message and the Slack client of the tenant.
type target struct {
	decisionID string
	tenantID   string
	channel    string
	ts         string
	cfg        Config
	client     *slackgo.Client
}

// find finds the decision's message, which names its tenant. A decision
// this platform did not post, or another tenant's under a tenant's own
// route, is not found.
func (f *Face) find(ctx context.Context, in request, decisionID string) (target, error) {
	tenantID, channel, ts, err := f.d.Messages.SlackMessage(ctx, decisionID)
	if err != nil {
		return target{}, err
	}
	if in.tenant != "" && in.tenant != tenantID {
		return target{}, fault.NotFound("slack message of decision", decisionID)
	}
	cfg, err := f.d.Configs(ctx, tenantID)
	if err != nil {
		return target{}, err
	}
	return target{decisionID: decisionID, tenantID: tenantID, channel: channel, ts: ts, cfg: cfg, client: f.client(cfg.BotToken)}, nil
}

// as finds the POD Admin a Slack user is in the target's tenant. A user
// who is not one is told so in the thread and the refusal audited;
// ok is then false.
func (f *Face) as(ctx context.Context, t target, ic *slackgo.InteractionCallback) (actor.Actor, bool) {
	u, ok, err := f.admin(ctx, t.client, t.tenantID, ic.User.ID)
	if err != nil {
		f.d.Log.ErrorContext(ctx, "find the user behind a Slack user", "tenant", t.tenantID, "slack_user", ic.User.ID, "err", err)
		f.reply(ctx, t, ic.User.ID, "could not check who you are just now; try again")
		return actor.Actor{}, false
	}
	if !ok {
		msg := "refused: you are not a POD Admin of " + t.tenantID
		r := audit.Record{At: f.now(), Actor: actor.Actor{Kind: actor.KindSlack, ID: ic.User.ID, TenantID: t.tenantID, Name: ic.User.Name},
			Face: audit.FaceSlack, TenantID: t.tenantID, Action: "slack.interaction", Verdict: "deny", Error: msg,
			Input: audit.JSON(map[string]any{"decision": t.decisionID, "slack_user": ic.User.ID, "outcome": "not_admin"})}
		if _, err := f.d.Audit.AppendAudit(ctx, r); err != nil {
			f.d.Log.ErrorContext(ctx, "audit a refused Slack user", "err", err)
		}
		f.reply(ctx, t, ic.User.ID, msg)
		return actor.Actor{}, false
	}
	return actor.Actor{Kind: actor.KindSlack, ID: u.ID, TenantID: t.tenantID, Role: actor.RolePodAdmin, Name: u.Name}, true
}

// admin finds the user of tenantID a Slack user is: the one linked to the
// Slack id, else the active POD Admin whose email Slack knows as that
// Slack user's. ok reports whether the user is an active POD Admin of the
// tenant (verified email, role pod_admin).
func (f *Face) admin(ctx context.Context, client *slackgo.Client, tenantID, slackUserID string) (auth.User, bool, error) {
	u, err := f.d.Users.UserBySlackID(ctx, tenantID, slackUserID)
	if err == nil {
		return u, activeAdmin(u, tenantID), nil
	}
	if fault.KindOf(err) != fault.KindNotFound {
		return auth.User{}, false, err
	}
	users, err := f.d.Users.UsersOfTenant(ctx, tenantID)
	if err != nil {
		return auth.User{}, false, err
	}
	looked := 0
	for _, u := range users {
		if !activeAdmin(u, tenantID) {
			continue
		}
		if looked == maxEmailLookups {
			break
		}
		looked++
		su, err := client.GetUserByEmailContext(ctx, u.Email)
		var refused slackgo.SlackErrorResponse
		if errors.As(err, &refused) && refused.Err == "users_not_found" {
			continue
		}
		if err != nil {
			return auth.User{}, false, fmt.Errorf("look up %s in Slack: %w", u.ID, err)
		}
		if su.ID == slackUserID && !su.Deleted {
			return u, true, nil
		}
	}
	return auth.User{}, false, nil
}

func activeAdmin(u auth.User, tenantID string) bool {
	return u.TenantID == tenantID && u.Role == actor.RolePodAdmin && u.EmailVerified
}

// clicked acts on a click of one of a decision's buttons.
func (f *Face) clicked(ctx context.Context, in request, ic *slackgo.InteractionCallback, action, decisionID string) {
	t, err := f.find(ctx, in, decisionID)
	if err != nil {
		f.d.Log.WarnContext(ctx, "a Slack click on a decision not posted here", "decision", decisionID, "tenant", in.tenant, "err", err)
		return
	}
	by, ok := f.as(ctx, t, ic)
	if !ok {
		return
	}
	switch action {
	case ActionApprove:
		f.decide(ctx, t, by, ic, tools.ToolApproveDecision, "approve")
	case ActionReject:
		f.decide(ctx, t, by, ic, tools.ToolRejectDecision, "reject")
	case ActionOverride:
		f.openOverride(ctx, t, by, ic)
	}
}

// decide approves or rejects the decision through tool, as by.
func (f *Face) decide(ctx context.Context, t target, by actor.Actor, ic *slackgo.InteractionCallback, tool, verb string) {
	res := f.call(ctx, by, ic, tool, map[string]any{"id": t.decisionID, "note": verb + "d in Slack by " + who(by)})
	if res.Err != nil {
		f.reply(ctx, t, ic.User.ID, fmt.Sprintf("could not %s decision %s: %v", verb, t.decisionID, res.Err))
		return
	}
	f.refresh(ctx, t, by, ic, res.Output)
}

// refresh shows the decision as the tool left it: its output when that is
// the decision, else as get_decision reads it. A message that could not
// be updated is left to the decision's event, which updates it too.
func (f *Face) refresh(ctx context.Context, t target, by actor.Actor, ic *slackgo.InteractionCallback, out any) {
	d, ok := asDecision(out, t.decisionID)
	if !ok {
		res := f.call(ctx, by, ic, tools.ToolGetDecision, map[string]any{"id": t.decisionID})
		if d, ok = asDecision(res.Output, t.decisionID); res.Err != nil || !ok {
			f.d.Log.WarnContext(ctx, "read a decision decided in Slack", "decision", t.decisionID, "err", res.Err)
			return
		}
	}
	if err := f.update(ctx, t.cfg.BotToken, t.channel, t.ts, d); err != nil {
		f.d.Log.WarnContext(ctx, "update a decision's Slack message after acting", "decision", d.ID, "err", err)
	}
}

// call runs one tool as the admin, through the Slack face.
func (f *Face) call(ctx context.Context, by actor.Actor, ic *slackgo.InteractionCallback, tool string, input any) tools.Result {
	raw, err := json.Marshal(input)
	if err != nil {
		return tools.Result{Err: fmt.Errorf("encode the input of %s: %w", tool, err)}
	}
	res := f.d.Tools.Call(ctx, tools.Request{Actor: by, Face: audit.FaceSlack, RequestID: "slack:" + ic.TriggerID, Tool: tool, Input: raw})
	f.d.Log.InfoContext(ctx, "Slack action", "tenant", by.TenantID, "actor", by.String(), "tool", tool, "ok", res.Err == nil)
	return res
}

// reply tells the Slack user something only they see, in the decision's
// thread.
func (f *Face) reply(ctx context.Context, t target, slackUserID, text string) {
	if _, err := t.client.PostEphemeralContext(ctx, t.channel, slackUserID, slackgo.MsgOptionText(text, false),
		slackgo.MsgOptionTS(t.ts)); err != nil {
		f.d.Log.WarnContext(ctx, "reply to a Slack user", "tenant", t.tenantID, "slack_user", slackUserID, "err", err)
	}
}

// asDecision reads a tool's output as the decision id, if it is one.
func asDecision(out any, id string) (decision.Decision, bool) {
	var d decision.Decision
	switch v := out.(type) {
	case decision.Decision:
		d = v
	case *decision.Decision:
		d = *v
	case nil:
		return d, false
	default:
		raw, err := json.Marshal(out)
		if err != nil || json.Unmarshal(raw, &d) != nil {
			return d, false
		}
		if d.ID == "" {
			var wrapped struct {
				Decision decision.Decision `json:"decision"`
			}
			if json.Unmarshal(raw, &wrapped) == nil {
				d = wrapped.Decision
			}
		}
	}
	return d, d.ID == id && d.Status.Valid()
}

// who names an admin in a note.
func who(a actor.Actor) string {
	if a.Name != "" {
		return a.Name + " (" + a.ID + ")"
	}
	return a.ID
}

func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
