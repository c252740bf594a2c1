package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/audit"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
	"github.com/gpubroker/pod/store"
	"github.com/gpubroker/pod/tenant"
)

// TestConformance runs one suite, the same functions, against every backend.
func TestConformance(t *testing.T) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s *store.Store, b dbtest.Backend)
	}{
		{"MigrationsApplyOnceAndRecordTheirVersion", testMigrations},
		{"TenantsCanBeCreatedReadListedRenamedAndDeleted", testTenantsCRUD},
		{"ModeSwitchIsConditionalAndAudited", testModeSwitch},
		{"DeletingATenantRemovesItsUsersAndParameters", testTenantDeleteCascades},
		{"ParameterCommitsRecordExactHistory", testParamCommit},
		{"AFailedParameterCommitLeavesNothingBehind", testParamCommitAtomic},
		{"ParameterHistoryFiltersAndPages", testParamHistory},
		{"ConcurrentParameterCommitsAllLand", testParamConcurrent},
		{"AnotherInstanceSeesParameterChangesWithinASecond", testWatch},
		{"AuditRecordsRoundTripAndFilter", testAudit},
		{"AuditBatchesRoundTrip", testAuditBatch},
		{"UsersAreUniqueByEmail", testUsers},
		{"PriceHistoryRoundTripsByOfferAndGPU", testPriceHistory},
		{"SandboxInstancesMoveOnlyFromTheStatesGiven", testSandboxInstances},
		{"ApprovalsAreDecidedOnceAndExpire", testApprovals},
		{"OutboxRowsCommitWithTheirChangeOrNotAtAll", testOutbox},
		{"PodsMoveOnlyAsTheTableAllowsAndOnTheRevisionRead", testPods},
		{"MailIsStoredOnceAndListedByTenantAndAddress", testMail},
		{"BillingKeepsOneCustomerDefaultAndOpenSubscriptionPerUser", testBillingRecords},
		{"MockProcessorObjectsAreMarkedAndMadeOncePerKey", testMockObjects},
		{"InvoicesMoveForwardAndPayAsYouGoIsClaimedOnce", testInvoices},
		{"ProcessorEventsAreStoredAndClaimedOnce", testProcessorEvents},
		{"TheAgentsMemoryIsFoundByItsWords", testAgentMemory},
		{"DecisionsMoveOnlyAsTheTableAllowsAndOnTheRevisionRead", testDecisions},
		{"ADecisionsSlackMessageIsRecordedOnceAndNeverShowsAnOlderRevision", testSlackMessages},
		{"SlackSignaturesAreNewOnceWithinTheWindow", testSlackSignatures},
		{"UsersAreLinkedToOneSlackUserPerTenant", testSlackUsers},
		{"TheFleetIsCountedByOfferAndStateAndSummedByHourToTheSecond", testFleet},
		{"BrowserSessionsLiveUntilTheyExpireAndRenewOnce", testBrowserSessions},
		{"TheHealthPageFindsWhatIsBehindInTheStreamSlackAndWebhooks", testSystemHealth},
	}
	dbtest.Each(t, func(t *testing.T, b dbtest.Backend) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				// Each case gets its own database so cases cannot lean on
				// each other's rows.
				b := dbtest.New(t, b.Name)
				c.fn(t, open(t, b.URL), b)
			})
		}
	})
}

