// Charts drawn with uPlot, which a classic script before this module
// loads as the global uPlot. Colours come from the stylesheet's tokens,
// so a chart follows light and dark (and is drawn again when the scheme
// changes); its width is its container's, followed as that resizes.

const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 4 });

// dollars shows micro-dollars as dollars for people.
export function dollars(micros) {
  return micros == null ? "—" : money.format(micros / 1e6);
}

// dollarTicks labels a money axis's ticks with as many decimals as their
// step needs (a month of cents, or of thousands of dollars).
export function dollarTicks(u, vals) {
  const step = vals.length > 1 ? Math.abs(vals[1] - vals[0]) : Math.abs(vals[0] || 1);
  const decimals = step >= 1 ? 0 : Math.min(6, Math.max(2, Math.ceil(-Math.log10(step) - 1e-9)));
  return vals.map((v) => "$" + v.toFixed(decimals));
}

// tickSize is the width a value axis needs for its longest label.
export function tickSize(u, values) {
  const longest = values ? Math.max(0, ...values.map((v) => String(v).length)) : 5;
  return Math.ceil(longest * 7.5) + 20;
}

// palette reads the colour tokens the charts draw with.
export function palette() {
  const s = getComputedStyle(document.documentElement);
  const v = (name) => s.getPropertyValue(name).trim();
  return {
    text: v("--text"), muted: v("--muted"), grid: v("--chart-grid"), series: [v("--chart-1"), v("--chart-2"), v("--chart-3")],
    font: "12px " + v("--font"),
  };
}

// axis is an axis in the palette's colours.
export function axis(p, extra) {
  return Object.assign({ stroke: p.muted, font: p.font, grid: { stroke: p.grid, width: 1 }, ticks: { stroke: p.grid, width: 1 } }, extra);
}

// height is a chart's height for a width: shorter on narrow screens.
function height(width) {
  return Math.round(Math.max(200, Math.min(320, width * 0.55)));
}

// mount draws a chart in el from build(palette, width, height), which
// answers uPlot's options and data; it draws again when the colour scheme
// changes and resizes with el. The answer's update(build) redraws with
// another build; el.dataset.drawn counts the drawings, for tests.
export function mount(el, build) {
  let plot = null;
  let current = build;
  const draw = () => {
    if (plot) plot.destroy();
    el.replaceChildren();
    const width = Math.max(el.clientWidth, 200);
    const made = current(palette(), width, height(width));
    if (made.empty) {
      const p = document.createElement("p");
      p.className = "chart-empty muted";
      p.textContent = made.empty;
      el.append(p);
      plot = null;
    } else {
      plot = new uPlot(made.opts, made.data, el);
    }
    el.dataset.drawn = String(Number(el.dataset.drawn || 0) + 1);
  };
  draw();
  let lastWidth = el.clientWidth;
  new ResizeObserver(() => {
    const width = el.clientWidth;
    if (width === lastWidth) return;
    lastWidth = width;
    if (plot) plot.setSize({ width: Math.max(width, 200), height: height(width) });
  }).observe(el);
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", draw);
  return { update(next) { current = next; draw(); } };
}

// readJSON reads the JSON a page carries in the script element id.
export function readJSON(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
}
