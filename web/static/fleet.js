// The fleet page's charts: spend per hour stacked by provider, and the
// GPUs that ran each hour, from the JSON the page carries.
import { axis, dollarTicks, dollars, mount, readJSON, tickSize } from "./charts.js";

const fleet = readJSON("fleet-data");
const from = fleet.t[0];
const to = fleet.t[fleet.t.length - 1] + 3600;

mount(document.getElementById("fleet-spend"), (p, width, height) => {
  if (fleet.providers.length === 0) return { empty: "Nothing ran in this span." };
  // Stack: each provider's band sits on the ones before it.
  const stacked = [];
  let below = fleet.t.map(() => 0);
  for (const s of fleet.spend) {
    below = below.map((v, i) => v + s[i] / 1e6);
    stacked.push(below);
  }
  const colours = (i) => p.series[i % p.series.length];
  return {
    data: [fleet.t, ...stacked],
    opts: {
      width, height,
      scales: { x: { time: true, range: () => [from, to] }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] } },
      axes: [axis(p), axis(p, { size: tickSize, values: dollarTicks })],
      series: [{ label: "Hour" }, ...fleet.providers.map((name, i) => ({
        label: name, stroke: colours(i), fill: colours(i) + "66", width: 1, points: { show: false },
        paths: uPlot.paths.stepped({ align: 1 }),
        value: (u, v, si, di) => (di == null ? "—" : dollars(fleet.spend[i][di])),
      }))],
      bands: fleet.providers.slice(1).map((_, i) => ({ series: [i + 2, i + 1] })),
      cursor: { drag: { x: false, y: false } },
    },
  };
});

mount(document.getElementById("fleet-gpus"), (p, width, height) => ({
  data: [fleet.t, fleet.gpus],
  opts: {
    width, height,
    scales: { x: { time: true, range: () => [from, to] }, y: { range: (u, min, max) => [0, Math.max(1, max + 1)] } },
    axes: [axis(p), axis(p, { values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? String(v) : "")) })],
    series: [{ label: "Hour" }, { label: "GPUs", stroke: p.series[1], fill: p.series[1] + "55", width: 2, points: { show: false },
      paths: uPlot.paths.stepped({ align: 1 }) }],
    cursor: { drag: { x: false, y: false } },
  },
}));
