// The billing page's charts: the month's cost by day as bars, and its
// cost by pod as bars, from the JSON the page carries. The tables below
// them hold the same figures for those who do not see the charts.
import { axis, dollarTicks, dollars, mount, readJSON, tickSize } from "./charts.js";

const costs = readJSON("cost-data");
const yScale = { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] };

mount(document.getElementById("cost-by-day"), (p, width, height) => {
  return {
    // A day that cost nothing draws no bar rather than a stub.
    data: [costs.t, costs.total.map((v) => (v ? v / 1e6 : null))],
    opts: {
      width, height,
      scales: { x: { time: true, range: () => [costs.from, costs.to] }, y: yScale },
      axes: [axis(p), axis(p, { size: tickSize, values: dollarTicks })],
      series: [{ label: "Day", value: (u, v) => (v == null ? "—" : new Date(v * 1000).toISOString().slice(0, 10)) }, {
        label: "Cost", stroke: p.series[0], fill: p.series[0] + "b3", width: 1,
        paths: uPlot.paths.bars({ size: [0.7, 24], align: 0 }), points: { show: false },
        value: (u, v) => (v == null ? "—" : dollars(v * 1e6)),
      }],
      cursor: { drag: { x: false, y: false } },
    },
  };
});

mount(document.getElementById("cost-by-pod"), (p, width, height) => {
  if (costs.pods.length === 0) return { empty: "No pod ran this month." };
  const idx = costs.pods.map((_, i) => i);
  const short = (name) => (name.length > 14 ? name.slice(0, 13) + "…" : name);
  return {
    data: [idx, costs.by_pod.map((v) => v / 1e6)],
    opts: {
      width, height,
      scales: { x: { time: false, range: () => [-0.5, costs.pods.length - 0.5] }, y: yScale },
      axes: [
        axis(p, { splits: () => idx, values: (u, splits) => splits.map((i) => short(costs.pods[i] || "")), grid: { show: false } }),
        axis(p, { size: tickSize, values: dollarTicks }),
      ],
      series: [{ label: "Pod", value: (u, v) => (v == null ? "—" : costs.pods[v]) }, {
        label: "Cost", stroke: p.series[2], fill: p.series[2] + "b3", width: 1,
        paths: uPlot.paths.bars({ size: [0.6, 64] }), points: { show: false },
        value: (u, v) => (v == null ? "—" : dollars(v * 1e6)),
      }],
      cursor: { drag: { x: false, y: false } },
    },
  };
});
