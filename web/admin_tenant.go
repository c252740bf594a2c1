package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gpubroker/pod/fault"
	"github.com/gpubroker/pod/mode"
	"github.com/gpubroker/pod/tenant"
	"github.com/gpubroker/pod/tools"
)

// tenantView is the tenant page's data: the admin's tenant, the mode a
// switch leads to, what that mode still lacks, the phrase the switch asks
// to be typed, and the past switches.
type tenantView struct {
	Tenant tenant.Tenant
	// To is the mode the switch form leads to.
	To mode.Mode
	// Checked says the switch to To was previewed; Missing lists what
	// it lacks (nothing when it may go ahead).
	Checked bool
	Missing []string
	Form    form
	// Confirm is the phrase the server asked for before switching.
	Confirm  string
	Switches []modeSwitch
	Switched bool
}

// modeSwitch is one past switch, from the audit.
type modeSwitch struct {
	At    time.Time
	Actor string
	tenant.ModeSwitch
}

// adminTenant shows the admin's tenant and its mode (R2), the switch to
// the other mode with, towards LIVE, the checklist of what LIVE still
// lacks as the switch's preview answers it, and the audit of past
// switches.
func (p *Pages) adminTenant(w http.ResponseWriter, r *http.Request) {
	v := tenantView{Form: form{Values: map[string]string{}, Errors: map[string]string{}}, Switched: r.URL.Query().Has("switched")}
	p.showTenant(w, r, http.StatusOK, v)
}

func (p *Pages) showTenant(w http.ResponseWriter, r *http.Request, status int, v tenantView) {
	s, _ := user(r)
	if err := p.call(r, s.actor, tools.ToolGetTenant, tools.TenantInput{}, &v.Tenant); err != nil {
		p.fail(w, r, err)
		return
	}
	v.To = mode.Live
	if v.Tenant.Mode == mode.Live {
		v.To = mode.Sandbox
	}
	if !v.Checked {
		var pv tools.Preview
		err := p.call(r, s.actor, tools.ToolSwitchMode, tools.SwitchModeInput{Control: tools.Control{DryRun: true}, Mode: v.To}, &pv)
		fe, _ := fault.As(err)
		switch {
		case err == nil:
			v.Checked = true
		case fe != nil && len(fe.Missing) > 0:
			v.Checked, v.Missing = true, fe.Missing
		case refusedHere(err):
			v.Form.Error = refusalText(err)
		default:
			p.fail(w, r, err)
			return
		}
	}
	var list tools.AuditList
	in := tools.AuditInput{TenantRef: tools.TenantRef{Tenant: v.Tenant.ID}, Tool: tenant.ActionSwitchMode, Limit: 20}
	if err := p.call(r, s.actor, tools.ToolQueryAudit, in, &list); err != nil {
		p.fail(w, r, err)
		return
	}
	for _, rec := range list.Records {
		sw := modeSwitch{At: rec.At, Actor: rec.Actor.String()}
		if json.Unmarshal(rec.Input, &sw.ModeSwitch) != nil {
			continue
		}
		v.Switches = append(v.Switches, sw)
	}
	p.renderAdmin(w, r, status, "tenant", "Tenant and mode", "tenant", v)
}

// adminSwitchMode switches the tenant to the mode asked for. The tool
// decides: towards LIVE it refuses while live keys are missing, listing
// them; any switch asks for a phrase typed before it happens, and
// nothing changes without it. Every switch is audited.
func (p *Pages) adminSwitchMode(w http.ResponseWriter, r *http.Request) {
	s, _ := user(r)
	f := newForm(r, "mode", "confirm")
	in := tools.SwitchModeInput{Control: tools.Control{Confirm: f.Values["confirm"]}, Mode: mode.Mode(f.Values["mode"])}
	var t tenant.Tenant
	err := p.call(r, s.actor, tools.ToolSwitchMode, in, &t)
	if err == nil {
		http.Redirect(w, r, "/admin/tenant?switched=1", http.StatusSeeOther)
		return
	}
	v := tenantView{Form: f}
	status := refusalStatus(err)
	fe, _ := fault.As(err)
	phrase, asked := confirmationAsked(err)
	switch {
	case asked:
		v.Confirm, v.Checked, status = phrase, true, http.StatusConflict
		if f.Values["confirm"] != "" {
			f.Errors["confirm"] = fmt.Sprintf("That is not %s: type it exactly to confirm.", phrase)
		}
	case fe != nil && len(fe.Missing) > 0:
		v.Checked, v.Missing = true, fe.Missing
	case refusedHere(err):
		f.refuse(err)
	default:
		p.fail(w, r, err)
		return
	}
	f.Values["confirm"] = ""
	p.showTenant(w, r, status, v)
}
