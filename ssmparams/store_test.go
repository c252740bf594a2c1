package ssmparams

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/params"
)

var _ params.ValueStore = (*Store)(nil)

var scopes = []params.Scope{
	params.Global,
	{Mode: mode.Sandbox},
	{Mode: mode.Live},
	{TenantID: "acme"},
	{TenantID: "acme", Mode: mode.Sandbox},
	{TenantID: "acme", Mode: mode.Live},
}

func TestStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, f := newTestStore(t, "")

	var writes []params.Write
	want := map[string]params.Stored{}
	add := func(w params.Write) {
		writes = append(writes, w)
		want[Path("", w.Scope, w.Key)] = params.Stored{Scope: w.Scope, Key: w.Key, Value: w.Value, UpdatedAt: f.now}
	}
	for _, sc := range scopes {
		add(params.Write{Scope: sc, Key: "app.greeting", Value: "hello " + sc.String()})
		add(params.Write{Scope: sc, Key: "app.motd", Value: ""})
		add(params.Write{Scope: sc, Key: "stripe.secret_key", Value: "sk_" + sc.String(), Secret: true})
		add(params.Write{Scope: sc, Key: "stripe.webhook_secret", Value: "", Secret: true})
	}
	for i := range 20 { // enough for several pages of ten
		add(params.Write{Scope: params.Global, Key: fmt.Sprintf("bulk.item_%02d", i), Value: fmt.Sprint(i)})
	}
	if err := s.PutValues(ctx, writes); err != nil {
		t.Fatalf("PutValues: %v", err)
	}
	got, err := s.LoadValues(ctx)
	if err != nil {
		t.Fatalf("LoadValues: %v", err)
	}

	t.Run("every value comes back once", func(t *testing.T) {
		if len(got) != len(want) {
			t.Fatalf("got %d values, want %d", len(got), len(want))
		}
	})
	t.Run("values are sorted by path", func(t *testing.T) {
		for i := 1; i < len(got); i++ {
			if Path("", got[i-1].Scope, got[i-1].Key) >= Path("", got[i].Scope, got[i].Key) {
				t.Fatalf("value %d (%s %s) is out of order", i, got[i].Scope, got[i].Key)
			}
		}
	})
	t.Run("both listings were followed past their first page", func(t *testing.T) {
		if n := f.calls["AmazonSSM.GetParametersByPath"]; n < 3 {
			t.Errorf("GetParametersByPath called %d times, want at least 3 pages", n)
		}
		if n := f.calls["secretsmanager.ListSecrets"]; n < 2 {
			t.Errorf("ListSecrets called %d times, want at least 2 pages", n)
		}
	})
	t.Run("an empty value is stored as the sentinel in both services", func(t *testing.T) {
		if v := f.params["/gpubroker/global/all/app.motd"].Value; v != EmptyValue {
			t.Errorf("SSM holds %q, want %q", v, EmptyValue)
		}
		if v := f.secrets["gpubroker/global/all/stripe.webhook_secret"].Value; v != EmptyValue {
			t.Errorf("Secrets Manager holds %q, want %q", v, EmptyValue)
		}
	})
	byPath := map[string]params.Stored{}
	for _, v := range got {
		byPath[Path("", v.Scope, v.Key)] = v
	}
	for _, sc := range scopes {
		t.Run(fmt.Sprintf("values in scope %s come back as written, in plain text, with their date", sc), func(t *testing.T) {
			for p, w := range want {
				if w.Scope != sc {
					continue
				}
				g, ok := byPath[p]
				switch {
				case !ok:
					t.Errorf("%s: missing", p)
				case g.Scope != w.Scope || g.Key != w.Key || g.Value != w.Value:
					t.Errorf("%s: got %v %q = %q, want %v %q = %q", p, g.Scope, g.Key, g.Value, w.Scope, w.Key, w.Value)
				case g.Sealed:
					t.Errorf("%s: Sealed, want plain text", p)
				case !g.UpdatedAt.Equal(w.UpdatedAt):
					t.Errorf("%s: UpdatedAt %v, want %v", p, g.UpdatedAt, w.UpdatedAt)
				}
			}
		})
	}
}

