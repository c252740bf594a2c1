package mail_test

import (
	"fmt"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
)

const platform = "Acme GPU Cloud"

// TestEveryKindRendersItsNamesAndLinks: each kind's subject, text and HTML
// name the platform, the person and what the mail is about, show every
// link the message carries, and escape what the data says in the HTML.
func TestEveryKindRendersItsNamesAndLinks(t *testing.T) {
	expires := time.Date(2031, 5, 17, 9, 30, 0, 0, time.UTC)
	name := `Ana <script>alert("x")</script> & Co`
	cases := []struct {
		kind  mail.Kind
		data  any
		names []string // what the subject or body must mention
		links []string
	}{
		{mail.KindVerifyEmail, mail.VerifyEmail{Name: name, Link: "https://gpu.example/verify?token=v1&user=7", ExpiresAt: expires},
			[]string{"17 May 2031"}, []string{"https://gpu.example/verify?token=v1&user=7"}},
		{mail.KindActivation, &mail.Activation{Name: name, PodName: "train-llm", PodID: "pod_42", GPU: "H100-SXM-80GB", GPUCount: 8,
			Link: "https://gpu.example/activate/pod_42?token=abc", ExpiresAt: expires},
			[]string{"train-llm", "pod_42", "H100-SXM-80GB", "8", "17 May 2031"}, []string{"https://gpu.example/activate/pod_42?token=abc"}},
		{mail.KindActivated, mail.Activated{Name: name, PodName: "train-llm", PodID: "pod_42", SSHHost: "203.0.113.7", SSHPort: 2222,
			SSHUser: "ubuntu", SSHKeyFingerprint: "SHA256:Zm9vYmFy", JupyterURL: "https://203.0.113.7:8888/lab?token=j"},
			[]string{"train-llm", "ssh -p 2222 ubuntu@203.0.113.7", "SHA256:Zm9vYmFy"}, []string{"https://203.0.113.7:8888/lab?token=j"}},
		{mail.KindInvoice, mail.Invoice{Name: name, Number: "INV-2031-0005", Period: "May 2031", Total: "USD 1234.56",
			Link: "https://gpu.example/invoices/INV-2031-0005"},
			[]string{"INV-2031-0005", "May 2031", "USD 1234.56"}, []string{"https://gpu.example/invoices/INV-2031-0005"}},
		{mail.KindPaymentFailed, mail.PaymentFailed{Name: name, Amount: "USD 99.00", Reason: "card declined", Link: "https://gpu.example/billing"},
			[]string{"USD 99.00", "card declined"}, []string{"https://gpu.example/billing"}},
		{mail.KindAgentNotification, mail.AgentNotification{Name: name, Headline: "Cheaper H100s on Lambda",
			Body: "Moving pod train-llm would save 12%.", Link: "https://gpu.example/agent/runs/9"},
			[]string{"Cheaper H100s on Lambda", "would save 12%"}, []string{"https://gpu.example/agent/runs/9"}},
		{mail.KindIdleStopped, mail.IdleStopped{Name: name, PodName: "train-llm", PodID: "pod_42", IdleFor: 2*time.Hour + 30*time.Minute,
			Link: "https://gpu.example/pods/pod_42"},
			[]string{"train-llm", "pod_42", "2 hours 30 minutes"}, []string{"https://gpu.example/pods/pod_42"}},
		{mail.KindPaymentFailed, mail.PaymentFailed{Name: name, Amount: "USD 29.00", Reason: "insufficient funds", Link: "https://gpu.example/billing",
			Final: true, Plan: "FREE"}, []string{"plan ended", "USD 29.00", "FREE", "pods were stopped"}, []string{"https://gpu.example/billing"}},
		{mail.KindPaymentFailed, mail.PaymentFailed{Name: name, Amount: "USD 29.00", Link: "https://gpu.example/billing", NextAttempt: expires},
			[]string{"USD 29.00", "try again on", "17 May 2031"}, []string{"https://gpu.example/billing"}},
		{mail.KindLowBalance, mail.LowBalance{Name: name, Balance: "USD 3.20", Threshold: "USD 5.00", Link: "https://gpu.example/billing"},
			[]string{"below USD 5.00", "USD 3.20", "is left", "pay-as-you-go"}, []string{"https://gpu.example/billing"}},
		{mail.KindAgentAction, mail.AgentAction{Name: name, Headline: "Deploy 2 × H100 for the nightly run", Tool: "deploy_pod",
			Status: "awaiting approval", Cost: "USD 57.60", Effect: "deploy train: 2 × H100-SXM-80GB on lambda-h100 at $2.40 an hour",
			Link: "https://gpu.example/agent/decisions/dec_1"},
			[]string{"Deploy 2 × H100 for the nightly run", "deploy_pod", "awaiting approval", "USD 57.60", "lambda-h100"},
			[]string{"https://gpu.example/agent/decisions/dec_1"}},
		{mail.KindAlreadyRegistered, mail.AlreadyRegistered{Name: name, Link: "https://gpu.example/login"},
			[]string{"tried to register", "already has an account", "reset your password"}, []string{"https://gpu.example/login"}},
	}
	covered := map[mail.Kind]bool{}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			covered[c.kind] = true
			m, err := mail.Render(c.kind, platform, c.data)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != c.kind || m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
				t.Fatalf("kind %q, subject %q", m.Kind, m.Subject)
			}
			for _, part := range []struct{ name, body string }{{"subject", m.Subject}, {"text", m.Text}, {"html", m.HTML}} {
				if !strings.Contains(part.body, platform) {
					t.Errorf("the %s does not name the platform:\n%s", part.name, part.body)
				}
			}
			for _, n := range c.names {
				if !strings.Contains(m.Subject+m.Text, n) {
					t.Errorf("the text does not mention %q:\n%s", n, m.Text)
				}
				if !strings.Contains(html.UnescapeString(m.HTML), n) {
					t.Errorf("the HTML does not mention %q", n)
				}
			}
			if len(m.Links) != len(c.links) {
				t.Fatalf("links %+v, want %v", m.Links, c.links)
			}
			for i, l := range c.links {
				if m.Links[i].URL != l || m.Links[i].Label == "" {
					t.Errorf("link %d = %+v, want %s", i, m.Links[i], l)
				}
				if !strings.Contains(m.Text, l) || !strings.Contains(m.Text, m.Links[i].Label) {
					t.Errorf("the text lacks the link %+v", m.Links[i])
				}
				if !strings.Contains(m.HTML, fmt.Sprintf(`href="%s"`, html.EscapeString(l))) || !strings.Contains(m.HTML, html.EscapeString(m.Links[i].Label)) {
					t.Errorf("the HTML lacks the link %+v", m.Links[i])
				}
			}
			// The text greets the name as written; the HTML escapes it.
			if !strings.Contains(m.Text, name) {
				t.Errorf("the text does not greet %q", name)
			}
			if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "Ana &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co") {
				t.Errorf("the HTML does not escape the name:\n%s", m.HTML)
			}
		})
	}
	for _, k := range mail.Kinds {
		if !covered[k] {
			t.Errorf("kind %s has no render case", k)
		}
	}
}

