package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/gpubroker/pod/billing"
	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/tools"
)

// month is one choice of the billing page's month selector.
type month struct {
	Value    string
	Label    string
	Selected bool
}

// costChart is a month's costs as the chart script reads them: every day
// of the month at its noon (UTC, Unix seconds) with its cost in
// micro-dollars (null for days still to come), and each pod's cost.
type costChart struct {
	From  int64    `json:"from"`
	To    int64    `json:"to"`
	Days  []int64  `json:"t"`
	Costs []*int64 `json:"total"`
	Pods  []string `json:"pods"`
	ByPod []int64  `json:"by_pod"`
}

// billingView is the billing page's data.
type billingView struct {
	Period  string
	Months  []month
	Usage   billing.Rollup
	PodName map[string]string
	Chart   costChart
	Account tools.Account
	Plan    billing.Account
	// Invoices are the newest twelve.
	Invoices billing.InvoicePage
	Form     form
	Notice   string
}

// billing is the signed-in person's billing (R18.6): what their pods
// cost in a month, by day and by pod, drawn and as tables; their prepaid
// credit and a way to buy more; their plan; and their invoices.
func (p *Pages) billing(w http.ResponseWriter, r *http.Request) {
	p.billingPage(w, r, http.StatusOK, newForm(r, "amount"))
}

// billingPage renders the billing page of the month asked for, with
// status and the credit form f.
func (p *Pages) billingPage(w http.ResponseWriter, r *http.Request, status int, f form) {
	s, ok := p.signedInOr(w, r)
	if !ok {
		return
	}
	v := billingView{Period: r.URL.Query().Get("period"), PodName: map[string]string{}, Form: f}
	var list tools.PodList
	for _, c := range []struct {
		tool string
		in   any
		out  any
	}{
		{tools.ToolUsageSummary, tools.UsageInput{Period: v.Period, UserID: s.actor.ID}, &v.Usage},
		{tools.ToolGetBalance, tools.BalanceInput{Limit: 1}, &v.Account},
		{tools.ToolGetSubscription, tools.GetSubscriptionInput{}, &v.Plan},
		{tools.ToolListInvoices, tools.ListInvoicesInput{Limit: 12}, &v.Invoices},
		{tools.ToolListPods, tools.ListPodsInput{Limit: 500}, &list},
	} {
		if err := p.call(r, s.actor, c.tool, c.in, c.out); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	for _, pod := range list.Pods {
		v.PodName[pod.ID] = pod.Name
	}
	v.Period = v.Usage.From.UTC().Format("2006-01")
	v.Months = months(p.d.Now(), v.Period)
	v.Chart = chartOf(v.Usage, v.PodName, p.d.Now())
	switch r.URL.Query().Get("bought") {
	case "credited":
		v.Notice = "The credit is added to your balance."
	case "pending":
		v.Notice = "The payment is on its way: the credit is added once the processor reports it."
	}
	p.render(w, r, status, "billing", view{Title: "Billing", Nav: "billing", Data: v})
}

// months are the month selector's choices: the last twelve, and the one
// shown when it is older or later.
func months(now time.Time, shown string) []month {
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var out []month
	found := false
	for i := range 12 {
		m := first.AddDate(0, -i, 0)
		v := m.Format("2006-01")
		found = found || v == shown
		out = append(out, month{Value: v, Label: m.Format("January 2006"), Selected: v == shown})
	}
	if !found {
		if m, err := time.Parse("2006-01", shown); err == nil {
			out = append([]month{{Value: shown, Label: m.Format("January 2006"), Selected: true}}, out...)
		}
	}
	return out
}

// chartOf lays rollup u out for the charts: each day of its month, and
// each pod by the name it has (its id when it has none any more).
func chartOf(u billing.Rollup, names map[string]string, now time.Time) costChart {
	c := costChart{From: u.From.Unix(), To: u.To.Unix(), Days: []int64{}, Costs: []*int64{}, Pods: []string{}, ByPod: []int64{}}
	byDay := map[string]money.Amount{}
	for _, l := range u.ByDay {
		byDay[l.Key] = l.Total
	}
	for d := u.From.UTC(); d.Before(u.To); d = d.AddDate(0, 0, 1) {
		c.Days = append(c.Days, d.Add(12*time.Hour).Unix())
		if d.After(now) {
			c.Costs = append(c.Costs, nil)
			continue
		}
		cost := byDay[d.Format(time.DateOnly)].Micros()
		c.Costs = append(c.Costs, &cost)
	}
	for _, l := range u.ByPod {
		name := names[l.Key]
		if name == "" {
			name = l.Key
		}
		c.Pods, c.ByPod = append(c.Pods, name), append(c.ByPod, l.Total.Micros())
	}
	return c
}

// buyCredits buys prepaid credit with the saved payment method; a
// refused amount or payment is shown beside the form, to try again.
func (p *Pages) buyCredits(w http.ResponseWriter, r *http.Request) {
	s, ok := p.signedInOr(w, r)
	if !ok {
		return
	}
	f := newForm(r, "amount")
	amount, err := money.Parse(strings.TrimPrefix(f.Values["amount"], "$"))
	if err != nil {
		f.Errors["amount"] = "Give an amount in dollars and cents, such as 50.00."
		p.billingPage(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	var bought billing.Purchase
	if err := p.call(r, s.actor, tools.ToolBuyCredits, tools.BuyCreditsInput{Amount: amount}, &bought); err != nil {
		f.refuse(err)
		p.billingPage(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	done := "pending"
	if bought.Credited {
		done = "credited"
	}
	http.Redirect(w, r, "/billing?bought="+done+"#credits", http.StatusSeeOther)
}
