// Live pod states on the dashboard: one WebSocket to /ws (signed in by
// the session cookie), a subscription per pod row, each pod event
// updating its row's state in place. A lost connection is retried, and
// resumes from the last event seen on each pod.
const rows = new Map();
for (const row of document.querySelectorAll("table[data-live] tr[data-pod]")) {
  rows.set("pod:" + row.dataset.pod, row);
}
const status = document.getElementById("live-status");
const last = new Map();

function connect(delay) {
  if (rows.size === 0) return;
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.addEventListener("open", () => {
    for (const channel of rows.keys()) {
      const msg = { type: "subscribe", channel };
      if (last.has(channel)) msg.after = last.get(channel);
      ws.send(JSON.stringify(msg));
    }
    if (status) status.textContent = "Live: pod states update as they change.";
    delay = 1000;
  });
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "refetch") { location.reload(); return; }
    if (m.type !== "event" || !rows.has(m.channel)) return;
    last.set(m.channel, m.id);
    const state = m.data && m.data.pod && m.data.pod.state;
    if (!state) return;
    const cell = rows.get(m.channel).querySelector("[data-state]");
    cell.textContent = state;
    cell.className = "state state-" + state;
  });
  ws.addEventListener("close", () => {
    if (status) status.textContent = "Reconnecting…";
    setTimeout(() => connect(Math.min(delay * 2, 30000)), delay);
  });
}
connect(1000);
