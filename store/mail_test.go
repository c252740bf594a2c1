package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/gpubroker/pod/dbtest"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/store"
)

func delivered(id, tenantID, to string, kind mail.Kind, at time.Time) mail.Record {
	return mail.Record{Message: mail.Message{ID: id, TenantID: tenantID, To: to, Kind: kind, Subject: "Subject " + id,
		Text: "text of " + id, HTML: "<p>html of " + id + "</p>", Links: []mail.Link{{Label: "Open", URL: "https://example.test/" + id}},
		CreatedAt: at}, Sender: mail.SenderMailbox, DeliveredAt: at.Add(time.Second)}
}

// testMail: a delivered message round-trips with its links; storing it
// again is a no-op that says it was a duplicate; listings stay inside
// their tenant, narrow to one address or kind, and come newest first.
func testMail(t *testing.T, s *store.Store, _ dbtest.Backend) {
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Microsecond)
	first := delivered("mail_1", "acme", "ana@acme.test", mail.KindActivation, at)
	if ok, err := s.PutMail(ctx, first); err != nil || !ok {
		t.Fatalf("first put = %v, %v; want stored", ok, err)
	}
	again := first
	again.Subject, again.Sender = "changed", mail.SenderSMTP
	if ok, err := s.PutMail(ctx, again); err != nil || ok {
		t.Fatalf("second put = %v, %v; want a duplicate", ok, err)
	}
	if done, err := s.MailDelivered(ctx, "mail_1"); err != nil || !done {
		t.Fatalf("delivered(mail_1) = %v, %v", done, err)
	}
	if done, err := s.MailDelivered(ctx, "mail_2"); err != nil || done {
		t.Fatalf("delivered(mail_2) = %v, %v", done, err)
	}
	for _, r := range []mail.Record{
		delivered("mail_2", "acme", "bo@acme.test", mail.KindInvoice, at.Add(time.Minute)),
		delivered("mail_3", "acme", "ana@acme.test", mail.KindInvoice, at.Add(2*time.Minute)),
		delivered("mail_4", "beta", "ana@acme.test", mail.KindInvoice, at.Add(3*time.Minute)),
	} {
		if _, err := s.PutMail(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(f mail.Filter) []string {
		t.Helper()
		list, err := s.ListMail(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, r := range list {
			out = append(out, r.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    mail.Filter
		want []string
	}{
		{"a tenant's mail, newest first", mail.Filter{TenantID: "acme"}, []string{"mail_3", "mail_2", "mail_1"}},
		{"one address's mail", mail.Filter{TenantID: "acme", To: "ana@acme.test"}, []string{"mail_3", "mail_1"}},
		{"one kind", mail.Filter{TenantID: "acme", Kind: mail.KindInvoice}, []string{"mail_3", "mail_2"}},
		{"at most the limit", mail.Filter{TenantID: "acme", Limit: 1}, []string{"mail_3"}},
		{"the same address in another tenant", mail.Filter{TenantID: "beta", To: "ana@acme.test"}, []string{"mail_4"}},
		{"a tenant without mail", mail.Filter{TenantID: "gamma"}, []string{}},
	} {
		if got := ids(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	list, err := s.ListMail(ctx, mail.Filter{TenantID: "acme", To: "ana@acme.test", Kind: mail.KindActivation})
	if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], first) {
		t.Fatalf("round trip:\n got %+v %v\nwant %+v", list, err, first)
	}
}
