// Live prices on the browse page: one WebSocket to /ws (signed in by the
// session cookie) following the price feed of the person's tenant; each
// update changes the price and availability of the rows it names, in
// place. A lost connection is retried and resumes after the last update
// seen; told to refetch, the page reloads.
const table = document.querySelector("table[data-live-prices]");
const status = document.getElementById("live-status");
const spot = table && table.dataset.pricing === "spot";
let last = 0;

function usd(v) {
  return "$" + v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 6 }) + "/h";
}

function apply(offer) {
  const row = table.querySelector(`tr[data-offer="${CSS.escape(offer.offer_id)}"]`);
  if (!row) return;
  const price = spot ? offer.spot_price_hour : offer.price_hour;
  const cell = row.querySelector("[data-price]");
  if (price && cell.textContent !== usd(price)) cell.textContent = usd(price);
  const avail = row.querySelector("[data-avail]");
  if (offer.availability && avail.textContent !== offer.availability) {
    avail.textContent = offer.availability;
    avail.className = "avail avail-" + offer.availability;
  }
  row.classList.remove("changed");
  void row.offsetWidth; // restart the highlight
  row.classList.add("changed");
}

function connect(delay) {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.addEventListener("open", () => {
    const msg = { type: "subscribe", channel: "prices" };
    if (last) msg.after = last;
    ws.send(JSON.stringify(msg));
    delay = 1000;
  });
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "subscribed" && status) status.textContent = "Live: prices update as they change.";
    if (m.type === "refetch") { location.reload(); return; }
    if (m.type !== "event") return;
    last = m.id;
    for (const offer of (m.data && m.data.offers) || []) apply(offer);
  });
  ws.addEventListener("close", () => {
    if (status) status.textContent = "Reconnecting…";
    setTimeout(() => connect(Math.min(delay * 2, 30000)), delay);
  });
}
if (table) connect(1000);
