package realtime

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gpubroker/pod/events"
)

func cloudEvent(t *testing.T, typ, tenant, data string) []byte {
	t.Helper()
	b, err := json.Marshal(events.CloudEvent{SpecVersion: "1.0", ID: "e1", Type: events.Type(typ), Tenant: tenant, Data: json.RawMessage(data)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTranslatorMapsEventsToChannels(t *testing.T) {
	pod := `{"pod":{"id":"p1","tenant_id":"t1","owner_id":"ann","name":"train","state":"running","revision":3,
		"connection":{"host":"10.0.0.1","password":"s3cret"}},"from":"ready"}`
	for _, tc := range []struct {
		name      string
		typ, data string
		want      []string // channel/user of each message
	}{
		{"a pod's state change reaches its channel and its owner's notifications", "pod.state_changed", pod, []string{"pod:p1/", "notifications:t1/ann"}},
		{"a saved draft reaches only the pod's channel", "pod.configured", pod, []string{"pod:p1/"}},
		{"a decision reaches the tenant's agent channel", "agent.decision_proposed", `{"id":"d1"}`, []string{"agent:t1/"}},
		{"a notice to admins reaches the tenant's notifications, for admins", "agent.admin_notified", `{"subject":"x"}`, []string{"notifications:t1/pod_admin"}},
		{"mail is not for any channel", "mail.requested", `{}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := NewTranslator().Messages(cloudEvent(t, tc.typ, "t1", tc.data))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range msgs {
				got = append(got, m.Channel+"/"+m.To.User+string(m.To.Role))
				if strings.Contains(string(m.Data), "s3cret") {
					t.Errorf("%s carries the pod's connection: %s", m.Channel, m.Data)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("messages to %v; want %v", got, tc.want)
			}
		})
	}
}

func TestTranslatorPassesOnlyChangedPrices(t *testing.T) {
	tr := NewTranslator()
	update := func(price string) []Message {
		t.Helper()
		msgs, err := tr.Messages(cloudEvent(t, "market.prices_updated", "",
			`{"feed":"sandbox","offers":[{"offer_id":"a","price_hour":1.5,"availability":"available"},{"offer_id":"b","price_hour":`+price+`,"availability":"available"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	if m := update("2"); len(m) != 1 || m[0].Channel != "prices:sandbox" || !strings.Contains(string(m[0].Data), `"offer_id":"a"`) {
		t.Fatalf("first update = %+v; want both offers on prices:sandbox", m)
	}
	if m := update("2"); len(m) != 0 {
		t.Fatalf("the same update again = %+v; want nothing (another instance's copy)", m)
	}
	m := update("2.5")
	if len(m) != 1 || strings.Contains(string(m[0].Data), `"offer_id":"a"`) || !strings.Contains(string(m[0].Data), `"offer_id":"b"`) {
		t.Fatalf("a change of b = %+v; want b alone", m)
	}
}
