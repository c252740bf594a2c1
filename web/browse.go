package web

import (
	"net/http"
	"net/url"

	"github.com/gpubroker/pod/market"
	"github.com/gpubroker/pod/providers"
	"github.com/gpubroker/pod/tools"
)

// browseFields are the browse form's fields, named as list_offers names
// its input; the integers and the prices are parsed here, every other
// rule is the tool's.
var (
	browseFields   = []string{"gpu", "gpu_count", "min_gpu_memory_gb", "min_price", "max_price", "region", "provider", "availability", "pricing", "sort"}
	browseInts     = []string{"gpu_count", "min_gpu_memory_gb"}
	browseDecimals = []string{"min_price", "max_price"}
)

// option is a choice of a select: its value and what people read.
type option struct{ Value, Label string }

// browseView is the browse page's data: the filters as entered, the page
// of offers, the choices of each select and the links to page on.
type browseView struct {
	Form         form
	Page         market.Page
	GPUs         []string
	Providers    []option
	Availability []string
	Sorts        []option
	// Next is the link to the following page; First the link back to the
	// first when this is not it.
	Next, First string
	// Spot says the prices shown are the interruptible ones.
	Spot bool
	// Scored says the offers are ranked by TOPSIS, whose score is shown.
	Scored bool
}

// sortLabels say what each sort key orders by.
var sortLabels = map[market.SortKey]string{
	market.SortPrice:            "Price, lowest first",
	market.SortPerformance:      "Performance, highest first",
	market.SortPricePerformance: "Price per performance",
	market.SortTOPSIS:           "Best value (TOPSIS)",
	market.SortAvailability:     "Availability",
}

// browse lists the offers of the catalogue (R10) with filters, a sort and
// cursor pages, for a signed-in person; the prices and availability
// change in place as the market moves (browse.js over /ws).
func (p *Pages) browse(w http.ResponseWriter, r *http.Request) {
	s, ok := p.signedInOr(w, r)
	if !ok {
		return
	}
	v := browseView{Form: newForm(r, browseFields...), GPUs: providers.GPUNames()}
	for _, pr := range providers.Supported {
		v.Providers = append(v.Providers, option{pr.ID, pr.Name})
	}
	for _, a := range providers.Availabilities {
		v.Availability = append(v.Availability, string(a))
	}
	for _, k := range market.SortKeys {
		v.Sorts = append(v.Sorts, option{string(k), sortLabels[k]})
	}
	in := formInput(&v.Form, browseFields, browseInts, browseDecimals)
	if c := r.FormValue("cursor"); c != "" {
		in["cursor"] = c
	}
	in["limit"] = 25
	v.Spot = v.Form.Values["pricing"] == "spot"
	v.Scored = v.Form.Values["sort"] == string(market.SortTOPSIS)
	status := http.StatusOK
	if len(v.Form.Errors) == 0 {
		if err := p.call(r, s.actor, tools.ToolListOffers, in, &v.Page); err != nil {
			if !badInput(err) {
				p.fail(w, r, err)
				return
			}
			v.Form.refuse(err)
		}
	}
	if len(v.Form.Errors) > 0 || v.Form.Error != "" {
		status = http.StatusBadRequest
	}
	q := url.Values{}
	for _, k := range browseFields {
		if val := v.Form.Values[k]; val != "" {
			q.Set(k, val)
		}
	}
	if r.FormValue("cursor") != "" {
		v.First = "/offers?" + q.Encode()
	}
	if v.Page.Next != "" {
		q.Set("cursor", v.Page.Next)
		v.Next = "/offers?" + q.Encode()
	}
	p.render(w, r, status, "browse", view{Title: "Browse GPU offers", Nav: "browse", Data: v})
}