func TestRenderRefusesWhatItCannotWrite(t *testing.T) {
	cases := []struct {
		name string
		kind mail.Kind
		data any
	}{
		{"an unknown kind", "newsletter", mail.Invoice{}},
		{"another kind's data", mail.KindInvoice, mail.PaymentFailed{Link: "https://gpu.example/billing"}},
		{"no data", mail.KindInvoice, nil},
		{"a nil pointer", mail.KindActivation, (*mail.Activation)(nil)},
		{"a missing link", mail.KindActivation, mail.Activation{PodName: "p"}},
		{"a script link", mail.KindInvoice, mail.Invoice{Link: "javascript:alert(1)"}},
		{"a relative link", mail.KindIdleStopped, mail.IdleStopped{Link: "/pods/1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := mail.Render(c.kind, platform, c.data); fault.KindOf(err) != fault.KindInvalid {
				t.Fatalf("err = %v, want invalid", err)
			}
		})
	}
}

func TestOptionalLinksAreLeftOut(t *testing.T) {
	m, err := mail.Render(mail.KindActivated, platform, mail.Activated{PodName: "p", SSHHost: "h", SSHPort: 22, SSHUser: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Links) != 0 || strings.Contains(m.HTML, "<a ") || !strings.Contains(m.Text, "Hello there") {
		t.Fatalf("links %+v\n%s", m.Links, m.Text)
	}
}

func TestASubjectIsOneLine(t *testing.T) {
	m, err := mail.Render(mail.KindAgentNotification, platform, mail.AgentNotification{Headline: "Budget\r\nBcc: everyone@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Budget Bcc: everyone@example.com ("+platform+")" {
		t.Fatalf("subject %q", m.Subject)
	}
}
