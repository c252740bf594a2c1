package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	slackgo "github.com/slack-go/slack"

	"github.com/gpubroker/pod/decision"
)

// The ids of the message's buttons; each button's value is the decision
// id.
const (
	ActionApprove  = "gpubroker_approve"
	ActionReject   = "gpubroker_reject"
	ActionOverride = "gpubroker_override"
	// blockActions is the block holding the buttons.
	blockActions = "gpubroker_decision_actions"
)

// Limits of what one message shows: Slack refuses a header over 150
// characters and a text over 3000; long arguments and results are cut
// well before, since nobody reads them in a channel.
const (
	maxHeader    = 150
	maxThoughts  = 2000
	maxCode      = 1500
	maxFieldText = 1900
)

// Render is the message showing d: what the agent wants to do and why,
// the call and its cost, the policy's verdict and where the decision
// stands, and, while it awaits approval, the buttons to decide it. Once
// decided the buttons are gone and the outcome says what became of it.
func Render(d decision.Decision) []slackgo.Block {
	headline := d.Headline
	if headline == "" {
		headline = "The agent wants to call " + d.Tool
	}
	blocks := []slackgo.Block{
		slackgo.NewHeaderBlock(plain(clip(headline, maxHeader))),
	}
	if len(d.Thoughts) > 0 {
		var b strings.Builder
		b.WriteString("*Reasoning*")
		for _, t := range d.Thoughts {
			b.WriteString("\n> ")
			b.WriteString(strings.ReplaceAll(escape(t), "\n", "\n> "))
		}
		blocks = append(blocks, section(clip(b.String(), maxThoughts)))
	}
	blocks = append(blocks, section(fmt.Sprintf("*Tool* `%s`\n%s", escape(d.Tool), codeBlock(d.Args))))
	fields := []*slackgo.TextBlockObject{
		markdown("*Cost*\n" + d.Preview.Cost.String()),
		markdown("*Status*\n" + statusText(d.Status)),
		markdown("*Verdict*\n" + clip(verdictText(d.Verdict), maxFieldText)),
	}
	if d.Preview.Effect != "" {
		effect := escape(d.Preview.Effect)
		if d.Preview.Destructive {
			effect = ":warning: " + effect + " _(destructive)_"
		}
		fields = append(fields, markdown("*Effect*\n"+clip(effect, maxFieldText)))
	}
	blocks = append(blocks, slackgo.NewSectionBlock(nil, fields, nil))
	if out := outcomeText(d); out != "" {
		blocks = append(blocks, section(out))
	}
	blocks = append(blocks, slackgo.NewContextBlock("",
		markdown(fmt.Sprintf("decision `%s` · task `%s` · step %d · revision %d", d.ID, escape(d.TaskID), d.Step, d.Revision))))
	if d.Status == decision.StatusAwaitingApproval {
		confirm := slackgo.NewConfirmationBlockObject(plain("Reject this decision?"),
			plain("The agent's call will not run."), plain("Reject"), plain("Keep it"))
		blocks = append(blocks, slackgo.NewActionBlock(blockActions,
			slackgo.NewButtonBlockElement(ActionApprove, d.ID, plain("Approve")).WithStyle(slackgo.StylePrimary),
			slackgo.NewButtonBlockElement(ActionReject, d.ID, plain("Reject")).WithStyle(slackgo.StyleDanger).WithConfirm(confirm),
			slackgo.NewButtonBlockElement(ActionOverride, d.ID, plain("Override…")),
		))
	}
	return blocks
}

// Summary is the message's plain text: what notifications and clients
// without blocks show.
func Summary(d decision.Decision) string {
	headline := d.Headline
	if headline == "" {
		headline = d.Tool
	}
	return clip(fmt.Sprintf("Agent decision %s: %s (%s, %s)", d.ID, headline, statusText(d.Status), d.Preview.Cost), maxHeader*2)
}

func statusText(s decision.Status) string {
	switch s {
	case decision.StatusProposed:
		return ":large_blue_circle: proposed"
	case decision.StatusAwaitingApproval:
		return ":hourglass_flowing_sand: awaiting approval"
	case decision.StatusApproved:
		return ":white_check_mark: approved"
	case decision.StatusRejected:
		return ":no_entry: rejected"
	case decision.StatusOverridden:
		return ":twisted_rightwards_arrows: overridden"
	case decision.StatusExecuted:
		return ":heavy_check_mark: executed"
	case decision.StatusFailed:
		return ":x: failed"
	case decision.StatusReverted:
		return ":leftwards_arrow_with_hook: reverted"
	}
	return escape(string(s))
}

func verdictText(v decision.Verdict) string {
	out := "allowed"
	if !v.Allowed {
		out = "denied"
	}
	if v.Rule != "" {
		out += " (" + escape(string(v.Rule)) + ")"
	}
	if v.Reason != "" {
		out += ": " + escape(v.Reason)
	}
	return out
}

// outcomeText says what became of a decision once it left the agent's
// hands; "" while it waits or was proposed.
func outcomeText(d decision.Decision) string {
	by := ""
	if d.DecidedBy != "" && d.DecidedBy != decision.DecidedByPolicy {
		by = " by `" + escape(d.DecidedBy) + "`"
	} else if d.DecidedBy == decision.DecidedByPolicy {
		by = " by policy"
	}
	var b strings.Builder
	switch d.Status {
	case decision.StatusApproved:
		b.WriteString("*Approved*" + by + ": the call runs as proposed.")
	case decision.StatusRejected:
		b.WriteString("*Rejected*" + by + ": the call will not run.")
	case decision.StatusOverridden:
		b.WriteString("*Overridden*" + by)
	case decision.StatusExecuted:
		b.WriteString("*Executed*")
	case decision.StatusFailed:
		b.WriteString("*Failed*: " + escape(clip(d.Error, maxFieldText)))
	case decision.StatusReverted:
		b.WriteString("*Reverted* by decision `" + escape(d.RevertedBy) + "`")
	default:
		return ""
	}
	if o := d.Override; o != nil && (d.Status == decision.StatusOverridden || d.Status == decision.StatusExecuted ||
		d.Status == decision.StatusFailed) {
		fmt.Fprintf(&b, "\nInstead: `%s`\n%s", escape(o.Tool), codeBlock(o.Args))
		if o.Reason != "" {
			b.WriteString("\n_" + escape(clip(o.Reason, maxFieldText)) + "_")
		}
	}
	if d.Status == decision.StatusExecuted && len(d.Result) > 0 {
		b.WriteString("\nResult\n" + codeBlock(d.Result))
	}
	return b.String()
}

// codeBlock shows JSON indented in a code block, cut to maxCode.
func codeBlock(raw json.RawMessage) string {
	text := "{}"
	if len(bytes.TrimSpace(raw)) > 0 {
		var out bytes.Buffer
		if json.Indent(&out, raw, "", "  ") == nil {
			text = out.String()
		} else {
			text = string(raw)
		}
	}
	// A run of three backticks in a value would end the block early.
	text = strings.ReplaceAll(escape(clip(text, maxCode)), "```", "`\u200b``")
	return "```" + text + "```"
}

// clip cuts s to at most n characters, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// escape makes text safe in mrkdwn: Slack reads <…> as links and
// mentions, so the three control characters are escaped.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func plain(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.PlainTextType, s, true, false)
}

func markdown(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.MarkdownType, s, false, false)
}

func section(s string) *slackgo.SectionBlock {
	return slackgo.NewSectionBlock(markdown(s), nil, nil)
}
