package mail_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/gpubroker/pod/mail"
)

// sesRequest is what the fake SES server received.
type sesRequest struct {
	method, path, contentType, auth string
	body                            map[string]any
}

// fakeSES answers the SES v2 REST-JSON SendEmail call, or fails it with
// the error given.
func fakeSES(t *testing.T, fail string) (*sesv2.Client, func() []sesRequest) {
	t.Helper()
	var mu sync.Mutex
	var got []sesRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := sesRequest{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"), auth: r.Header.Get("Authorization")}
		if err := json.Unmarshal(b, &req.body); err != nil {
			t.Errorf("body is not JSON: %s", b)
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if fail != "" {
			w.Header().Set("X-Amzn-Errortype", fail)
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"message":"Email address is not verified."}`)
			return
		}
		_, _ = io.WriteString(w, `{"MessageId":"0100018f-test-message"}`)
	}))
	t.Cleanup(srv.Close)
	client := sesv2.New(sesv2.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	return client, func() []sesRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]sesRequest(nil), got...)
	}
}

func rendered(t *testing.T) mail.Message {
	t.Helper()
	m, err := mail.Render(mail.KindInvoice, "Ünïcode Cloud", mail.Invoice{Name: "Zoë", Number: "INV-7", Period: "May 2031",
		Total: "EUR 12.50", Link: "https://gpu.example/invoices/INV-7"})
	if err != nil {
		t.Fatal(err)
	}
	m.ID, m.TenantID, m.To = "mail_0192-test", "acme", "zoe@acme.test"
	return m
}

// TestSESSendsASimpleMessage: the sender calls SendEmail at its REST
// route, signed, with the subject, text and HTML as simple content in
// UTF-8, from email.from to the recipient, in the configuration set.
func TestSESSendsASimpleMessage(t *testing.T) {
	client, received := fakeSES(t, "")
	m := rendered(t)
	s := mail.SES{Client: client, From: "Acme GPU <no-reply@acme.test>", ConfigurationSet: "transactional"}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	reqs := received()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.path != "/v2/email/outbound-emails" || !strings.HasPrefix(r.contentType, "application/json") {
		t.Fatalf("%s %s (%s), want POST /v2/email/outbound-emails with JSON", r.method, r.path, r.contentType)
	}
	if !strings.HasPrefix(r.auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(r.auth, "/eu-west-1/ses/aws4_request") {
		t.Fatalf("Authorization %q is not a SigV4 signature for SES in eu-west-1", r.auth)
	}
	want := map[string]any{
		"FromEmailAddress":     "Acme GPU <no-reply@acme.test>",
		"Destination":          map[string]any{"ToAddresses": []any{"zoe@acme.test"}},
		"ConfigurationSetName": "transactional",
		"Content": map[string]any{"Simple": map[string]any{
			"Subject": map[string]any{"Data": m.Subject, "Charset": "UTF-8"},
			"Body": map[string]any{
				"Text": map[string]any{"Data": m.Text, "Charset": "UTF-8"},
				"Html": map[string]any{"Data": m.HTML, "Charset": "UTF-8"},
			},
		}},
	}
	gotJSON, _ := json.Marshal(r.body)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("body\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestSESWithoutAConfigurationSetNamesNone(t *testing.T) {
	client, received := fakeSES(t, "")
	if err := (mail.SES{Client: client, From: "no-reply@acme.test"}).Send(context.Background(), rendered(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok := received()[0].body["ConfigurationSetName"]; ok {
		t.Fatal("a configuration set was named")
	}
}

func TestSESRefusalIsAnError(t *testing.T) {
	client, _ := fakeSES(t, "MessageRejected")
	err := (mail.SES{Client: client, From: "no-reply@acme.test"}).Send(context.Background(), rendered(t))
	if err == nil || !strings.Contains(err.Error(), "MessageRejected") {
		t.Fatalf("err = %v, want the SES refusal", err)
	}
}
