package decision_test

import (
	"testing"

	"github.com/gpubroker/pod/decision"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/policies"
)

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
	if v, err := rule.Validate(mode.Live, rule.Default); err != nil || v.String() != policies.AgentAboveCost {
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
