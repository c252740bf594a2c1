package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gpubroker/pod/money"
	"github.com/gpubroker/pod/providers"
)

// Builtin is the deterministic procurement planner: a Model that needs no
// network. It reads the goals in the task and the system prompt, and
// from the tool results in the history decides the next call, in the
// same reply format a language model answers:
//
//   - "keep N × GPU running below $X/h": count the live pods of that GPU,
//     and deploy the cheapest available offers until N are, within $X an
//     hour in all;
//   - "stop pods idle for M min": stop the running pods whose last
//     activity is older than M minutes;
//   - "move a pod when a compatible offer is P % cheaper": for each
//     running pod, find the cheapest available offer of its GPU and count
//     that fits its vCPU, RAM and disk, and scale the pod onto it when its
//     price is at least P % below what the pod's provider charges now.
//
// A goal it cannot read is named in its response.
type Builtin struct {
	Now func() time.Time
}

var (
	keepGoal = regexp.MustCompile(`(?i)keep\s+(\d+)\s*[×x*]\s*([A-Za-z0-9-]+)\s+running\s+below\s+\$?([\d.]+)\s*/\s*h`)
	idleGoal = regexp.MustCompile(`(?i)stop\s+pods\s+idle\s+for\s+(\d+)\s*min`)
	moveGoal = regexp.MustCompile(`(?i)move\s+(?:a\s+|the\s+)?pods?\s+when\s+a\s+compatible\s+offer\s+is\s+(\d+)\s*%\s*cheaper`)
)

// liveStates are the states of a pod that holds (or is getting) a machine.
var liveStates = map[string]bool{"pending": true, "provisioning": true, "ready": true, "running": true}

// turn is one call of this monologue and what came back.
type turn struct {
	tool   string
	args   json.RawMessage
	result string
	failed bool
}

// Next implements Model.
func (b Builtin) Next(_ context.Context, p Prompt) (Answer, error) {
	task, turns := monologueOf(p.History)
	goals := goalsOf(p.System, task)
	var done []string
	for _, g := range goals {
		reply, note := b.pursue(g, turns)
		if reply != nil {
			return answer(*reply), nil
		}
		done = append(done, note)
	}
	if len(goals) == 0 {
		done = append(done, "I found no goal I can pursue in "+strconv.Quote(task)+`: I understand "keep N × GPU running below $X/h", "stop pods idle for M min" `+
			`and "move a pod when a compatible offer is P % cheaper"`)
	}
	return answer(Reply{Thoughts: []string{"every goal is handled"}, Headline: "report", Tool: ToolResponse,
		Args: mustJSON(map[string]string{"text": strings.Join(done, "\n")})}), nil
}

