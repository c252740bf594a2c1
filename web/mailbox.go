package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/tools"
)

// mailboxView is the SANDBOX mailbox: the mail sent to the signed-in
// person, newest first, or why it cannot be shown.
type mailboxView struct {
	Messages []mail.Record
	Error    string
}

// mailbox shows a SANDBOX person the mail sent to them, each link
// clickable (SANDBOX only: LIVE mail goes to real inboxes).
func (p *Pages) mailbox(w http.ResponseWriter, r *http.Request) {
	s, ok := p.signedInOr(w, r)
	if !ok {
		return
	}
	var list tools.MailList
	v := mailboxView{}
	if err := p.call(r, s.actor, tools.ToolListMail, tools.ListMailInput{Limit: 50}, &list); err != nil {
		var f form
		f.refuse(err)
		v.Error = f.Error
	} else {
		v.Messages = list.Messages
	}
	p.render(w, r, http.StatusOK, "mailbox", view{Title: "Mailbox", Nav: "mailbox", Data: v})
}

// mailLink is where a mailed link leads from this page: a link to one of
// our pages opens on the origin the person is on (the platform's address
// in the mail may name another), any other stays as it is.
func mailLink(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	// The pages a mailed link opens here: a pod's activation and the
	// address's confirmation.
	ours := u.Path == "/verify-email" || (strings.HasPrefix(u.Path, "/pods/") && strings.HasSuffix(u.Path, "/activate"))
	if !ours {
		return raw
	}
	return (&url.URL{Path: u.Path, RawQuery: u.RawQuery}).String()
}
