package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// SMTP sends through an SMTP server: STARTTLS whenever the server offers
// it, PLAIN authentication when a username is set, and each message as
// MIME multipart/alternative with its text and HTML.
type SMTP struct {
	Host string
	Port int
	// Username and Password authenticate with PLAIN; no username, no
	// authentication. net/smtp refuses to send them unencrypted except to
	// localhost.
	Username string
	Password string
	// From is the sender, as email.from names it ("Name <address>").
	From string
	// TLS configures STARTTLS (nil: verify the server as Host).
	TLS *tls.Config
	// Timeout bounds one delivery when ctx has no deadline (default 30 s).
	Timeout time.Duration
	Now     func() time.Time
}

// Send implements Sender.
func (s SMTP) Send(ctx context.Context, m Message) error {
	from, err := netmail.ParseAddress(s.From)
	if err != nil {
		return fmt.Errorf("smtp: email.from %q is not an address: %w", s.From, err)
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("smtp: recipient %q is not an address: %w", m.To, err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	body, err := compose(m, from, to, now())
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		timeout := s.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp: connect to %s: %w", addr, err)
	}
	// net/smtp knows no context: the deadline bounds the whole
	// conversation, and cancellation closes the connection.
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := s.converse(conn, from.Address, to.Address, body); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("smtp %s: %w", addr, ctx.Err())
		}
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	return nil
}

func (s SMTP) converse(conn net.Conn, from, to string, body []byte) error {
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if s.TLS != nil {
			cfg = s.TLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = s.Host
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	return c.Quit()
}

// compose writes m as an Internet message from from to to, dated at: the
// headers (the subject RFC 2047 encoded when it is not ASCII) and a
// multipart/alternative body with the text part, then the HTML part, each
// quoted-printable.
func compose(m Message, from, to *netmail.Address, at time.Time) ([]byte, error) {
	var parts bytes.Buffer
	mw := multipart.NewWriter(&parts)
	for _, p := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(p.typ, map[string]string{"charset": "utf-8"})},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("compose mail %s: %w", m.ID, err)
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := io.WriteString(qp, p.body); err != nil {
			return nil, fmt.Errorf("compose mail %s: %w", m.ID, err)
		}
		if err := qp.Close(); err != nil {
			return nil, fmt.Errorf("compose mail %s: %w", m.ID, err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("compose mail %s: %w", m.ID, err)
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	var out bytes.Buffer
	for _, h := range [][2]string{
		{"Date", at.Format(time.RFC1123Z)},
		{"Message-ID", "<" + m.ID + "@" + domain + ">"},
		{"From", from.String()},
		{"To", to.String()},
		{"Subject", mime.QEncoding.Encode("utf-8", m.Subject)},
		{"MIME-Version", "1.0"},
		{"Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()})},
	} {
		out.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	out.WriteString("\r\n")
	out.Write(parts.Bytes())
	return out.Bytes(), nil
}