func answer(r Reply) Answer {
	b, _ := json.Marshal(r)
	return Answer{Text: string(b)}
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// monologueOf splits the history into the task that started the running
// monologue and the calls made since, with their results.
func monologueOf(h []Message) (string, []turn) {
	start := 0
	for i, m := range h {
		if m.Role == RoleUser && !strings.HasPrefix(m.Content, InterventionLead) && !strings.HasPrefix(m.Content, NewsLead) && !strings.HasPrefix(m.Content, "You gave the same reply") {
			start = i
		}
	}
	task := ""
	if len(h) > 0 {
		task = h[start].Content
	}
	var out []turn
	for i := start; i < len(h); i++ {
		if h[i].Role != RoleAssistant {
			continue
		}
		r, err := ParseReply(h[i].Content)
		if err != nil {
			continue
		}
		t := turn{tool: r.Tool, args: r.Args}
		if i+1 < len(h) && h[i+1].Role == RoleTool {
			t.result, t.failed = h[i+1].Content, strings.HasPrefix(h[i+1].Content, "error: ")
		}
		out = append(out, t)
	}
	return task, out
}

// goal is one goal the planner pursues.
type goal struct {
	text    string
	keep    int
	gpu     string
	maxHour money.Amount
	idle    time.Duration
	// cheaper is the percent below a pod's price an offer must be for
	// the pod to move to it.
	cheaper int
}

// goalsOf reads the goals of the task message and the system prompt's
// goal list, each once, the task's first.
func goalsOf(system, task string) []goal {
	var out []goal
	seen := map[string]bool{}
	for _, text := range append([]string{task}, strings.Split(system, "\n")...) {
		// Most lines of the prompt are tool schemas: only a line that
		// names a goal's verb is worth the expressions.
		if lower := strings.ToLower(text); !strings.Contains(lower, "keep") && !strings.Contains(lower, "idle") && !strings.Contains(lower, "cheaper") {
			continue
		}
		for _, m := range keepGoal.FindAllStringSubmatch(text, -1) {
			n, _ := strconv.Atoi(m[1])
			gpu, ok := providers.CanonicalGPU(m[2], 0)
			limit, err := money.Parse(m[3])
			if !ok || err != nil || n < 1 || seen[m[0]] {
				continue
			}
			seen[m[0]] = true
			out = append(out, goal{text: m[0], keep: n, gpu: gpu, maxHour: limit})
		}
		for _, m := range idleGoal.FindAllStringSubmatch(text, -1) {
			mins, _ := strconv.Atoi(m[1])
			if mins < 1 || seen[m[0]] {
				continue
			}
			seen[m[0]] = true
			out = append(out, goal{text: m[0], idle: time.Duration(mins) * time.Minute})
		}
		for _, m := range moveGoal.FindAllStringSubmatch(text, -1) {
			pct, _ := strconv.Atoi(m[1])
			if pct < 1 || pct > 99 || seen[m[0]] {
				continue
			}
			seen[m[0]] = true
			out = append(out, goal{text: m[0], cheaper: pct})
		}
	}
	return out
}

// pursue is the next call a goal needs, or, when it needs none, what
// became of it.
func (b Builtin) pursue(g goal, turns []turn) (*Reply, string) {
	if g.idle > 0 {
		return b.stopIdle(g, turns)
	}
	if g.cheaper > 0 {
		return b.moveCheaper(g, turns)
	}
	return b.keepRunning(g, turns)
}

type podView struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	GPU       string       `json:"gpu"`
	GPUCount  int          `json:"gpu_count"`
	OfferID   string       `json:"offer_id"`
	VCPU      int          `json:"vcpu"`
	RAMGiB    int          `json:"ram_gib"`
	DiskGiB   int          `json:"disk_gib"`
	State     string       `json:"state"`
	PriceHour money.Amount `json:"price_hour"`
	Rate      struct {
		ProviderHour money.Amount `json:"provider_hour"`
	} `json:"rate"`
	ActiveAt *time.Time `json:"active_at"`
}

// offerView is an offer as list_offers answers it.
type offerView struct {
	ID        string  `json:"id"`
	Provider  string  `json:"provider"`
	PriceHour float64 `json:"price_hour"`
	VCPU      int     `json:"vcpu"`
	RAMGB     float64 `json:"ram_gb"`
	DiskGB    int     `json:"disk_gb"`
}

// lastResult is the result of the last call of tool with these
// arguments (any when args is nil).
func lastResult(turns []turn, tool string, args json.RawMessage) (turn, bool) {
	for i := len(turns) - 1; i >= 0; i-- {
		if turns[i].tool == tool && (args == nil || string(turns[i].args) == string(args)) {
			return turns[i], true
		}
	}
	return turn{}, false
}

func call(tool, headline string, args any, thoughts ...string) *Reply {
	return &Reply{Thoughts: thoughts, Headline: headline, Tool: tool, Args: mustJSON(args)}
}