func open(t testing.TB, url string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, url, store.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var admin = actor.Actor{Kind: actor.KindUser, ID: "u-admin", Role: actor.RolePodAdmin}

func rec(action, tenantID string) audit.Record {
	return audit.Record{At: time.Now().UTC(), Actor: admin, Action: action, TenantID: tenantID, Verdict: "allow"}
}

func mkTenant(t *testing.T, s *store.Store, id string) tenant.Tenant {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	tn := tenant.Tenant{ID: id, Name: "Tenant " + id, Mode: mode.Sandbox, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateTenant(context.Background(), tn, rec("tenant.create", id)); err != nil {
		t.Fatalf("create tenant %s: %v", id, err)
	}
	return tn
}

func wantKind(t *testing.T, err error, k fault.Kind) {
	t.Helper()
	if got := fault.KindOf(err); got != k {
		t.Fatalf("error = %v (kind %q), want kind %q", err, got, k)
	}
}

func testMigrations(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	all, err := store.Migrations(s.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.SchemaVersion(ctx)
	if last := all[len(all)-1].Version; err != nil || v != last {
		t.Fatalf("schema version = %d, %v; want %d", v, err, last)
	}
	applied, err := s.MigrateReport(ctx)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, %v; want nothing", applied, err)
	}
}

func testTenantsCRUD(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	a := mkTenant(t, s, "acme")
	mkTenant(t, s, "beta")
	err := s.CreateTenant(ctx, a, rec("tenant.create", "acme"))
	wantKind(t, err, fault.KindConflict)

	got, err := s.Tenant(ctx, "acme")
	if err != nil || got != a {
		t.Fatalf("Tenant(acme) = %+v, %v; want %+v", got, err, a)
	}
	_, err = s.Tenant(ctx, "nobody")
	wantKind(t, err, fault.KindNotFound)

	list, err := s.Tenants(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "acme" || list[1].ID != "beta" {
		t.Fatalf("Tenants = %+v, %v; want acme, beta", list, err)
	}
	r, err := s.RenameTenant(ctx, "acme", "Acme Corp", rec("tenant.rename", "acme"))
	if err != nil || r.Name != "Acme Corp" || !r.UpdatedAt.After(a.UpdatedAt) && !r.UpdatedAt.Equal(a.UpdatedAt) {
		t.Fatalf("rename = %+v, %v", r, err)
	}
	_, err = s.RenameTenant(ctx, "nobody", "x", rec("tenant.rename", "nobody"))
	wantKind(t, err, fault.KindNotFound)
	if ok, _ := s.TenantExists(ctx, "beta"); !ok {
		t.Fatal("beta should exist")
	}
	if err := s.DeleteTenant(ctx, "beta", rec("tenant.delete", "beta")); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.TenantExists(ctx, "beta"); ok {
		t.Fatal("beta should be gone")
	}
	wantKind(t, s.DeleteTenant(ctx, "beta", rec("tenant.delete", "beta")), fault.KindNotFound)
	// Failed mutations leave no audit record: only create×2, rename, delete.
	recs, err := s.QueryAudit(ctx, audit.Filter{})
	if err != nil || len(recs) != 4 {
		t.Fatalf("audit records = %d, %v; want 4", len(recs), err)
	}
}

func testModeSwitch(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	r := rec("tenant.switch_mode", "acme")
	r.Input = json.RawMessage(`{"from":"SANDBOX","to":"LIVE"}`)
	got, err := s.SwitchTenantMode(ctx, "acme", mode.Sandbox, mode.Live, r)
	if err != nil || got.Mode != mode.Live {
		t.Fatalf("switch = %+v, %v", got, err)
	}
	// A second switch that still believes the tenant is in SANDBOX loses.
	_, err = s.SwitchTenantMode(ctx, "acme", mode.Sandbox, mode.Live, r)
	wantKind(t, err, fault.KindConflict)
	_, err = s.SwitchTenantMode(ctx, "nobody", mode.Sandbox, mode.Live, r)
	wantKind(t, err, fault.KindNotFound)
	recs, err := s.QueryAudit(ctx, audit.Filter{Action: "tenant.switch_mode"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("switch audit = %+v, %v; want exactly one", recs, err)
	}
	var in map[string]string
	if err := json.Unmarshal(recs[0].Input, &in); err != nil || in["from"] != "SANDBOX" || in["to"] != "LIVE" {
		t.Fatalf("switch audit input = %s, %v", recs[0].Input, err)
	}
	if recs[0].Actor.ID != admin.ID || recs[0].TenantID != "acme" {
		t.Fatalf("switch audit = %+v", recs[0])
	}
}

func testTenantDeleteCascades(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	now := time.Now().UTC()
	if err := s.CreateUser(ctx, auth.User{ID: "u1", TenantID: "acme", Email: "a@acme.test", Name: "A", Role: actor.RoleUser,
		PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	commit(t, s, params.Write{Scope: params.Scope{TenantID: "acme"}, Key: "billing.markup_percent", Value: "20"})
	commit(t, s, params.Write{Key: "billing.markup_percent", Value: "10"})
	if err := s.DeleteTenant(ctx, "acme", rec("tenant.delete", "acme")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByEmail(ctx, "a@acme.test"); fault.KindOf(err) != fault.KindNotFound {
		t.Fatalf("user survived tenant deletion: %v", err)
	}
	vals, _, err := s.LoadParams(ctx)
	if err != nil || len(vals) != 1 || vals[0].Scope.TenantID != "" {
		t.Fatalf("values after deletion = %+v, %v; want only the global one", vals, err)
	}
}

func commit(t *testing.T, s *store.Store, ws ...params.Write) []params.Change {
	t.Helper()
	cs := make([]params.Change, len(ws))
	for i, w := range ws {
		nv := w.Value
		cs[i] = params.Change{At: time.Now().UTC(), Actor: "user:u-admin", Scope: w.Scope, Key: w.Key, Action: "set", NewValue: &nv}
		if w.Delete {
			cs[i].Action, cs[i].NewValue = "delete", nil
		}
	}
	if err := s.CommitParams(context.Background(), ws, cs); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return cs
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func testParamCommit(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	rev0, _ := s.ParamRevision(ctx)
	global := params.Scope{}
	live := params.Scope{Mode: mode.Live}
	c := commit(t, s, params.Write{Scope: global, Key: "billing.markup_percent", Value: "15"})
	if c[0].OldValue != nil || c[0].ID == 0 {
		t.Fatalf("first set: old = %s, id = %d; want <nil> and an id", str(c[0].OldValue), c[0].ID)
	}
	c = commit(t, s, params.Write{Scope: global, Key: "billing.markup_percent", Value: "25"})
	if str(c[0].OldValue) != "15" {
		t.Fatalf("second set: old = %s, want 15", str(c[0].OldValue))
	}
	commit(t, s, params.Write{Scope: live, Key: "stripe.secret_key", Value: "c2VhbGVk", Sealed: true, Secret: true})
	c = commit(t, s, params.Write{Scope: live, Key: "stripe.secret_key", Value: "c2VhbGVkMg==", Sealed: true, Secret: true})
	if str(c[0].OldValue) != params.Redacted {
		t.Fatalf("secret old value = %s, want %s", str(c[0].OldValue), params.Redacted)
	}
	vals, rev, err := s.LoadParams(ctx)
	if err != nil || rev != rev0+4 || len(vals) != 2 {
		t.Fatalf("load = %+v rev %d, %v; want 2 values at rev %d", vals, rev, err, rev0+4)
	}
	for _, v := range vals {
		switch v.Key {
		case "billing.markup_percent":
			if v.Value != "25" || v.Sealed || v.UpdatedBy != "user:u-admin" || v.UpdatedAt.IsZero() {
				t.Fatalf("markup = %+v", v)
			}
		case "stripe.secret_key":
			if v.Value != "c2VhbGVkMg==" || !v.Sealed || v.Scope != live {
				t.Fatalf("secret = %+v", v)
			}
		}
	}
	c = commit(t, s, params.Write{Scope: global, Key: "billing.markup_percent", Delete: true})
	if str(c[0].OldValue) != "25" || c[0].NewValue != nil {
		t.Fatalf("delete change = %+v", c[0])
	}
	vals, _, _ = s.LoadParams(ctx)
	if len(vals) != 1 {
		t.Fatalf("after delete: %+v", vals)
	}
}

func testParamCommitAtomic(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	commit(t, s, params.Write{Key: "billing.markup_percent", Value: "15"})
	rev0, _ := s.ParamRevision(ctx)
	// The second write breaks the mode CHECK constraint: the first must not
	// land either, nor any history, nor a revision bump.
	ws := []params.Write{
		{Key: "billing.markup_percent", Value: "99"},
		{Scope: params.Scope{Mode: "BOGUS"}, Key: "billing.currency", Value: "eur"},
	}
	cs := make([]params.Change, 2)
	for i, w := range ws {
		v := w.Value
		cs[i] = params.Change{At: time.Now().UTC(), Actor: "user:x", Scope: w.Scope, Key: w.Key, Action: "import", NewValue: &v}
	}
	if err := s.CommitParams(ctx, ws, cs); err == nil {
		t.Fatal("commit with a bad mode succeeded")
	}
	vals, rev, _ := s.LoadParams(ctx)
	if rev != rev0 || len(vals) != 1 || vals[0].Value != "15" {
		t.Fatalf("after failed commit: values %+v rev %d; want markup 15 at rev %d", vals, rev, rev0)
	}
	h, _ := s.ParamHistory(ctx, params.HistoryQuery{})
	if len(h) != 1 {
		t.Fatalf("history after failed commit has %d entries, want 1", len(h))
	}
}

func testParamHistory(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	for _, v := range []string{"1", "2", "3"} {
		commit(t, s, params.Write{Key: "billing.markup_percent", Value: v})
	}
	commit(t, s, params.Write{Scope: params.Scope{TenantID: "acme", Mode: mode.Sandbox}, Key: "billing.markup_percent", Value: "9"})
	commit(t, s, params.Write{Key: "billing.currency", Value: "eur"})

	h, err := s.ParamHistory(ctx, params.HistoryQuery{Key: "billing.markup_percent"})
	if err != nil || len(h) != 4 {
		t.Fatalf("history of markup = %d entries, %v; want 4", len(h), err)
	}
	if str(h[0].NewValue) != "9" || h[0].Scope.TenantID != "acme" || h[0].Scope.Mode != mode.Sandbox {
		t.Fatalf("newest entry = %+v", h[0])
	}
	g := params.Scope{}
	h, _ = s.ParamHistory(ctx, params.HistoryQuery{Key: "billing.markup_percent", Scope: &g, Limit: 2})
	if len(h) != 2 || str(h[0].NewValue) != "3" || str(h[0].OldValue) != "2" || str(h[1].NewValue) != "2" {
		t.Fatalf("global page = %+v", h)
	}
	h, _ = s.ParamHistory(ctx, params.HistoryQuery{Key: "billing.markup_percent", Scope: &g, BeforeID: h[1].ID})
	if len(h) != 1 || str(h[0].NewValue) != "1" {
		t.Fatalf("next page = %+v", h)
	}
}

func testParamConcurrent(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	rev0, _ := s.ParamRevision(ctx)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := string(rune('a' + i))
			errs <- s.CommitParams(ctx, []params.Write{{Key: "platform.name", Value: v}},
				[]params.Change{{At: time.Now().UTC(), Actor: "user:x", Key: "platform.name", Action: "set", NewValue: &v}})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent commit: %v", err)
		}
	}
	rev, _ := s.ParamRevision(ctx)
	h, _ := s.ParamHistory(ctx, params.HistoryQuery{Key: "platform.name"})
	if rev != rev0+n || len(h) != n {
		t.Fatalf("rev %d, history %d; want rev %d and %d entries", rev, len(h), rev0+n, n)
	}
	// Each change's old value is the previous change's new value: history
	// forms one chain, which only holds if commits were serialised.
	for i := 0; i < n-1; i++ {
		if str(h[i].OldValue) != str(h[i+1].NewValue) {
			t.Fatalf("history breaks at %d: old %s, previous new %s", i, str(h[i].OldValue), str(h[i+1].NewValue))
		}
	}
}

func testWatch(t *testing.T, s *store.Store, b dbtest.Backend) {
	other := open(t, b.URL) // a second instance on the same database
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed := make(chan struct{}, 8)
	done := make(chan error, 1)
	go func() { done <- other.WatchParams(ctx, func() { changed <- struct{}{} }) }()
	time.Sleep(100 * time.Millisecond) // let the watcher take its baseline
	start := time.Now()
	commit(t, s, params.Write{Key: "platform.name", Value: "Renamed"})
	select {
	case <-changed:
		t.Logf("%s: change seen after %s", b.Name, time.Since(start))
	case <-time.After(time.Second):
		t.Fatal("the other instance did not see the change within 1s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch returned %v", err)
	}
}

func testAudit(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Microsecond)
	r := audit.Record{At: at, Actor: admin, Face: "rest", TenantID: "acme", Mode: mode.Sandbox, Action: "set_parameter",
		Input: json.RawMessage(`{"key":"x"}`), Verdict: "allow", Result: json.RawMessage(`{"ok":true}`), Duration: 1500 * time.Microsecond}
	id, err := s.AppendAudit(ctx, r)
	if err != nil || id == 0 {
		t.Fatalf("append = %d, %v", id, err)
	}
	if _, err := s.AppendAudit(ctx, audit.Record{At: at, Actor: admin, Action: "list_offers", TenantID: "beta", Verdict: "deny", Error: "forbidden"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.QueryAudit(ctx, audit.Filter{TenantID: "acme"})
	if err != nil || len(got) != 1 {
		t.Fatalf("query acme = %+v, %v", got, err)
	}
	g := got[0]
	var in, res map[string]any
	_ = json.Unmarshal(g.Input, &in)
	_ = json.Unmarshal(g.Result, &res)
	if g.ID != id || !g.At.Equal(at) || g.Actor.ID != admin.ID || g.Actor.Role != admin.Role || g.Actor.Kind != admin.Kind ||
		g.Face != "rest" || g.Mode != mode.Sandbox || in["key"] != "x" || res["ok"] != true || g.Duration != r.Duration {
		t.Fatalf("round trip = %+v", g)
	}
	got, _ = s.QueryAudit(ctx, audit.Filter{Action: "list_offers"})
	if len(got) != 1 || got[0].Verdict != "deny" || got[0].Error != "forbidden" || got[0].Input != nil {
		t.Fatalf("query by action = %+v", got)
	}
	got, _ = s.QueryAudit(ctx, audit.Filter{Since: at.Add(time.Second)})
	if len(got) != 0 {
		t.Fatalf("since filter returned %d", len(got))
	}
	got, _ = s.QueryAudit(ctx, audit.Filter{Limit: 1})
	if len(got) != 1 || got[0].Action != "list_offers" {
		t.Fatalf("newest first, limit 1 = %+v", got)
	}
	// The console filters by face and verdict, alone or together.
	for _, c := range []struct {
		f    audit.Filter
		want string
	}{
		{audit.Filter{Face: audit.FaceREST}, "set_parameter"},
		{audit.Filter{Verdict: "deny"}, "list_offers"},
		{audit.Filter{Face: audit.FaceREST, Verdict: "allow"}, "set_parameter"},
		{audit.Filter{Face: audit.FaceREST, Verdict: "deny"}, ""},
		{audit.Filter{Face: audit.FaceMCP}, ""},
	} {
		got, err := s.QueryAudit(ctx, c.f)
		if err != nil || (c.want == "") != (len(got) == 0) || (c.want != "" && (len(got) != 1 || got[0].Action != c.want)) {
			t.Errorf("query %+v = %+v, %v; want %q", c.f, got, err, c.want)
		}
	}
}

func testUsers(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	mkTenant(t, s, "acme")
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := auth.User{ID: "u1", TenantID: "acme", Email: "ana@acme.test", Name: "Ana", Role: actor.RolePodAdmin,
		PasswordHash: "$argon2id$…", EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	u2 := u
	u2.ID = "u2"
	wantKind(t, s.CreateUser(ctx, u2), fault.KindConflict)
	got, err := s.UserByEmail(ctx, "ana@acme.test")
	if err != nil || got != u {
		t.Fatalf("UserByEmail = %+v, %v; want %+v", got, err, u)
	}
	_, err = s.UserByEmail(ctx, "nobody@acme.test")
	wantKind(t, err, fault.KindNotFound)
	for _, c := range []struct {
		tenant string
		role   actor.Role
		want   int
	}{{"", "", 1}, {"acme", actor.RolePodAdmin, 1}, {"acme", actor.RoleUser, 0}, {"beta", "", 0}} {
		if n, err := s.CountUsers(ctx, c.tenant, c.role); err != nil || n != c.want {
			t.Fatalf("CountUsers(%q, %q) = %d, %v; want %d", c.tenant, c.role, n, err, c.want)
		}
	}
	list, err := s.UsersOfTenant(ctx, "acme")
	if err != nil || len(list) != 1 || list[0] != u {
		t.Fatalf("UsersOfTenant = %+v, %v", list, err)
	}
	if list, _ := s.UsersOfTenant(ctx, "beta"); len(list) != 0 {
		t.Fatalf("beta has users %+v", list)
	}
	got, err = s.SetUserRole(ctx, "u1", actor.RoleProUser)
	if err != nil || got.Role != actor.RoleProUser || !got.UpdatedAt.After(u.UpdatedAt) {
		t.Fatalf("SetUserRole = %+v, %v", got, err)
	}
	_, err = s.SetUserRole(ctx, "nobody", actor.RoleUser)
	wantKind(t, err, fault.KindNotFound)
}

func testAuditBatch(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Microsecond)
	batch := []audit.Record{
		{At: at, Actor: admin, Face: "mcp", TenantID: "acme", Mode: mode.Live, Action: "set_parameter",
			Input: json.RawMessage(`{"key":"x","value":"[redacted]"}`), Verdict: "allow", Result: json.RawMessage(`{"ok":true}`), Duration: 42 * time.Microsecond},
		{At: at, Actor: admin, Face: "rest", Action: "list_tenants", Verdict: "deny", Error: "forbidden"},
	}
	if err := s.AppendAudits(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := s.QueryAudit(ctx, audit.Filter{})
	if err != nil || len(got) != 2 {
		t.Fatalf("query = %d records, %v", len(got), err)
	}
	first, second := got[1], got[0] // newest first
	var in map[string]string
	_ = json.Unmarshal(first.Input, &in)
	if first.Face != "mcp" || first.Mode != mode.Live || in["value"] != "[redacted]" || first.Duration != 42*time.Microsecond ||
		!first.At.Equal(at) || first.Actor != (actor.Actor{Kind: admin.Kind, ID: admin.ID, Role: admin.Role}) {
		t.Fatalf("first = %+v", first)
	}
	if second.Input != nil || second.Result != nil || second.Error != "forbidden" || second.Verdict != "deny" {
		t.Fatalf("second = %+v", second)
	}

	// A large batch is written in chunks of several shapes (chunks where
	// no record sets result, error or approval leave those columns out);
	// every record comes back as written, in order.
	big := make([]audit.Record, 300)
	for i := range big {
		r := audit.Record{At: at, Actor: admin, Face: "rest", TenantID: "acme", Action: fmt.Sprintf("call_%03d", i),
			Verdict: "allow", RequestID: fmt.Sprintf("req-%d", i), Duration: time.Duration(i) * time.Microsecond}
		if i == 250 {
			r.Result, r.Error, r.ApprovalID, r.ApprovedBy = json.RawMessage(`{"n":250}`), "late", "apr_x", "user:u-admin"
		}
		big[i] = r
	}
	if err := s.AppendAudits(ctx, big); err != nil {
		t.Fatal(err)
	}
	got, err = s.QueryAudit(ctx, audit.Filter{TenantID: "acme", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	got = got[:300] // the newest 300: the big batch
	for i, r := range got {
		want := big[299-i]
		if r.Action != want.Action || r.RequestID != want.RequestID || r.Duration != want.Duration || compactJSON(r.Result) != string(want.Result) ||
			r.Error != want.Error || r.ApprovalID != want.ApprovalID || r.ApprovedBy != want.ApprovedBy {
			t.Fatalf("record %s came back as %+v", want.Action, r)
		}
	}
}

// compactJSON removes the white space PostgreSQL's jsonb adds.
func compactJSON(b []byte) string {
	var out bytes.Buffer
	if len(b) == 0 || json.Compact(&out, b) != nil {
		return string(b)
	}
	return out.String()
}
