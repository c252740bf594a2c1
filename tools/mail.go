package tools

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mail"
	"github.com/gpubroker/pod/mode"
)

// ToolListMail is the name of list_mail.
const ToolListMail = "list_mail"

// Users finds a user by id; the store implements it.
type Users interface {
	UserByID(ctx context.Context, id string) (auth.User, error)
}

// MailServices are what the mail tools call.
type MailServices struct {
	Mail *mail.Service
	// Users finds the caller's own address.
	Users Users
}

// RegisterMail registers the mail toolset.
func RegisterMail(r *Registry, s MailServices) {
	registerToolset(r, ToolsetMail, listMail(s))
}

// ListMailInput is the input of list_mail.
type ListMailInput struct {
	TenantRef
	To    string    `json:"to,omitempty" jsonschema:"only mail sent to this address (a POD Admin's filter; a user sees only their own address's mail)"`
	Kind  mail.Kind `json:"kind,omitempty" jsonschema:"only mail of this kind: verify_email, activation, activated, invoice, payment_failed, agent_notification, idle_stopped or already_registered"`
	Limit int       `json:"limit,omitempty" jsonschema:"at most this many (default 50, max 200)"`
}

// Validate implements Validator.
func (in *ListMailInput) Validate() error {
	if in.Kind != "" && !in.Kind.Valid() {
		return fault.Invalid("kind", "want one of %v, got %q", mail.Kinds, in.Kind)
	}
	if in.Limit < 0 || in.Limit > 200 {
		return fault.Invalid("limit", "want 0 to 200, got %d", in.Limit)
	}
	return nil
}

// MailList is the output of list_mail.
type MailList struct {
	Messages []mail.Record `json:"messages"`
}

// ownAddress is the address of the user calling. Only a signed-in user
// has one: a token or the agent reads no one's mail but a POD Admin's way.
func (s MailServices) ownAddress(ctx context.Context, c *Call) (string, error) {
	if c.Actor.Kind != actor.KindUser {
		return "", fault.Forbidden("the mailbox shows a signed-in user the mail sent to their own address; %s credentials have none "+
			"(a POD Admin's may read every address's mail)", c.Actor.Kind)
	}
	u, err := s.Users.UserByID(ctx, c.Actor.ID)
	if err != nil {
		return "", fmt.Errorf("find the caller's address: %w", err)
	}
	return strings.ToLower(u.Email), nil
}

func listMail(s MailServices) Def[ListMailInput, MailList] {
	return Def[ListMailInput, MailList]{
		Name: ToolListMail, Title: "Read the SANDBOX mailbox", Group: ToolsetMail, MinRole: actor.RoleUser, ReadOnly: true,
		Description: "Read the mail the platform sent in a SANDBOX tenant, newest first: each message's subject, text, HTML and links " +
			"(follow an activation or verification link from here). With email.sender mailbox, the default, SANDBOX mail never " +
			"leaves the platform and this is the only place to read it. A user sees the mail sent to their own address; a POD Admin " +
			"sees every address's, narrowed with to. A LIVE tenant has no mailbox.",
		Method: http.MethodGet, Path: "/mailbox",
		Handle: func(ctx context.Context, c *Call, in *ListMailInput) (MailList, error) {
			if c.Tenant.Mode != mode.Sandbox {
				return MailList{}, fault.Conflict("the mailbox exists only in SANDBOX: tenant %s is %s, and its mail goes to the "+
					"recipients' own inboxes through the sender email.sender names", c.Tenant.ID, c.Tenant.Mode)
			}
			f := mail.Filter{TenantID: c.Tenant.ID, Kind: in.Kind, Limit: in.Limit, To: strings.ToLower(strings.TrimSpace(in.To))}
			if f.Limit == 0 {
				f.Limit = 50
			}
			if c.Actor.Role != actor.RolePodAdmin {
				own, err := s.ownAddress(ctx, c)
				if err != nil {
					return MailList{}, err
				}
				if f.To != "" && f.To != own {
					return MailList{}, fault.Forbidden("only a POD Admin reads the mail sent to another address")
				}
				f.To = own
			}
			list, err := s.Mail.List(ctx, f)
			return MailList{Messages: list}, err
		},
	}
}