func TestPutValuesRoutesSecretsToSecretsManager(t *testing.T) {
	acmeLive := params.Scope{TenantID: "acme", Mode: mode.Live}
	const (
		path   = "/gpubroker/tenants/acme/LIVE/stripe.secret_key"
		secret = "gpubroker/tenants/acme/LIVE/stripe.secret_key"
	)
	tests := []struct {
		name       string
		writes     []params.Write
		wantSecret string // "" means absent
		wantParam  string // "" means absent
	}{
		{
			name:       "a secret is created in Secrets Manager and not in SSM",
			writes:     []params.Write{{Scope: acmeLive, Key: "stripe.secret_key", Value: "sk_live_1", Secret: true}},
			wantSecret: "sk_live_1",
		},
		{
			name: "a second put of a secret adds a version to the existing secret",
			writes: []params.Write{
				{Scope: acmeLive, Key: "stripe.secret_key", Value: "sk_live_1", Secret: true},
				{Scope: acmeLive, Key: "stripe.secret_key", Value: "sk_live_2", Secret: true},
			},
			wantSecret: "sk_live_2",
		},
		{
			name: "deleting a secret removes it at once",
			writes: []params.Write{
				{Scope: acmeLive, Key: "stripe.secret_key", Value: "sk_live_1", Secret: true},
				{Scope: acmeLive, Key: "stripe.secret_key", Secret: true, Delete: true},
			},
		},
		{
			name: "a secret can be written again right after its deletion",
			writes: []params.Write{
				{Scope: acmeLive, Key: "stripe.secret_key", Value: "sk_live_1", Secret: true},
				{Scope: acmeLive, Key: "stripe.secret_key", Secret: true, Delete: true},
				{Scope: acmeLive, Key: "stripe.secret_key", Value: "sk_live_3", Secret: true},
			},
			wantSecret: "sk_live_3",
		},
		{
			name: "a plain value goes to SSM and not to Secrets Manager",
			writes: []params.Write{
				{Scope: acmeLive, Key: "stripe.secret_key", Value: "not really secret"},
			},
			wantParam: "not really secret",
		},
		{
			name: "a plain value is overwritten in place",
			writes: []params.Write{
				{Scope: acmeLive, Key: "stripe.secret_key", Value: "one"},
				{Scope: acmeLive, Key: "stripe.secret_key", Value: "two"},
			},
			wantParam: "two",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, "")
			if err := s.PutValues(context.Background(), tt.writes); err != nil {
				t.Fatalf("PutValues: %v", err)
			}
			sec, hasSecret := f.secrets[secret]
			prm, hasParam := f.params[path]
			switch {
			case hasSecret != (tt.wantSecret != ""):
				t.Errorf("secret %s present = %v, want %v", secret, hasSecret, tt.wantSecret != "")
			case hasSecret && sec.Value != tt.wantSecret:
				t.Errorf("secret holds %q, want %q", sec.Value, tt.wantSecret)
			}
			switch {
			case hasParam != (tt.wantParam != ""):
				t.Errorf("SSM parameter %s present = %v, want %v", path, hasParam, tt.wantParam != "")
			case hasParam && (prm.Value != tt.wantParam || prm.Type != "String"):
				t.Errorf("SSM parameter holds %s %q, want String %q", prm.Type, prm.Value, tt.wantParam)
			}
			if _, ok := f.params["/"+secret]; ok && tt.wantParam == "" {
				t.Errorf("a secret leaked into SSM")
			}
		})
	}
}

func TestDeleteOfMissingValueSucceeds(t *testing.T) {
	tests := []struct {
		name  string
		write params.Write
	}{
		{"deleting a missing global plain value succeeds", params.Write{Key: "app.greeting", Delete: true}},
		{"deleting a missing tenant plain value succeeds", params.Write{Scope: params.Scope{TenantID: "acme", Mode: mode.Live}, Key: "app.greeting", Delete: true}},
		{"deleting a missing global secret succeeds", params.Write{Key: "stripe.secret_key", Secret: true, Delete: true}},
		{"deleting a missing tenant secret succeeds", params.Write{Scope: params.Scope{TenantID: "acme", Mode: mode.Sandbox}, Key: "stripe.secret_key", Secret: true, Delete: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, "")
			if err := s.PutValues(context.Background(), []params.Write{tt.write}); err != nil {
				t.Fatalf("PutValues: %v", err)
			}
			if n := f.calls["AmazonSSM.DeleteParameter"] + f.calls["secretsmanager.DeleteSecret"]; n != 1 {
				t.Fatalf("%d delete calls reached AWS, want 1", n)
			}
		})
	}
}

