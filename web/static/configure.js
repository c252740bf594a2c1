// The configure page's estimate follows the form: each change asks the
// server for the estimate of the configuration as it stands (the same
// tool the saved draft is priced by), shows the cost per hour, day and
// month, bounds the machine's sizes by the provider's limits, and shows
// beside each field what the server refuses.
const form = document.getElementById("configure");
const status = document.getElementById("estimate-status");
const limits = document.getElementById("limits");
const regions = document.getElementById("regions");
const keep = document.getElementById("offer_id");
let timer = 0;
let asked = 0;

function showErrors(errors) {
  for (const p of form.querySelectorAll("[data-error]")) {
    const msg = (errors && errors[p.dataset.error]) || "";
    p.textContent = msg;
    p.hidden = !msg;
    const field = p.closest(".field");
    if (field) field.classList.toggle("invalid", !!msg);
    const input = form.elements[p.dataset.error];
    if (input && input.setAttribute) {
      if (msg) { input.setAttribute("aria-invalid", "true"); input.setAttribute("aria-describedby", p.id); }
      else input.removeAttribute("aria-invalid");
    }
  }
}

function bound(name, range) {
  const input = form.elements[name];
  if (!input || !range) return;
  input.min = range.min;
  input.max = range.max;
}

async function reprice() {
  const q = new URLSearchParams(new FormData(form));
  q.delete("csrf");
  const mine = ++asked;
  status.textContent = "Pricing…";
  let answer;
  try {
    const resp = await fetch("/pods/estimate?" + q.toString(), { headers: { Accept: "application/json" } });
    answer = await resp.json();
  } catch {
    if (mine === asked) status.textContent = "The estimate could not be fetched; it is kept as it was.";
    return;
  }
  if (mine !== asked) return; // a later change is being priced
  showErrors(answer.errors);
  if (!answer.shown) {
    status.textContent = answer.error || "Fix the configuration to see its cost.";
    for (const dd of document.querySelectorAll("[data-cost]")) dd.textContent = "—";
    return;
  }
  for (const dd of document.querySelectorAll("[data-cost]")) dd.textContent = answer.shown[dd.dataset.cost] || "";
  status.textContent = "On " + answer.shown.provider + " in " + answer.offer.region + ".";
  const l = answer.limits;
  if (l && l.vcpu && l.vcpu.max) {
    bound("vcpu", l.vcpu);
    bound("ram_gib", l.ram_gib);
    bound("disk_gib", l.disk_gib);
    limits.textContent = `${answer.shown.provider} sells ${l.vcpu.min}–${l.vcpu.max} vCPU, ${l.ram_gib.min}–${l.ram_gib.max} GiB RAM and ${l.disk_gib.min}–${l.disk_gib.max} GiB disk.`;
    regions.replaceChildren(...(l.regions || []).map((r) => Object.assign(document.createElement("option"), { value: r })));
  }
}

form.addEventListener("input", (e) => {
  if (!e.target.hasAttribute("data-reprice")) return;
  // Another GPU, count, provider or region is another offer.
  if (keep && e.target !== keep && ["gpu", "gpu_count", "provider", "region"].includes(e.target.name)) keep.checked = false;
  clearTimeout(timer);
  timer = setTimeout(reprice, 250);
});

// The bounds of the provider chosen at first apply from the start.
reprice();
