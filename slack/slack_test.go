package slack_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/slack"
	"github.com/gpubroker/pod/tools"
)

// TestADecisionIsPostedWithButtonsAndUpdatedInPlace: the first event of a
// decision awaiting approval posts its message with Approve, Reject and
// Override carrying its id; a later one updates the same message with the
// outcome and no buttons; an older revision arriving late changes
// nothing.
func TestADecisionIsPostedWithButtonsAndUpdatedInPlace(t *testing.T) {
	r := newRig(t)
	d := awaiting("dec_post")
	r.show(t, d)
	posts := r.slack.called("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d posts; want 1", len(posts))
	}
	if posts[0].Get("channel") != "#gpubroker-agent" {
		t.Fatalf("posted to %v", posts[0])
	}
	blocks := blocksOf(t, posts[0])
	want := []string{"gpubroker_approve=dec_post", "gpubroker_reject=dec_post", "gpubroker_override=dec_post"}
	if got := buttons(blocks); !slices.Equal(got, want) {
		t.Fatalf("buttons %v; want %v", got, want)
	}
	text := posts[0].Get("blocks")
	for _, part := range []string{"Deploy an H100 on Lambda", "Lambda is the cheapest", "deploy_pod", `\"hours\": 6`, "$14.94",
		"awaiting approval", "above the approval threshold"} {
		if !strings.Contains(text, part) {
			t.Errorf("the message lacks %q: %s", part, text)
		}
	}

	d.Status, d.Revision, d.DecidedBy = decision.StatusApproved, 2, "u-ana"
	r.show(t, d)
	late := awaiting("dec_post")
	r.show(t, late)
	updates := r.slack.called("chat.update")
	if len(updates) != 1 || len(r.slack.called("chat.postMessage")) != 1 {
		t.Fatalf("%d updates, %d posts; want 1 and 1", len(updates), len(r.slack.called("chat.postMessage")))
	}
	if updates[0].Get("channel") != "C0AGENT" || updates[0].Get("ts") != "1700000000.000001" {
		t.Fatalf("updated %s %s; want the posted message", updates[0].Get("channel"), updates[0].Get("ts"))
	}
	if got := buttons(blocksOf(t, updates[0])); len(got) != 0 {
		t.Fatalf("a decided decision still shows buttons %v", got)
	}
	if !strings.Contains(updates[0].Get("blocks"), "Approved") {
		t.Fatalf("the update lacks the outcome: %s", updates[0].Get("blocks"))
	}
}

// TestATenantWithoutSlackIsNotPosted: slack.enabled off posts nothing.
func TestATenantWithoutSlackIsNotPosted(t *testing.T) {
	r := newRig(t)
	d := awaiting("dec_beta")
	d.TenantID = "beta"
	r.show(t, d)
	if n := len(r.slack.called("chat.postMessage")); n != 0 {
		t.Fatalf("%d posts for a tenant without Slack", n)
	}
}

// TestAnApproveClickActsAsTheAdminThroughTheTools: a signed click on
// Approve by the Slack user linked to a POD Admin calls approve_decision
// as that admin through the Slack face, then updates the message with
// the outcome; Reject does the same with reject_decision.
func TestAnApproveClickActsAsTheAdminThroughTheTools(t *testing.T) {
	for _, c := range []struct {
		name   string
		action string
		tool   string
		status string
	}{
		{"approve calls approve_decision", slack.ActionApprove, tools.ToolApproveDecision, "Approved"},
		{"reject calls reject_decision", slack.ActionReject, tools.ToolRejectDecision, "Rejected"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			r.show(t, awaiting("dec_click"))
			status, body := r.post(t, "/slack/interactions", click(c.action, "dec_click", slackAdmin), secret, r.now)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			calls := r.tools.requests()
			if len(calls) != 1 {
				t.Fatalf("calls %+v; want one", calls)
			}
			got := calls[0]
			want := actor.Actor{Kind: actor.KindSlack, ID: "u-ana", TenantID: "acme", Role: actor.RolePodAdmin, Name: "Ana"}
			if got.Tool != c.tool || got.Face != audit.FaceSlack || got.Actor != want {
				t.Fatalf("called %s as %+v through %s; want %s as %+v through slack", got.Tool, got.Actor, got.Face, c.tool, want)
			}
			var in map[string]string
			if err := json.Unmarshal(got.Input, &in); err != nil || in["id"] != "dec_click" || !strings.Contains(in["note"], "Ana") {
				t.Fatalf("input %s, %v", got.Input, err)
			}
			updates := r.slack.called("chat.update")
			if len(updates) != 1 || updates[0].Get("ts") != "1700000000.000001" || !strings.Contains(updates[0].Get("blocks"), c.status) {
				t.Fatalf("updates %v", updates)
			}
			if got := buttons(blocksOf(t, updates[0])); len(got) != 0 {
				t.Fatalf("buttons left after deciding: %v", got)
			}
		})
	}
}