func TestAccessDeniedNamesThePath(t *testing.T) {
	acme := params.Scope{TenantID: "acme", Mode: mode.Live}
	const value = "sk_live_do_not_print"
	tests := []struct {
		name   string
		deny   string
		call   func(*Store) error
		inText string
	}{
		{
			name: "a refused plain put names the SSM path",
			deny: "/gpubroker/tenants/acme/LIVE/app.greeting",
			call: func(s *Store) error {
				return s.PutValues(context.Background(), []params.Write{{Scope: acme, Key: "app.greeting", Value: value}})
			},
			inText: "/gpubroker/tenants/acme/LIVE/app.greeting",
		},
		{
			name: "a refused secret put names the path and not the value",
			deny: "gpubroker/tenants/acme/LIVE/stripe.secret_key",
			call: func(s *Store) error {
				return s.PutValues(context.Background(), []params.Write{{Scope: acme, Key: "stripe.secret_key", Value: value, Secret: true}})
			},
			inText: "/gpubroker/tenants/acme/LIVE/stripe.secret_key",
		},
		{
			name: "a refused plain delete names the SSM path",
			deny: "/gpubroker/global/all/app.greeting",
			call: func(s *Store) error {
				return s.PutValues(context.Background(), []params.Write{{Key: "app.greeting", Delete: true}})
			},
			inText: "delete /gpubroker/global/all/app.greeting",
		},
		{
			name: "a refused secret delete names the path",
			deny: "gpubroker/global/SANDBOX/stripe.secret_key",
			call: func(s *Store) error {
				return s.PutValues(context.Background(), []params.Write{{Scope: params.Scope{Mode: mode.Sandbox}, Key: "stripe.secret_key", Secret: true, Delete: true}})
			},
			inText: "delete /gpubroker/global/SANDBOX/stripe.secret_key",
		},
		{
			name: "a refused SSM listing names the prefix",
			deny: "/gpubroker",
			call: func(s *Store) error {
				_, err := s.LoadValues(context.Background())
				return err
			},
			inText: "list SSM parameters under /gpubroker",
		},
		{
			name: "a refused secrets listing names the prefix",
			deny: "gpubroker/",
			call: func(s *Store) error {
				_, err := s.LoadValues(context.Background())
				return err
			},
			inText: "list secrets under gpubroker/",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, "")
			f.denied[tt.deny] = true
			err := tt.call(s)
			if err == nil {
				t.Fatal("no error, want AccessDeniedException")
			}
			if !strings.Contains(err.Error(), tt.inText) {
				t.Errorf("error %q does not contain %q", err, tt.inText)
			}
			if strings.Contains(err.Error(), value) {
				t.Errorf("error %q contains the value", err)
			}
			if apiErr, ok := errors.AsType[smithy.APIError](err); !ok || apiErr.ErrorCode() != "AccessDeniedException" {
				t.Errorf("error %v does not unwrap to AccessDeniedException", err)
			}
		})
	}
}

func TestPutValuesRefusesWritesThatWouldNotLoadBack(t *testing.T) {
	tests := []struct {
		name  string
		write params.Write
		want  string
	}{
		{"the sentinel itself is refused as a value", params.Write{Key: "app.greeting", Value: EmptyValue}, "reserved"},
		{"the sentinel itself is refused as a secret", params.Write{Key: "app.greeting", Value: EmptyValue, Secret: true}, "reserved"},
		{"a sealed value is refused", params.Write{Key: "stripe.secret_key", Value: "c2VhbGVk", Sealed: true, Secret: true}, "sealed"},
		{"a key with a slash is refused", params.Write{Key: "app/greeting", Value: "x"}, "do not make a parameter name"},
		{"a tenant with a slash is refused", params.Write{Scope: params.Scope{TenantID: "acme/LIVE"}, Key: "app.greeting", Value: "x"}, "do not make a parameter name"},
		{"a lower-case mode is refused", params.Write{Scope: params.Scope{Mode: "live"}, Key: "app.greeting", Value: "x"}, "do not make a parameter name"},
		{"the mode segment all is not a mode", params.Write{Scope: params.Scope{Mode: "all"}, Key: "app.greeting", Value: "x"}, "do not make a parameter name"},
		{"an empty key is refused", params.Write{Value: "x"}, "do not make a parameter name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, "")
			err := s.PutValues(context.Background(), []params.Write{tt.write})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), Path("", tt.write.Scope, tt.write.Key)) {
				t.Errorf("error %q does not name the path", err)
			}
			if len(f.calls) != 0 {
				t.Errorf("AWS was called: %v", f.calls)
			}
		})
	}
}

