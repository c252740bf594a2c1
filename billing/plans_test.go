package billing_test

import (
	"testing"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/billing"
)

func TestAPaidPlanGivesItsRoleButNeverTakesAnAdmins(t *testing.T) {
	for _, c := range []struct {
		from   actor.Role
		plan   billing.PlanID
		want   actor.Role
		change bool
	}{
		{actor.RoleUser, billing.Pro, actor.RoleProUser, true},
		{actor.RoleUser, billing.Enterprise, actor.RoleEnterpriseUser, true},
		{actor.RoleEnterpriseUser, billing.Pro, actor.RoleProUser, true},
		{actor.RoleProUser, billing.Pro, actor.RoleProUser, false},
		{actor.RoleProUser, billing.Free, actor.RoleUser, true},
		{actor.RolePodAdmin, billing.Pro, actor.RolePodAdmin, false},
	} {
		if got, change := billing.RoleAfter(c.from, c.plan); got != c.want || change != c.change {
			t.Errorf("%s paying %s: %s, %v; want %s, %v", c.from, c.plan, got, change, c.want, c.change)
		}
	}
}
