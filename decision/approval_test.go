package decision_test

import (
	"testing"

	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
)

func TestNeedsApproval(t *testing.T) {
	ten := 10 * money.Dollar
	cases := []struct {
		name        string
		rule        decision.Approval
		cost        money.Amount
		destructive bool
		want        bool
	}{
		{"always makes a free call wait", decision.ApproveAlways, 0, false, true},
		{"never lets a destructive costly call through", decision.ApproveNever, 1000 * money.Dollar, true, false},
		{"above cost lets a call at the threshold through", decision.ApproveAboveCost, ten, false, false},
		{"above cost makes a call a micro-dollar over wait", decision.ApproveAboveCost, ten + 1, false, true},
		{"above cost does not look at destructiveness", decision.ApproveAboveCost, 0, true, false},
		{"destructive makes a destructive free call wait", decision.ApproveDestructive, 0, true, true},
		{"destructive lets a costly constructive call through", decision.ApproveDestructive, 1000 * money.Dollar, false, false},
		{"an unknown rule makes every call wait", decision.Approval("sometimes"), 0, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := decision.NeedsApproval(decision.ApprovalPolicy{Rule: c.rule, Above: ten}, c.cost, c.destructive); got != c.want {
				t.Fatalf("NeedsApproval(%s, %s, %v) = %v", c.rule, c.cost, c.destructive, got)
			}
		})
	}
}

func TestTheApprovalParametersDefaultToWaitingAboveTenDollars(t *testing.T) {
	// The platform's catalog takes them: no key is declared twice.
	cat, err := params.NewCatalog(params.Platform(), decision.Params())
	if err != nil {
		t.Fatal(err)
	}
	rule, ok := cat.Spec(decision.ParamApproval)
	if !ok {
		t.Fatalf("%s is not declared", decision.ParamApproval)
	}
	if v, err := rule.Validate(mode.Live, rule.Default); err != nil || decision.Approval(v.String()) != decision.ApproveAboveCost {
		t.Fatalf("default rule %q: %v", v.String(), err)
	}
	if _, err := rule.Validate(mode.Live, "sometimes"); err == nil {
		t.Error("an unknown rule is accepted")
	}
	above, ok := cat.Spec(decision.ParamApprovalAbove)
	if !ok {
		t.Fatalf("%s is not declared", decision.ParamApprovalAbove)
	}
	if v, err := above.Validate(mode.Live, above.Default); err != nil || v.Money() != 10*money.Dollar {
		t.Fatalf("default threshold %s: %v", v.Money(), err)
	}
	if _, err := above.Validate(mode.Live, "-1"); err == nil {
		t.Error("a negative threshold is accepted")
	}
}