func TestPutValuesStopsAtTheFirstFailure(t *testing.T) {
	s, f := newTestStore(t, "")
	f.denied["/gpubroker/global/all/b.b"] = true
	err := s.PutValues(context.Background(), []params.Write{
		{Key: "a.a", Value: "1"},
		{Key: "b.b", Value: "2"},
		{Key: "c.c", Value: "3"},
	})
	if err == nil {
		t.Fatal("no error, want the refusal of b.b")
	}
	t.Run("the write before the failure stays applied", func(t *testing.T) {
		if _, ok := f.params["/gpubroker/global/all/a.a"]; !ok {
			t.Error("a.a is missing")
		}
	})
	t.Run("the write after the failure is not attempted", func(t *testing.T) {
		if _, ok := f.params["/gpubroker/global/all/c.c"]; ok {
			t.Error("c.c was written")
		}
	})
}

func TestLoadValuesReadsWhatOthersWrote(t *testing.T) {
	tests := []struct {
		name    string
		seed    func(*fakeAWS)
		want    []params.Stored
		skipped []string
	}{
		{
			name: "names that do not parse are skipped and logged",
			seed: func(f *fakeAWS) {
				for _, name := range []string{
					"/gpubroker/global/LIVE/app.greeting",
					"/gpubroker/global/weekly/app.greeting",
					"/gpubroker/tenants/acme/LIVE",
					"/gpubroker/other/LIVE/app.greeting",
					"/gpubroker/global/LIVE/app/greeting",
					"/gpubroker/tenants//LIVE/app.greeting",
					"/gpubroker2/global/LIVE/app.greeting",
				} {
					f.params[name] = fakeParam{Value: "v", Type: "String", Modified: f.now}
				}
				for _, name := range []string{
					"gpubroker/tenants/acme/SANDBOX/stripe.secret_key",
					"gpubroker/global/Live/stripe.secret_key",
					"gpubroker/notes",
					"other/global/LIVE/stripe.secret_key",
				} {
					f.secrets[name] = fakeSecret{Value: "s", Changed: f.now}
				}
			},
			want: []params.Stored{
				{Scope: params.Scope{Mode: mode.Live}, Key: "app.greeting", Value: "v"},
				{Scope: params.Scope{TenantID: "acme", Mode: mode.Sandbox}, Key: "stripe.secret_key", Value: "s"},
			},
			skipped: []string{
				"/gpubroker/global/weekly/app.greeting",
				"/gpubroker/tenants/acme/LIVE",
				"/gpubroker/other/LIVE/app.greeting",
				"/gpubroker/global/LIVE/app/greeting",
				"/gpubroker/tenants//LIVE/app.greeting",
				"gpubroker/global/Live/stripe.secret_key",
				"gpubroker/notes",
			},
		},
		{
			name: "a SecureString put by hand is read decrypted",
			seed: func(f *fakeAWS) {
				f.params["/gpubroker/tenants/acme/all/app.token"] = fakeParam{Value: "plain", Type: "SecureString", Modified: f.now}
			},
			want: []params.Stored{{Scope: params.Scope{TenantID: "acme"}, Key: "app.token", Value: "plain"}},
		},
		{
			name: "a key kept in both services loads once, from Secrets Manager",
			seed: func(f *fakeAWS) {
				f.params["/gpubroker/global/LIVE/stripe.secret_key"] = fakeParam{Value: "old plain", Type: "String", Modified: f.now}
				f.secrets["gpubroker/global/LIVE/stripe.secret_key"] = fakeSecret{Value: "secret", Changed: f.now}
			},
			want: []params.Stored{{Scope: params.Scope{Mode: mode.Live}, Key: "stripe.secret_key", Value: "secret"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestStore(t, "")
			var logs bytes.Buffer
			s.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			tt.seed(f)
			got, err := s.LoadValues(context.Background())
			if err != nil {
				t.Fatalf("LoadValues: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d values %v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Scope != w.Scope || g.Key != w.Key || g.Value != w.Value || g.Sealed || !g.UpdatedAt.Equal(f.now) {
					t.Errorf("value %d = %+v, want %+v updated at %v", i, g, w, f.now)
				}
			}
			for _, name := range tt.skipped {
				if !strings.Contains(logs.String(), "name="+name+" ") {
					t.Errorf("no log line names %s", name)
				}
			}
			if n := strings.Count(logs.String(), "skipping"); n != len(tt.skipped) {
				t.Errorf("%d names logged as skipped, want %d:\n%s", n, len(tt.skipped), logs.String())
			}
		})
	}
}
