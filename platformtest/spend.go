package platformtest

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/tools"
)

// SpendTool is the name of the test's spending tool.
const SpendTool = "spend_money"

// SpendInput is the input of the spending tool.
type SpendInput struct {
	tools.Control
	CostUSD money.Amount `json:"cost_usd"`
	Fail    bool         `json:"fail,omitempty"`
}

// Spent is its output.
type Spent struct {
	OK bool `json:"ok"`
}

// RegisterSpend adds a tool that spends what it is told and counts its
// runs, so budgets and approvals are exercised through the real pipeline,
// ledger and store. It answers the counter of runs.
func RegisterSpend(r *tools.Registry) *atomic.Int64 {
	runs := new(atomic.Int64)
	tools.MustRegister(r, tools.Def[SpendInput, Spent]{
		Name: SpendTool, Description: "Spend cost_usd.", Group: "test", MinRole: actor.RoleUser, Spends: true,
		Method: http.MethodPost, Path: "/test/spend",
		Estimate: func(_ context.Context, _ *tools.Call, in *SpendInput) (money.Amount, error) { return in.CostUSD, nil },
		Preview: func(_ context.Context, _ *tools.Call, in *SpendInput) (tools.Preview, error) {
			return tools.Preview{Effect: "spend"}, nil
		},
		Handle: func(_ context.Context, _ *tools.Call, in *SpendInput) (Spent, error) {
			if in.Fail {
				return Spent{}, errors.New("provider refused")
			}
			runs.Add(1)
			return Spent{OK: true}, nil
		},
	})
	return runs
}
