package market_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
)

func TestWeightsMemoFollowsTheParameter(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	var memo market.WeightsMemo
	from := func(tenant string) market.Weights { return memo.From(p.Params.Snapshot(), tenant, mode.Sandbox) }
	if got := from("acme"); !reflect.DeepEqual(got, market.DefaultWeights) {
		t.Fatalf("unset parameter gave %v, want the defaults", got)
	}
	if _, err := p.Params.Set(context.Background(), platformtest.Operator, params.SetRequest{
		Scope: params.Scope{TenantID: "acme"}, Key: "providers.topsis_weights", Value: "price=3, performance=1", Confirm: "acme"}); err != nil {
		t.Fatal(err)
	}
	want := market.Weights{market.CritPrice: 3, market.CritPerformance: 1}
	first := from("acme")
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("acme's weights %v, want %v", first, want)
	}
	if again := from("acme"); reflect.ValueOf(again).Pointer() != reflect.ValueOf(first).Pointer() {
		t.Fatal("the same setting was parsed twice")
	}
	if got := from("beta"); !reflect.DeepEqual(got, market.DefaultWeights) {
		t.Fatalf("another tenant got acme's weights: %v", got)
	}
}
