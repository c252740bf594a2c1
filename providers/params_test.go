package providers_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/platformtest"
	"github.com/gpubroker/pod/providers"
)

func TestWeightsMemoFollowsTheParameter(t *testing.T) {
	p := platformtest.New(t, "sqlite")
	var memo providers.WeightsMemo
	from := func(tenant string) providers.Weights { return memo.From(p.Params.Snapshot(), tenant, mode.Sandbox) }
	if got := from("acme"); !reflect.DeepEqual(got, providers.DefaultWeights) {
		t.Fatalf("unset parameter gave %v, want the defaults", got)
	}
	if _, err := p.Params.Set(context.Background(), platformtest.Operator, params.SetRequest{
		Scope: params.Scope{TenantID: "acme"}, Key: "providers.topsis_weights", Value: "price=3, performance=1", Confirm: "acme"}); err != nil {
		t.Fatal(err)
	}
	want := providers.Weights{providers.CritPrice: 3, providers.CritPerformance: 1}
	first := from("acme")
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("acme's weights %v, want %v", first, want)
	}
	if again := from("acme"); reflect.ValueOf(again).Pointer() != reflect.ValueOf(first).Pointer() {
		t.Fatal("the same setting was parsed twice")
	}
	if got := from("beta"); !reflect.DeepEqual(got, providers.DefaultWeights) {
		t.Fatalf("another tenant got acme's weights: %v", got)
	}
}