// TestRequestsNotSignedBySlackAreRefusedAndAudited: a forged signature,
// a stale timestamp, a replayed request, a missing signature and one
// signed with the global secret on a tenant's own route are answered 401,
// audited, and call nothing.
func TestRequestsNotSignedBySlackAreRefusedAndAudited(t *testing.T) {
	r := newRig(t)
	r.show(t, awaiting("dec_sig"))
	good := click(slack.ActionApprove, "dec_sig", slackAdmin)
	if status, body := r.post(t, "/slack/interactions", good, secret, r.now); status != 200 {
		t.Fatalf("the genuine request: %d %s", status, body)
	}
	before := len(r.tools.requests())
	ts, sig := sign(secret, good, r.now)
	cases := []struct {
		name    string
		send    func() (int, string)
		outcome string
	}{
		{"a request signed with another secret is forged", func() (int, string) {
			return r.post(t, "/slack/interactions", click(slack.ActionReject, "dec_sig", slackAdmin), "not-the-secret", r.now)
		}, slack.RefusedForged},
		{"a signature over another body is forged", func() (int, string) {
			return r.postSigned(t, "/slack/interactions", click(slack.ActionReject, "dec_sig", slackAdmin), ts, sig)
		}, slack.RefusedForged},
		{"a request without a signature is forged", func() (int, string) {
			return r.postSigned(t, "/slack/interactions", good, "", "")
		}, slack.RefusedForged},
		{"a request signed six minutes ago is stale", func() (int, string) {
			return r.post(t, "/slack/interactions", click(slack.ActionReject, "dec_sig", slackAdmin), secret, r.now.Add(-6*time.Minute))
		}, slack.RefusedStale},
		{"the genuine request sent again is a replay", func() (int, string) {
			return r.postSigned(t, "/slack/interactions", good, ts, sig)
		}, slack.RefusedReplayed},
		{"the global secret does not sign for a tenant with its own", func() (int, string) {
			return r.post(t, "/slack/interactions/beta", click(slack.ActionReject, "dec_sig", "U0DI"), secret, r.now)
		}, slack.RefusedForged},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if status, body := c.send(); status != 401 {
				t.Fatalf("status %d: %s; want 401", status, body)
			}
			if !audited(t, r.st, c.outcome) {
				t.Fatalf("no %s refusal audited", c.outcome)
			}
		})
	}
	if got := r.tools.requests(); len(got) != before {
		t.Fatalf("a refused request called %+v", got[before:])
	}
}

// TestASlackUserWhoIsNotAPodAdminIsRefused: a Slack user linked to a Pro
// User, one Slack does not know by any admin's email, and the admin of
// another tenant are told they are not a POD Admin of the decision's
// tenant, in the thread, and nothing is called.
func TestASlackUserWhoIsNotAPodAdminIsRefused(t *testing.T) {
	for _, c := range []struct {
		name      string
		slackUser string
		path      string
		secret    string
	}{
		{"a Pro User", "U0BO", "/slack/interactions", secret},
		{"a stranger to the workspace", "U0STRANGER", "/slack/interactions", secret},
		{"the admin of another tenant", "U0DI", "/slack/interactions", secret},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			r.show(t, awaiting("dec_refuse"))
			if status, body := r.post(t, c.path, click(slack.ActionApprove, "dec_refuse", c.slackUser), c.secret, r.now); status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if calls := r.tools.requests(); len(calls) != 0 {
				t.Fatalf("called %+v", calls)
			}
			replies := r.slack.called("chat.postEphemeral")
			if len(replies) != 1 || replies[0].Get("text") != "refused: you are not a POD Admin of acme" ||
				replies[0].Get("user") != c.slackUser || replies[0].Get("thread_ts") != "1700000000.000001" {
				t.Fatalf("replies %v", replies)
			}
			if n := len(r.slack.called("chat.update")); n != 0 {
				t.Fatalf("%d updates after a refusal", n)
			}
			if !audited(t, r.st, "not_admin") {
				t.Fatal("the refusal was not audited")
			}
		})
	}
}

