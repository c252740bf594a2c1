// Live pod states: one WebSocket to /ws (signed in by the session
// cookie), a subscription per element naming a pod (a dashboard row, a
// pod's page), each pod event changing the element in place: its state
// badge, its progress steps, and which of its parts show (data-when lists
// the states a part belongs to). A state the page cannot show in place
// (data-reload-on) reloads it. A lost connection is retried, and resumes
// from the last event seen on each pod.
const pods = new Map();
for (const el of document.querySelectorAll("[data-pod]")) {
  pods.set("pod:" + el.dataset.pod, el);
}
const status = document.getElementById("live-status");
const last = new Map();
const order = ["pending", "provisioning", "ready", "running"];
// A form on its way (Stop, Activate…) leads to the page anew: a reload
// now would cancel it.
let submitting = false;
document.addEventListener("submit", () => { submitting = true; });

function show(el, state) {
  const was = el.dataset.podState;
  const badge = el.querySelector("[data-state]");
  if (badge) {
    badge.textContent = state;
    badge.className = "state state-" + state;
  }
  el.dataset.podState = state;
  for (const part of el.querySelectorAll("[data-when]")) {
    part.hidden = !part.dataset.when.split(" ").includes(state);
  }
  const at = order.indexOf(state);
  for (const li of el.querySelectorAll("[data-step]")) {
    const i = order.indexOf(li.dataset.step);
    li.className = i < at ? "done" : i === at ? "now" : "";
    if (i === at) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  }
  if (state !== was && !submitting && (el.dataset.reloadOn || "").split(" ").includes(state)) location.reload();
}

function connect(delay) {
  if (pods.size === 0) return;
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.addEventListener("open", () => {
    for (const channel of pods.keys()) {
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
    if (m.type !== "event" || !pods.has(m.channel)) return;
    last.set(m.channel, m.id);
    const state = m.data && m.data.pod && m.data.pod.state;
    if (state) show(pods.get(m.channel), state);
  });
  ws.addEventListener("close", () => {
    if (status) status.textContent = "Reconnecting…";
    setTimeout(() => connect(Math.min(delay * 2, 30000)), delay);
  });
}
connect(1000);

// Copy buttons: data-copy names the element whose text is copied.
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", async () => {
    const text = document.getElementById(button.dataset.copy).textContent;
    const said = document.getElementById("copy-status");
    try {
      await navigator.clipboard.writeText(text);
      if (said) said.textContent = "Copied.";
    } catch {
      if (said) said.textContent = "Select the text and copy it: this browser did not allow the copy.";
    }
  });
}
