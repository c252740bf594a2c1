package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	slackgo "github.com/slack-go/slack"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/tools"
)

// The override modal: its callback id, and the block of each input (each
// input's own action id is inputElement).
const (
	callbackOverride = "gpubroker_override"
	BlockTool        = "override_tool"
	BlockArgs        = "override_args"
	BlockReason      = "override_reason"
	inputElement     = "value"
	// maxInput is the most a plain-text input holds.
	maxInput = 3000
)

// modalMeta is what the modal carries from the click to the submission.
type modalMeta struct {
	Decision string `json:"decision"`
}

// openOverride opens the modal in which the admin edits the decision's
// call: the tool, its arguments as JSON and a reason.
func (f *Face) openOverride(ctx context.Context, t target, by actor.Actor, ic *slackgo.InteractionCallback) {
	res := f.call(ctx, by, ic, tools.ToolGetDecision, map[string]any{"id": t.decisionID})
	d, ok := asDecision(res.Output, t.decisionID)
	if res.Err != nil || !ok {
		f.reply(ctx, t, ic.User.ID, "could not read decision "+t.decisionID+" to override it: "+errText(res.Err))
		return
	}
	args := editable(d.Args)
	if len(args) > maxInput {
		f.reply(ctx, t, ic.User.ID, "the arguments of decision "+d.ID+" are too long to edit in Slack; override it in the admin console")
		return
	}
	if _, err := t.client.OpenViewContext(ctx, ic.TriggerID, OverrideModal(d, args)); err != nil {
		f.d.Log.WarnContext(ctx, "open the override modal", "decision", d.ID, "err", err)
		f.reply(ctx, t, ic.User.ID, "could not open the override form: "+err.Error())
	}
}

// OverrideModal is the modal to override d, its arguments shown as args.
func OverrideModal(d decision.Decision, args string) slackgo.ModalViewRequest {
	meta, _ := json.Marshal(modalMeta{Decision: d.ID})
	tool := slackgo.NewInputBlock(BlockTool, plain("Tool"), plain("The tool to call instead of "+d.Tool),
		slackgo.NewPlainTextInputBlockElement(plain("a tool name"), inputElement).WithInitialValue(d.Tool))
	argsIn := slackgo.NewInputBlock(BlockArgs, plain("Arguments (JSON)"), nil,
		slackgo.NewPlainTextInputBlockElement(nil, inputElement).WithInitialValue(args).WithMultiline(true))
	reason := slackgo.NewInputBlock(BlockReason, plain("Reason"), nil,
		slackgo.NewPlainTextInputBlockElement(plain("why the call changes"), inputElement).WithMultiline(true))
	reason.Optional = true
	return slackgo.ModalViewRequest{
		Type: slackgo.VTModal, Title: plain("Override decision"), Submit: plain("Override"), Close: plain("Cancel"),
		CallbackID: callbackOverride, PrivateMetadata: string(meta),
		Blocks: slackgo.Blocks{BlockSet: []slackgo.Block{
			section(clip("*"+escape(d.Headline)+"*\n`"+d.ID+"`", maxFieldText)),
			tool, argsIn, reason,
		}},
	}
}

// submitOverride calls override_decision with what the admin submitted.
// It answers the errors to show in the modal by block, none when the
// modal may close.
func (f *Face) submitOverride(ctx context.Context, in request, ic *slackgo.InteractionCallback) map[string]string {
	var meta modalMeta
	if json.Unmarshal([]byte(ic.View.PrivateMetadata), &meta) != nil || meta.Decision == "" {
		return map[string]string{BlockArgs: "this form does not name a decision; open it again from the message"}
	}
	t, err := f.find(ctx, in, meta.Decision)
	if err != nil {
		f.d.Log.WarnContext(ctx, "an override submitted for a decision not posted here", "decision", meta.Decision, "err", err)
		return map[string]string{BlockArgs: "decision " + meta.Decision + " is not known here"}
	}
	by, ok := f.as(ctx, t, ic)
	if !ok {
		return map[string]string{BlockTool: "refused: you are not a POD Admin of " + t.tenantID}
	}
	value := func(block string) string {
		if ic.View.State == nil {
			return ""
		}
		return ic.View.State.Values[block][inputElement].Value
	}
	tool, reason := strings.TrimSpace(value(BlockTool)), strings.TrimSpace(value(BlockReason))
	errs := map[string]string{}
	if tool == "" {
		errs[BlockTool] = "name the tool to call instead"
	}
	var args map[string]json.RawMessage
	if err := json.Unmarshal([]byte(value(BlockArgs)), &args); err != nil || args == nil {
		msg := "want a JSON object such as {\"id\": \"pod_1\"}"
		if err != nil {
			msg = "not a JSON object: " + err.Error()
		}
		errs[BlockArgs] = clip(msg, 150)
	}
	if len(errs) > 0 {
		return errs
	}
	if reason == "" {
		reason = "overridden in Slack by " + who(by)
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, []byte(value(BlockArgs)))
	res := f.call(ctx, by, ic, tools.ToolOverrideDecision, map[string]any{"id": t.decisionID, "tool": tool,
		"args": json.RawMessage(compact.Bytes()), "reason": reason})
	if res.Err != nil {
		return map[string]string{BlockArgs: clip("could not override: "+res.Err.Error(), 150)}
	}
	f.refresh(ctx, t, by, ic, res.Output)
	return nil
}

// editable is a decision's arguments as the admin edits them: indented
// JSON, or compact when that is too long for the input.
func editable(raw json.RawMessage) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "{}"
	}
	var out bytes.Buffer
	if json.Indent(&out, raw, "", "  ") != nil {
		return string(raw)
	}
	if out.Len() > maxInput {
		out.Reset()
		_ = json.Compact(&out, raw)
	}
	return out.String()
}

func errText(err error) string {
	if err == nil {
		return "the answer was not a decision"
	}
	return err.Error()
}
