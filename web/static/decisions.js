// The agent's decisions, live: one WebSocket to /ws following the
// tenant's agent channel. A decision that moves changes its row's status
// in place; a new one is added at the top of the lists that show the
// newest first. On a decision's own page, a move made elsewhere (in
// Slack, by another admin) reloads it, so the page shows what is so now.
const tables = [...document.querySelectorAll("table[data-live-decisions]")];
const page = document.querySelector("[data-decision-page]");
const status = document.getElementById("live-status");
const newest = !new URLSearchParams(location.search).has("after");
let last = 0;
// A form on its way (Approve, Override…) leads to the page anew: a reload
// now would cancel it.
let submitting = false;
document.addEventListener("submit", () => { submitting = true; });

function cell(tag, text, cls) {
  const e = document.createElement(tag);
  if (text != null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function row(d) {
  const tr = document.createElement("tr");
  tr.dataset.decision = d.id;
  const th = cell("th");
  th.scope = "row";
  const a = cell("a", d.headline || d.tool);
  a.href = "/admin/decisions/" + encodeURIComponent(d.id);
  th.append(a);
  const tool = cell("td");
  tool.append(cell("code", d.tool));
  const st = cell("td");
  const badge = cell("span", d.status, "status status-" + d.status);
  badge.dataset.status = "";
  st.append(badge);
  const cost = d.preview && d.preview.cost ? "$" + d.preview.cost : "$0.00";
  tr.append(cell("td", "just now"), th, tool, cell("td", cost, "num"), st);
  return tr;
}

function matches(table, d) {
  const q = new URLSearchParams(location.search);
  return (!q.get("status") || q.get("status") === d.status) && (!q.get("tool") || q.get("tool") === d.tool) && !d.read_only;
}

function apply(d) {
  if (page && page.dataset.decisionPage === d.id && page.textContent !== d.status) {
    if (!submitting) location.reload();
    return;
  }
  for (const table of tables) {
    const found = table.querySelector(`tr[data-decision="${CSS.escape(d.id)}"]`);
    if (found) {
      const badge = found.querySelector("[data-status]");
      badge.textContent = d.status;
      badge.className = "status status-" + d.status;
      continue;
    }
    if (!newest || !matches(table, d)) continue;
    const body = table.tBodies[0];
    const empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    body.prepend(row(d));
  }
}

function connect(delay) {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.addEventListener("open", () => {
    const msg = { type: "subscribe", channel: "agent" };
    if (last) msg.after = last;
    ws.send(JSON.stringify(msg));
    delay = 1000;
  });
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "subscribed" && status) status.textContent = "Live: decisions appear and move here as they happen.";
    if (m.type === "refetch") { location.reload(); return; }
    if (m.type !== "event") return;
    last = m.id;
    if (m.data && m.data.decision) apply(m.data.decision);
  });
  ws.addEventListener("close", () => {
    if (status) status.textContent = "Reconnecting…";
    setTimeout(() => connect(Math.min(delay * 2, 30000)), delay);
  });
}
if (tables.length || page) connect(1000);
