// The agent dashboard: the conversation box sends a message (a task, or
// an intervention while one runs) and the agent's steps arrive on its
// stream (server-sent events) as they happen — thoughts, each tool call
// with its arguments, its result, the final answer. The budget chart
// draws the spend against the limits.
import { axis, dollarTicks, dollars, mount, readJSON, tickSize } from "./charts.js";

const steps = document.getElementById("steps");
const status = document.getElementById("stream-status");
const form = document.getElementById("chat");
const error = document.getElementById("chat-error");
const label = document.getElementById("message-label");
const task = document.getElementById("agent-task");
const MAX_STEPS = 200;

function item(kind, ...parts) {
  const li = document.createElement("li");
  li.className = "step step-" + kind;
  for (const p of parts) li.append(p);
  steps.append(li);
  while (steps.children.length > MAX_STEPS) steps.firstElementChild.remove();
  li.scrollIntoView({ block: "nearest" });
  return li;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function pretty(raw) {
  try { return JSON.stringify(raw, null, 2); } catch { return String(raw); }
}

function show(e) {
  const who = e.agent ? `subordinate ${e.agent}` : "agent";
  switch (e.kind) {
    case "start":
      item("start", el("strong", `Task ${e.task}`), el("p", e.message || ""));
      if (task) task.textContent = "working on " + e.task;
      label.textContent = "Tell it while it works";
      break;
    case "step": {
      const li = item("step", el("strong", `${who}, step ${e.iteration}: ${e.headline || e.tool || ""}`));
      for (const t of e.thoughts || []) li.append(el("p", t, "thought"));
      if (e.tool) {
        li.append(el("p", "calls " + e.tool));
        if (e.args) li.append(el("pre", pretty(e.args), "args"));
      }
      if (e.result) li.append(el("pre", pretty(e.result), "args result"));
      if (e.observation) li.append(el("p", e.observation, "observation"));
      break;
    }
    case "decided": {
      const a = el("a", `decision ${e.decision}: ${e.tool} is ${e.status}`);
      a.href = "/admin/decisions/" + encodeURIComponent(e.decision);
      item("decided", a);
      break;
    }
    case "end":
      item("end", el("strong", `Answer (${e.outcome ? e.outcome.ending : "ended"})`), el("p", (e.outcome && e.outcome.response) || ""));
      if (task) task.textContent = "idle";
      label.textContent = "Ask the agent";
      break;
  }
}

function follow() {
  const source = new EventSource("/admin/agent/stream");
  source.onopen = () => { status.textContent = "Live: the agent's steps appear here as it takes them."; };
  for (const kind of ["start", "step", "decided", "end"]) {
    source.addEventListener(kind, (m) => show(JSON.parse(m.data)));
  }
  source.onerror = () => { status.textContent = "Reconnecting to the agent's steps…"; };
}
follow();

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  error.hidden = true;
  const body = new URLSearchParams(new FormData(form));
  const text = body.get("message").trim();
  if (!text) return;
  let resp;
  try {
    resp = await fetch(form.action, { method: "POST", body, headers: { Accept: "application/json", "X-CSRF-Token": body.get("csrf") } });
  } catch {
    error.textContent = "The message could not be sent; try again.";
    error.hidden = false;
    return;
  }
  const answer = await resp.json();
  if (!resp.ok) {
    error.textContent = answer.error || "The message was refused.";
    error.hidden = false;
    return;
  }
  item(answer.intervention ? "intervention" : "message", el("strong", answer.intervention ? "You, while it works" : "You"), el("p", text));
  form.elements.message.value = "";
});

const budget = readJSON("budget-data");
mount(document.getElementById("budget-chart"), (p, width, height) => {
  const idx = budget.labels.map((_, i) => i);
  const money = (v) => (v ? v / 1e6 : 0);
  return {
    data: [idx, budget.spent.map(money), budget.limit.map((v) => (v ? v / 1e6 : null))],
    opts: {
      width, height,
      scales: { x: { time: false, range: () => [-0.5, idx.length - 0.5] }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] } },
      axes: [
        axis(p, { splits: () => idx, values: (u, splits) => splits.map((i) => budget.labels[i] || ""), grid: { show: false } }),
        axis(p, { size: tickSize, values: dollarTicks }),
      ],
      series: [{ label: "", value: (u, v) => (v == null ? "—" : budget.labels[v]) },
        { label: "Spent", stroke: p.series[0], fill: p.series[0] + "b3", width: 1, paths: uPlot.paths.bars({ size: [0.35, 48], align: -1 }),
          points: { show: false }, value: (u, v) => dollars(v * 1e6) },
        { label: "Limit", stroke: p.series[1], fill: p.series[1] + "55", width: 1, paths: uPlot.paths.bars({ size: [0.35, 48], align: 1 }),
          points: { show: false }, value: (u, v) => (v == null ? "no limit" : dollars(v * 1e6)) }],
      cursor: { drag: { x: false, y: false } },
    },
  };
});

// Starting the agent stays on the page, so its first run's steps and
// decisions arrive here; refusals go beside their fields.
const start = document.getElementById("start");
start.addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = new URLSearchParams(new FormData(start));
  let resp;
  try {
    resp = await fetch(start.action, { method: "POST", body, headers: { Accept: "application/json", "X-CSRF-Token": body.get("csrf") } });
  } catch {
    start.submit();
    return;
  }
  const answer = await resp.json();
  const errors = resp.ok ? {} : answer.errors || {};
  for (const p of start.querySelectorAll("[data-error]")) {
    const msg = p.dataset.error ? errors[p.dataset.error] || "" : resp.ok ? "" : answer.error || (Object.keys(errors).length ? "" : "The agent could not be started.");
    p.textContent = msg;
    p.hidden = !msg;
    const field = p.closest(".field");
    if (field) field.classList.toggle("invalid", !!msg);
  }
  if (!resp.ok) return;
  const state = document.getElementById("agent-state");
  state.textContent = answer.running ? "running" : "stopped";
  state.className = "state " + (answer.running ? "state-running" : "state-stopped");
  document.getElementById("start-button").textContent = "Change goals";
});
