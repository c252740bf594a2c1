package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gpubroker/pod/actor"
	"github.com/gpubroker/pod/auth"
	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/tools"
)

// usersView is the users and access page's data: the tenant's users and
// API tokens, and the forms that change them as entered.
type usersView struct {
	Users  []auth.User
	Tokens []auth.APIToken
	Roles  []actor.Role
	// Self is the admin's own id: their role is not theirs to change.
	Self string
	// Role is the role change refused, with the user it was for.
	Role  form
	Token form
	Slack form
	// Done says which change was just saved: role, slack or revoked.
	Done string
}

func blankForm() form { return form{Values: map[string]string{}, Errors: map[string]string{}} }

// adminUsers lists the tenant's users with their roles and its API
// tokens, with the forms that change a role, link a user to Slack,
// create and revoke a token, and the way to the admin's own MFA.
func (p *Pages) adminUsers(w http.ResponseWriter, r *http.Request) {
	v := usersView{Role: blankForm(), Token: blankForm(), Slack: blankForm(), Done: r.URL.Query().Get("done")}
	v.Token.Values["role"] = string(actor.RoleUser)
	p.showUsers(w, r, http.StatusOK, v)
}

func (p *Pages) showUsers(w http.ResponseWriter, r *http.Request, status int, v usersView) {
	s, _ := user(r)
	var users tools.UserList
	if err := p.call(r, s.actor, tools.ToolListUsers, struct{}{}, &users); err != nil {
		p.fail(w, r, err)
		return
	}
	var tokens tools.TokenList
	if err := p.call(r, s.actor, tools.ToolListAPITokens, struct{}{}, &tokens); err != nil {
		p.fail(w, r, err)
		return
	}
	v.Users, v.Tokens, v.Roles, v.Self = users.Users, tokens.Tokens, actor.Roles, s.actor.ID
	p.renderAdmin(w, r, status, "users", "Users and access", "users", v)
}

// adminSetRole changes a user's role (R19.7). The tools refuse a role
// above the admin's own and a change of their own; the page says why.
func (p *Pages) adminSetRole(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	f := newForm(r, "role")
	f.Values["id"] = chi.URLParam(r, "id")
	var u auth.User
	err := p.call(r, s.actor, tools.ToolSetUserRole, tools.SetRoleInput{ID: f.Values["id"], Role: actor.Role(f.Values["role"])}, &u)
	if err == nil {
		http.Redirect(w, r, "/admin/users?done=role#users", http.StatusSeeOther)
		return
	}
	if !refusedHere(err) {
		p.fail(w, r, err)
		return
	}
	f.Error = refusalText(err)
	v := usersView{Role: f, Token: blankForm(), Slack: blankForm()}
	p.showUsers(w, r, refusalStatus(err), v)
}

// adminSetSlack links a user to their Slack member id, so what they click
// on the agent's decisions in Slack is known as theirs; an empty id
// unlinks them.
func (p *Pages) adminSetSlack(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	f := newForm(r, "user_id", "slack_user_id")
	var link tools.SlackLink
	err := p.call(r, s.actor, tools.ToolSetSlackUser, tools.SetSlackUserInput{UserID: f.Values["user_id"], SlackUserID: f.Values["slack_user_id"]}, &link)
	if err == nil {
		http.Redirect(w, r, "/admin/users?done=slack#slack", http.StatusSeeOther)
		return
	}
	if !refusedHere(err) {
		p.fail(w, r, err)
		return
	}
	f.refuse(err)
	p.showUsers(w, r, refusalStatus(err), usersView{Role: blankForm(), Token: blankForm(), Slack: f})
}

// tokenView is the page of a token just made: its secret, shown this once.
type tokenView struct {
	Token  auth.APIToken
	Secret string
}

// adminCreateToken makes an API token with a role and scopes and shows
// its secret on the page it answers, the only time it is shown: the
// page is not kept by the browser's cache, and nothing stores the secret
// but its hash.
func (p *Pages) adminCreateToken(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	f := newForm(r, "name", "role", "scopes", "ttl")
	in := tools.CreateTokenInput{Name: f.Values["name"], Role: actor.Role(f.Values["role"]), TTL: f.Values["ttl"],
		Scopes: strings.FieldsFunc(f.Values["scopes"], func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\t' })}
	var tok tools.NewToken
	err := p.call(r, s.actor, tools.ToolCreateAPIToken, in, &tok)
	if err == nil {
		w.Header().Set("Cache-Control", "no-store")
		p.renderAdmin(w, r, http.StatusCreated, "token", "Your new API token", "users", tokenView{Token: tok.Token, Secret: tok.Secret})
		return
	}
	if !refusedHere(err) {
		p.fail(w, r, err)
		return
	}
	// A problem with one scope (scopes[2]) is the scopes field's.
	if fe, ok := fault.As(err); ok && len(fe.Problems) > 0 {
		probs := slices.Clone(fe.Problems)
		for i := range probs {
			if strings.HasPrefix(probs[i].Field, "scopes[") {
				probs[i].Field = "scopes"
			}
		}
		err = fault.InvalidAll(fe.Message, probs)
	}
	f.refuse(err)
	p.showUsers(w, r, refusalStatus(err), usersView{Role: blankForm(), Token: f, Slack: blankForm()})
}

// adminRevokeToken revokes a token at once.
func (p *Pages) adminRevokeToken(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	var out tools.Revoked
	if err := p.call(r, s.actor, tools.ToolRevokeAPIToken, tools.RevokeTokenInput{ID: chi.URLParam(r, "id")}, &out); err != nil {
		if !refusedHere(err) {
			p.fail(w, r, err)
			return
		}
		f := blankForm()
		f.Error = refusalText(err)
		p.showUsers(w, r, refusalStatus(err), usersView{Role: blankForm(), Token: f, Slack: blankForm()})
		return
	}
	http.Redirect(w, r, "/admin/users?done=revoked#tokens", http.StatusSeeOther)
}
