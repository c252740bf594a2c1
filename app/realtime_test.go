package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/events"
	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/realtime"
	"github.com/gpubroker/pod/store"
)

var _ realtime.Access = realtimeAccess{}

func TestOriginOfTheBaseURL(t *testing.T) {
	for base, want := range map[string]string{"https://pod.example.com/app/": "https://pod.example.com", "http://127.0.0.1:8080": "http://127.0.0.1:8080", "": ""} {
		if got := strings.Join(originOf(base), ""); got != want {
			t.Errorf("originOf(%q) = %q; want %q", base, got, want)
		}
	}
}

func TestPriceRecorderEnqueuesOnlyChangedOffers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "gpubroker.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	nudged := 0
	rec := newPriceRecorder(st, "", func() { nudged++ })
	at := time.Now().UTC().Truncate(time.Second)
	point := func(id string, price float64, at time.Time) market.PricePoint {
		return market.PricePoint{OfferID: id, Provider: "sbx", GPU: "A100", PriceHour: price, Availability: providers.Available, At: at}
	}
	steps := []struct {
		name   string
		points []market.PricePoint
		want   []string // offers in the event; nil: no event
	}{
		{"the first refresh announces every offer", []market.PricePoint{point("a", 1, at), point("b", 2, at)}, []string{"a", "b"}},
		{"an unchanged offer recorded again is not news", []market.PricePoint{point("a", 1, at.Add(time.Minute))}, nil},
		{"a changed price is", []market.PricePoint{point("a", 1, at.Add(2*time.Minute)), point("b", 2.5, at.Add(2*time.Minute))}, []string{"b"}},
	}
	for _, s := range steps {
		if err := rec.RecordPrices(ctx, "sandbox", s.points); err != nil {
			t.Fatal(err)
		}
		es, err := st.PendingEvents(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			if e.Type != market.EventPricesUpdated || e.Key != "sandbox" {
				t.Fatalf("%s: event %s keyed %s", s.name, e.Type, e.Key)
			}
			var pu market.PricesUpdated
			_ = json.Unmarshal(e.Payload, &pu)
			for _, o := range pu.Offers {
				got = append(got, o.OfferID)
			}
		}
		if strings.Join(got, ",") != strings.Join(s.want, ",") {
			t.Fatalf("%s: event offers %v; want %v", s.name, got, s.want)
		}
		if len(es) > 0 {
			ids := []string{es[0].ID}
			if err := st.MarkPublished(ctx, ids, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if nudged != 2 {
		t.Fatalf("relay nudged %d times; want 2", nudged)
	}
}

type oneBearer struct{}

func (oneBearer) Authenticate(context.Context, string) (actor.Actor, error) {
	return actor.Actor{Kind: actor.KindUser, ID: "ann", TenantID: "t1", Role: actor.RoleUser}, nil
}

type annsPods struct{}

func (annsPods) PodOwner(context.Context, string, string) (string, error) { return "ann", nil }
func (annsPods) PriceFeed(context.Context, string) (string, error)        { return "sandbox", nil }

func TestRealtimeFeedDeliversStreamEventsToClients(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	conn := []kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...)}
	hub := realtime.NewHub(realtime.Options{Bearer: oneBearer{}, Access: annsPods{}})
	srv := httptest.NewServer(hub)
	defer srv.Close()
	defer hub.Close()
	feed, err := startRealtimeFeed(conn, hub, realtime.NewTranslator(), "gpubroker.pod", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()

	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"),
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer x"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","channel":"pod:p1"}`))

	producer, err := kgo.NewClient(append(conn, kgo.AllowAutoTopicCreation())...)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	e, _ := events.New("pod.state_changed", "p1", "t1",
		map[string]any{"pod": map[string]any{"id": "p1", "tenant_id": "t1", "owner_id": "ann", "state": "running"}}, time.Now())
	value, _ := json.Marshal(events.Envelope(e, "/gpubroker"))
	if err := producer.ProduceSync(ctx, &kgo.Record{Topic: "gpubroker.pod", Key: []byte("p1"), Value: value}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("no event reached the client: %v", err)
		}
		var f struct {
			Type, Channel, Event string
			ID                   uint64
		}
		_ = json.Unmarshal(b, &f)
		if f.Type == "event" {
			if f.Channel != "pod:p1" || f.Event != "pod.state_changed" || f.ID != 1 {
				t.Fatalf("got %s; want pod.state_changed 1 on pod:p1", b)
			}
			return
		}
	}
}

// TestTheAppsHubTakesABrowsersSessionFromItsOrigin: the platform serves
// the hub at /ws; a socket without credentials is closed with 1008; a
// browser signed in on the web face connects with its session cookie from
// the platform's origin and subscribes, while the same cookie sent from
// another origin is refused.
func TestTheAppsHubTakesABrowsersSessionFromItsOrigin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := seeded(ctx, t)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	ws, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if _, _, err = ws.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("a socket without credentials got %v; want closed with 1008", err)
	}

	// Sign in through the web face's registration (SANDBOX confirms at once).
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(srv.URL + "/register")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the register page")
	}
	resp, err = c.PostForm(srv.URL+"/register", url.Values{"csrf": {string(m[1])}, "name": {"Ana"}, "email": {"ana@example.com"},
		"password": {"quiet-harbor-lantern-42"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: %v %v", resp, err)
	}
	resp.Body.Close()
	base, _ := url.Parse(srv.URL)
	var session string
	for _, k := range jar.Cookies(base) {
		if k.Name == "gb_session" {
			session = k.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie")
	}
	dial := func(origin string) *websocket.Conn {
		h := http.Header{"Cookie": {"gb_session=" + session}, "Origin": {origin}}
		ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	ws = dial(srv.URL)
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","channel":"prices"}`)); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := ws.Read(ctx); err != nil || !strings.Contains(string(msg), `"subscribed"`) {
		t.Fatalf("subscribing with the session: %s %v", msg, err)
	}
	foreign := dial("https://elsewhere.example")
	defer foreign.CloseNow()
	if _, _, err := foreign.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("the session from another origin got %v; want closed with 1008", err)
	}
}