func (b Builtin) keepRunning(g goal, turns []turn) (*Reply, string) {
	listArgs := mustJSON(map[string]any{"limit": 500})
	listed, ok := lastResult(turns, "list_pods", listArgs)
	if !ok {
		return call("list_pods", "count the pods", map[string]any{"limit": 500}, "goal: "+g.text, "first, how many "+g.gpu+" pods are live"), ""
	}
	var pl struct {
		Pods []podView `json:"pods"`
	}
	if listed.failed || json.Unmarshal([]byte(listed.result), &pl) != nil {
		return nil, fmt.Sprintf("%s: the pods could not be listed (%s)", g.text, listed.result)
	}
	live, spend := 0, money.Amount(0)
	for _, p := range pl.Pods {
		if liveStates[p.State] {
			spend += p.PriceHour
			if p.GPU == g.gpu {
				live++
			}
		}
	}
	// Deploys made in this monologue count, held for approval or not,
	// and so does the price of each draft made for one.
	var deployed []string
	for _, t := range turns {
		switch t.tool {
		case "deploy_pod":
			deployed = append(deployed, t.result)
		case "configure_pod":
			var q struct {
				Pod podView `json:"pod"`
			}
			if !t.failed && json.Unmarshal([]byte(t.result), &q) == nil {
				spend += q.Pod.PriceHour
			}
		}
	}
	if live+len(deployed) >= g.keep {
		return nil, fmt.Sprintf("%s: %d live and %d deployed now (%s an hour in all)", g.text, live, len(deployed), spend)
	}
	if last := turns[len(turns)-1]; last.tool == "configure_pod" {
		if last.failed {
			return nil, fmt.Sprintf("%s: the pod could not be configured: %s", g.text, strings.TrimPrefix(last.result, "error: "))
		}
		var q struct {
			Pod podView `json:"pod"`
		}
		if json.Unmarshal([]byte(last.result), &q) != nil || q.Pod.ID == "" {
			return nil, fmt.Sprintf("%s: the draft's id could not be read", g.text)
		}
		// The quote carries the platform's terms the offer's list price
		// does not: it decides.
		if spend > g.maxHour {
			return nil, fmt.Sprintf("%s: draft %s at %s an hour would take the spend to %s an hour, over %s; not deployed (the draft is kept)",
				g.text, q.Pod.ID, q.Pod.PriceHour, spend, g.maxHour)
		}
		return call("deploy_pod", "deploy "+q.Pod.Name, map[string]any{"id": q.Pod.ID},
			fmt.Sprintf("the draft costs %s an hour", q.Pod.PriceHour)), ""
	}
	offersArgs := mustJSON(map[string]any{"gpu": g.gpu, "gpu_count": 1, "availability": "available", "sort": "price", "limit": 5})
	found, ok := lastResult(turns, "list_offers", offersArgs)
	if !ok {
		return call("list_offers", "find "+g.gpu+" offers", json.RawMessage(offersArgs),
			fmt.Sprintf("%d of %d %s pods are live", live+len(deployed), g.keep, g.gpu), "the cheapest available offer first"), ""
	}
	var page struct {
		Offers []offerView `json:"offers"`
	}
	if found.failed || json.Unmarshal([]byte(found.result), &page) != nil || len(page.Offers) == 0 {
		return nil, fmt.Sprintf("%s: no available %s offer was found", g.text, g.gpu)
	}
	o := page.Offers[0]
	price, err := money.FromFloat(o.PriceHour)
	if err != nil {
		return nil, fmt.Sprintf("%s: offer %s has no price to read", g.text, o.ID)
	}
	if spend+price > g.maxHour {
		return nil, fmt.Sprintf("%s: %d live and %d deployed now; no more: the cheapest offer (%s at %s an hour before the platform's terms) "+
			"would take the spend to %s an hour, over %s", g.text, live, len(deployed), o.ID, price, spend+price, g.maxHour)
	}
	name := fmt.Sprintf("agent-%s-%d", strings.ToLower(strings.SplitN(g.gpu, "-", 2)[0]), live+len(deployed)+1)
	return call("configure_pod", "configure "+name, map[string]any{"name": name, "gpu": g.gpu, "gpu_count": 1, "provider": o.Provider,
		"offer_id": o.ID, "vcpu": max(o.VCPU, 1), "ram_gib": max(int(o.RAMGB), 1), "disk_gib": max(o.DiskGB, 20), "image": "cuda-12.4-base",
		"pricing": "on_demand"}, fmt.Sprintf("%s at %s an hour keeps the spend at %s of %s", o.ID, price, spend+price, g.maxHour)), ""
}