// TestAnAdminNotLinkedIsFoundByTheirEmail: a Slack user linked to nobody
// whose Slack email is a POD Admin's acts as that admin.
func TestAnAdminNotLinkedIsFoundByTheirEmail(t *testing.T) {
	r := newRig(t)
	r.slack.emails["cy@acme.test"] = "U0CY"
	r.show(t, awaiting("dec_email"))
	if status, body := r.post(t, "/slack/interactions", click(slack.ActionApprove, "dec_email", "U0CY"), secret, r.now); status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	calls := r.tools.requests()
	if len(calls) != 1 || calls[0].Actor.ID != "u-cy" || calls[0].Tool != tools.ToolApproveDecision {
		t.Fatalf("calls %+v", calls)
	}
}

// TestAToolsRefusalIsShownToTheAdmin: when the tool refuses (the decision
// was decided meanwhile), the admin reads why in the thread and the
// message is left to the decision's own event.
func TestAToolsRefusalIsShownToTheAdmin(t *testing.T) {
	r := newRig(t)
	r.show(t, awaiting("dec_late"))
	r.tools.refuse = fault.Conflict("decision dec_late is already approved")
	if status, body := r.post(t, "/slack/interactions", click(slack.ActionReject, "dec_late", slackAdmin), secret, r.now); status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	replies := r.slack.called("chat.postEphemeral")
	if len(replies) != 1 || !strings.Contains(replies[0].Get("text"), "already approved") {
		t.Fatalf("replies %v", replies)
	}
	if n := len(r.slack.called("chat.update")); n != 0 {
		t.Fatalf("%d updates after a refusal", n)
	}
}

// TestOverrideOpensAModalWhoseSubmissionCallsOverride: Override opens a
// modal on the click's trigger holding the decision's tool and arguments;
// bad JSON is shown on the arguments field and calls nothing; the edited
// call is passed to override_decision as the admin and the message
// updated.
func TestOverrideOpensAModalWhoseSubmissionCallsOverride(t *testing.T) {
	r := newRig(t)
	r.show(t, awaiting("dec_over"))
	if status, body := r.post(t, "/slack/interactions", click(slack.ActionOverride, "dec_over", slackAdmin), secret, r.now); status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	views := r.slack.opened()
	if len(views) != 1 {
		t.Fatalf("%d views opened", len(views))
	}
	var open struct {
		TriggerID string                   `json:"trigger_id"`
		View      slackgo.ModalViewRequest `json:"view"`
	}
	if err := json.Unmarshal(views[0], &open); err != nil {
		t.Fatal(err)
	}
	if open.TriggerID != "trig-gpubroker_override" || open.View.CallbackID != "gpubroker_override" ||
		!strings.Contains(open.View.PrivateMetadata, "dec_over") {
		t.Fatalf("opened %s", views[0])
	}
	if s := string(views[0]); !strings.Contains(s, `"initial_value":"deploy_pod"`) || !strings.Contains(s, `\"hours\": 6`) {
		t.Fatalf("the modal lacks the call to edit: %s", s)
	}

	status, body := r.post(t, "/slack/interactions", submission("dec_over", slackAdmin, "deploy_pod", `{"id": "pod_1", "hours": `, ""), secret, r.now)
	if status != 200 || !strings.Contains(body, `"response_action":"errors"`) || !strings.Contains(body, slack.BlockArgs) {
		t.Fatalf("bad JSON answered %d %s", status, body)
	}
	if calls := r.tools.requests(); len(calls) != 1 || calls[0].Tool != tools.ToolGetDecision {
		t.Fatalf("calls %+v; want only the read", calls)
	}

	r.now = r.now.Add(time.Second)
	status, body = r.post(t, "/slack/interactions",
		submission("dec_over", slackAdmin, "deploy_pod", `{"id": "pod_1", "hours": 2}`, "two hours are enough"), secret, r.now)
	if status != 200 || strings.TrimSpace(body) != "" {
		t.Fatalf("submission answered %d %q", status, body)
	}
	calls := r.tools.requests()
	last := calls[len(calls)-1]
	var in struct {
		ID     string          `json:"id"`
		Tool   string          `json:"tool"`
		Args   json.RawMessage `json:"args"`
		Reason string          `json:"reason"`
	}
	if err := json.Unmarshal(last.Input, &in); err != nil {
		t.Fatal(err)
	}
	if last.Tool != tools.ToolOverrideDecision || last.Actor.ID != "u-ana" || last.Face != audit.FaceSlack || in.ID != "dec_over" ||
		in.Tool != "deploy_pod" || string(in.Args) != `{"id":"pod_1","hours":2}` || in.Reason != "two hours are enough" {
		t.Fatalf("override called %s as %+v with %s", last.Tool, last.Actor, last.Input)
	}
	updates := r.slack.called("chat.update")
	if len(updates) != 1 || !strings.Contains(updates[0].Get("blocks"), "Overridden") {
		t.Fatalf("updates %v", updates)
	}
}

