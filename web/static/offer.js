// The offer page's price history: a stepped line of the on-demand price
// (and the spot price, dashed) over the range chosen, and the switch
// between 24 hours, 7 days and 30 days, which fetches that range and
// draws it without reloading. Without scripts the switch's links reload
// the page with the range asked for.
import { axis, dollarTicks, dollars, mount, readJSON, tickSize } from "./charts.js";

const el = document.getElementById("price-chart");
let data = readJSON("price-data");

// build answers the chart of series s: prices in dollars, held from each
// observation to the next and to now.
function build(s) {
  return (p, width, height) => {
    if (s.points === 0) return { empty: "No prices were recorded over this range." };
    const t = [...s.t, s.to];
    const price = [...s.price, s.price[s.price.length - 1]].map((v) => v / 1e6);
    const hasSpot = s.spot.some((v) => v != null);
    const spot = [...s.spot, s.spot[s.spot.length - 1]].map((v) => (v == null ? null : v / 1e6));
    // A few observations are marked, so that a price seen once shows.
    const few = (u, si, i0, i1) => i1 - i0 < 60;
    const series = [{ label: "Time" }, {
      label: "On demand", stroke: p.series[0], width: 2, paths: uPlot.paths.stepped({ align: 1 }),
      value: (u, v) => (v == null ? "—" : dollars(v * 1e6) + "/h"), points: { show: few, size: 7 },
    }];
    const cols = [t, price];
    if (hasSpot) {
      series.push({ label: "Spot", stroke: p.series[1], width: 2, dash: [6, 4], paths: uPlot.paths.stepped({ align: 1 }),
        value: (u, v) => (v == null ? "—" : dollars(v * 1e6) + "/h"), points: { show: few, size: 7 } });
      cols.push(spot);
    }
    return {
      data: cols,
      opts: {
        width, height,
        scales: {
          x: { time: true, range: () => [s.from, s.to] },
          y: { range: (u, min, max) => { const pad = Math.max((max - min) * 0.25, max * 0.05, 0.01); return [Math.max(0, min - pad), max + pad]; } },
        },
        axes: [axis(p), axis(p, { size: tickSize, values: dollarTicks })],
        series,
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      },
    };
  };
}

const chart = mount(el, build(data));

// caption says how many prices the chart draws.
function caption(n, label) {
  return `${n} ${n === 1 ? "price" : "prices"} recorded over the last ${label}; each holds until the next.`;
}

// show puts series s on the page: the chart, the figures and the switch.
function show(s, label) {
  data = s;
  chart.update(build(s));
  document.getElementById("price-min").textContent = s.min;
  document.getElementById("price-max").textContent = s.max;
  document.getElementById("price-latest").textContent = s.latest;
  document.getElementById("price-caption").textContent = caption(s.points, label);
  el.setAttribute("aria-label", el.getAttribute("aria-label").replace(/over the last .*$/, "over the last " + label));
  for (const link of document.querySelectorAll(".interval [data-range]")) {
    if (link.dataset.range === s.range) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
}

for (const link of document.querySelectorAll(".interval [data-range]")) {
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    const range = link.dataset.range;
    const caption = document.getElementById("price-caption");
    try {
      const res = await fetch(location.pathname + "/prices?range=" + encodeURIComponent(range), { headers: { Accept: "application/json" } });
      const body = await res.json();
      if (!res.ok) throw new Error(body.error || res.statusText);
      show(body, link.textContent);
      history.replaceState(null, "", "?range=" + range);
    } catch (err) {
      caption.textContent = "The prices could not be loaded (" + err.message + "). Try again.";
    }
  });
}