func (b Builtin) stopIdle(g goal, turns []turn) (*Reply, string) {
	pods, next, note := runningPods(g, turns)
	if next != nil || note != "" {
		return next, note
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	stopped := map[string]bool{}
	for _, t := range turns {
		if t.tool == "stop_pod" {
			var in struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(t.args, &in)
			stopped[in.ID] = true
		}
	}
	for _, p := range pods {
		if p.State != "running" || stopped[p.ID] || p.ActiveAt == nil || now().Sub(*p.ActiveAt) < g.idle {
			continue
		}
		return call("stop_pod", "stop "+p.Name, map[string]any{"id": p.ID},
			fmt.Sprintf("%s has been idle since %s", p.Name, p.ActiveAt.UTC().Format(time.RFC3339))), ""
	}
	return nil, fmt.Sprintf("%s: %d stopped", g.text, len(stopped))
}

// runningPods answers the running pods, or the call that lists them, or
// why they cannot be read.
func runningPods(g goal, turns []turn) ([]podView, *Reply, string) {
	listArgs := mustJSON(map[string]any{"state": "running", "limit": 500})
	listed, ok := lastResult(turns, "list_pods", listArgs)
	if !ok {
		return nil, call("list_pods", "find running pods", json.RawMessage(listArgs), "goal: "+g.text), ""
	}
	var pl struct {
		Pods []podView `json:"pods"`
	}
	if listed.failed || json.Unmarshal([]byte(listed.result), &pl) != nil {
		return nil, nil, fmt.Sprintf("%s: the pods could not be listed (%s)", g.text, listed.result)
	}
	return pl.Pods, nil, ""
}

// moveCheaper scales each running pod onto the cheapest available offer
// that fits it, when that offer is at least g.cheaper percent below what
// the pod's provider charges now; pods are looked at in the order listed,
// each once.
func (b Builtin) moveCheaper(g goal, turns []turn) (*Reply, string) {
	pods, next, note := runningPods(g, turns)
	if next != nil || note != "" {
		return next, note
	}
	moved := 0
	for _, t := range turns {
		if t.tool == "scale_pod" && !t.failed {
			moved++
		}
	}
	for _, p := range pods {
		if p.State != "running" || p.GPUCount < 1 || scaled(turns, p.ID) {
			continue
		}
		args := mustJSON(map[string]any{"gpu": p.GPU, "gpu_count": p.GPUCount, "availability": "available", "sort": "price", "limit": 20})
		found, ok := lastResult(turns, "list_offers", args)
		if !ok {
			return call("list_offers", "price "+p.Name+"'s GPUs", json.RawMessage(args),
				fmt.Sprintf("%s runs %d × %s at %s an hour from its provider", p.Name, p.GPUCount, p.GPU, p.Rate.ProviderHour)), ""
		}
		var page struct {
			Offers []offerView `json:"offers"`
		}
		if found.failed || json.Unmarshal([]byte(found.result), &page) != nil {
			continue
		}
		// The provider's price before the platform's terms, on both sides.
		limit, err := p.Rate.ProviderHour.MulRat(int64(100-g.cheaper), 100)
		if err != nil {
			continue
		}
		for _, o := range page.Offers {
			price, err := money.FromFloat(o.PriceHour)
			if err != nil || o.ID == p.OfferID || o.VCPU < p.VCPU || int(o.RAMGB) < p.RAMGiB || o.DiskGB < p.DiskGiB {
				continue
			}
			if price > limit {
				break // sorted by price: none further is cheaper
			}
			return call("scale_pod", "move "+p.Name+" to "+o.ID, map[string]any{"id": p.ID, "offer_id": o.ID},
				fmt.Sprintf("%s costs %s an hour where %s charges %s: at least %d %% cheaper", o.ID, price, p.Name, p.Rate.ProviderHour, g.cheaper)), ""
		}
	}
	return nil, fmt.Sprintf("%s: %d moved", g.text, moved)
}

// scaled reports whether the monologue asked to scale pod id already.
func scaled(turns []turn, id string) bool {
	for _, t := range turns {
		if t.tool != "scale_pod" {
			continue
		}
		var in struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(t.args, &in) == nil && in.ID == id {
			return true
		}
	}
	return false
}
