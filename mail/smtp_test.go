package mail_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubroker/pod/mail"
)

// session is one SMTP conversation the test server had.
type session struct {
	tls        bool
	auth       string // the mechanism and its decoded response
	authInTLS  bool
	from, rcpt string
	data       []byte
}

// smtpServer is just enough of an SMTP server on loopback: EHLO, STARTTLS
// (when it has a certificate), AUTH PLAIN, MAIL, RCPT, DATA and QUIT.
type smtpServer struct {
	ln       net.Listener
	tls      *tls.Config
	rejectTo string
	mu       sync.Mutex
	sessions []session
	wg       sync.WaitGroup
}

func startSMTP(t *testing.T, cfg *tls.Config) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, tls: cfg}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(conn) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) received() []session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]session(nil), s.sessions...)
}

func (s *smtpServer) serve(conn net.Conn) {
	defer func() { conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	var sess session
	_ = tp.PrintfLine("220 smtp.test ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ext := []string{"250-smtp.test", "250-8BITMIME"}
			if s.tls != nil && !sess.tls {
				ext = append(ext, "250-STARTTLS")
			}
			_ = tp.PrintfLine("%s", strings.Join(append(ext, "250 AUTH PLAIN"), "\r\n"))
		case "STARTTLS":
			_ = tp.PrintfLine("220 go ahead")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, tp, sess.tls = tc, textproto.NewConn(tc), true
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			b, _ := base64.StdEncoding.DecodeString(resp)
			sess.auth, sess.authInTLS = mech+" "+string(b), sess.tls
			_ = tp.PrintfLine("235 authenticated")
		case "MAIL":
			sess.from = arg
			_ = tp.PrintfLine("250 ok")
		case "RCPT":
			if s.rejectTo != "" && strings.Contains(arg, s.rejectTo) {
				_ = tp.PrintfLine("550 no such user")
				continue
			}
			sess.rcpt = arg
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go ahead")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			sess.data = data
			s.mu.Lock()
			s.sessions = append(s.sessions, sess)
			s.mu.Unlock()
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("502 not implemented")
		}
	}
}

// selfSigned returns a server certificate for 127.0.0.1 and a client
// configuration that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp.test"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, &tls.Config{RootCAs: pool}
}

var sentAt = time.Date(2031, 5, 17, 9, 30, 0, 0, time.UTC)

// parsed is a received message, read back with the standard library.
type parsed struct {
	header netmail.Header
	parts  []struct{ contentType, body string }
}

func parseMIME(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not an Internet message: %v\n%s", err, data)
	}
	mt, ps, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	out := parsed{header: msg.Header}
	mr := multipart.NewReader(msg.Body, ps["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p) // quoted-printable, decoded by the reader
		if err != nil {
			t.Fatal(err)
		}
		out.parts = append(out.parts, struct{ contentType, body string }{p.Header.Get("Content-Type"), string(b)})
	}
	return out
}

func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// TestSMTPSendsBothPartsAsMIME: the message arrives from email.from to the
// recipient, authenticated with PLAIN, as multipart/alternative with the
// text and the HTML, its headers dated by the injected clock and the
// non-ASCII subject encoded.
func TestSMTPSendsBothPartsAsMIME(t *testing.T) {
	srv := startSMTP(t, nil)
	m := rendered(t)
	s := mail.SMTP{Host: "127.0.0.1", Port: srv.port(), Username: "mailer", Password: "s3cret",
		From: "Ünïcode Cloud <no-reply@acme.test>", Now: func() time.Time { return sentAt }}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.received()
	if len(got) != 1 {
		t.Fatalf("%d messages, want 1", len(got))
	}
	sess := got[0]
	if sess.auth != "PLAIN \x00mailer\x00s3cret" || !strings.HasPrefix(sess.from, "FROM:<no-reply@acme.test>") || !strings.HasPrefix(sess.rcpt, "TO:<zoe@acme.test>") {
		t.Fatalf("auth %q, from %q, rcpt %q", sess.auth, sess.from, sess.rcpt)
	}
	p := parseMIME(t, sess.data)
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(p.header.Get("Subject"))
	if err != nil || subject != m.Subject || !strings.HasPrefix(p.header.Get("Subject"), "=?utf-8?q?") {
		t.Fatalf("Subject %q decodes to %q (%v), want %q encoded", p.header.Get("Subject"), subject, err, m.Subject)
	}
	from, err := p.header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Ünïcode Cloud" || from[0].Address != "no-reply@acme.test" {
		t.Fatalf("From %q: %+v %v", p.header.Get("From"), from, err)
	}
	if to, err := p.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "zoe@acme.test" {
		t.Fatalf("To %q: %v", p.header.Get("To"), err)
	}
	if d, err := p.header.Date(); err != nil || !d.Equal(sentAt) {
		t.Fatalf("Date %q: %v", p.header.Get("Date"), err)
	}
	if id := p.header.Get("Message-ID"); id != "<"+m.ID+"@acme.test>" {
		t.Fatalf("Message-ID %q", id)
	}
	if p.header.Get("MIME-Version") != "1.0" {
		t.Fatalf("MIME-Version %q", p.header.Get("MIME-Version"))
	}
	if len(p.parts) != 2 {
		t.Fatalf("%d parts, want text and HTML", len(p.parts))
	}
	for i, want := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		mt, ps, _ := mime.ParseMediaType(p.parts[i].contentType)
		if mt != want.typ || ps["charset"] != "utf-8" {
			t.Errorf("part %d is %q, want %s in UTF-8", i, p.parts[i].contentType, want.typ)
		}
		if lf(p.parts[i].body) != lf(want.body) {
			t.Errorf("part %d body\n got %q\nwant %q", i, p.parts[i].body, want.body)
		}
	}
}

// TestSMTPUsesSTARTTLSWhenOffered: offered STARTTLS, the sender encrypts
// before it authenticates; without a username it does not authenticate.
func TestSMTPUsesSTARTTLSWhenOffered(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	srv := startSMTP(t, serverTLS)
	s := mail.SMTP{Host: "127.0.0.1", Port: srv.port(), Username: "mailer", Password: "s3cret", From: "no-reply@acme.test", TLS: clientTLS}
	if err := s.Send(context.Background(), rendered(t)); err != nil {
		t.Fatal(err)
	}
	s.Username = ""
	if err := s.Send(context.Background(), rendered(t)); err != nil {
		t.Fatal(err)
	}
	got := srv.received()
	if len(got) != 2 || !got[0].tls || !got[0].authInTLS || !got[1].tls || got[1].auth != "" {
		t.Fatalf("sessions %+v: want both encrypted, the first authenticated inside TLS, the second not at all", got)
	}
	parseMIME(t, got[0].data)
}

func TestSMTPRefusalsAreErrors(t *testing.T) {
	srv := startSMTP(t, nil)
	srv.rejectTo = "zoe@"
	s := mail.SMTP{Host: "127.0.0.1", Port: srv.port(), From: "no-reply@acme.test"}
	if err := s.Send(context.Background(), rendered(t)); err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("err = %v, want the server's 550", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.Port = closed
	if err := s.Send(context.Background(), rendered(t)); err == nil {
		t.Fatal("sending to a closed port succeeded")
	}
	s.From = "not an address"
	if err := s.Send(context.Background(), rendered(t)); err == nil {
		t.Fatal("a broken email.from was accepted")
	}
}