// TestAnOverrideByANonAdminIsRefusedInTheModal: the submission re-checks
// who submits.
func TestAnOverrideByANonAdminIsRefusedInTheModal(t *testing.T) {
	r := newRig(t)
	r.show(t, awaiting("dec_over2"))
	status, body := r.post(t, "/slack/interactions", submission("dec_over2", "U0BO", "deploy_pod", `{}`, ""), secret, r.now)
	if status != 200 || !strings.Contains(body, "refused: you are not a POD Admin of acme") {
		t.Fatalf("answered %d %s", status, body)
	}
	if calls := r.tools.requests(); len(calls) != 0 {
		t.Fatalf("called %+v", calls)
	}
}

// TestSlackErrorsThatHealAreTriedAgain: Slack down or limiting the rate
// is worth another try; a bad token or missing settings is not.
func TestSlackErrorsThatHealAreTriedAgain(t *testing.T) {
	for _, c := range []struct {
		name  string
		err   error
		final bool
	}{
		{"a 503", slackgo.StatusCodeError{Code: 503, Status: "503 Service Unavailable"}, false},
		{"the rate limit", &slackgo.RateLimitedError{RetryAfter: time.Second}, false},
		{"a connection refused", errors.New("dial tcp: connection refused"), false},
		{"a bad token", slackgo.SlackErrorResponse{Err: "invalid_auth"}, true},
		{"a channel the bot is not in", slackgo.SlackErrorResponse{Err: "not_in_channel"}, true},
		{"no token set", fault.Unavailable("slack.bot_token is empty"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := slack.Final(c.err); got != c.final {
				t.Fatalf("Final = %v; want %v", got, c.final)
			}
		})
	}
}

// TestLongArgumentsAreCutInTheMessage: arguments far over Slack's limits
// are shown cut, and the message stays within a section's 3000
// characters.
func TestLongArgumentsAreCutInTheMessage(t *testing.T) {
	d := awaiting("dec_long")
	d.Args = json.RawMessage(`{"script":"` + strings.Repeat("x", 10000) + `"}`)
	d.Thoughts = []string{strings.Repeat("why ", 2000)}
	for _, b := range slack.Render(d) {
		raw, _ := json.Marshal(b)
		var s struct {
			Text *struct {
				Text string `json:"text"`
			} `json:"text"`
		}
		_ = json.Unmarshal(raw, &s)
		if s.Text != nil && len([]rune(s.Text.Text)) > 3000 {
			t.Fatalf("a block of %d characters", len([]rune(s.Text.Text)))
		}
	}
}
