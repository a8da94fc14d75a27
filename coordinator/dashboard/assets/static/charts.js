// Hand-written SVG charts for the confed dashboard. No library: a line
// chart (one line per series, points with tooltips) and a bar chart. Each
// chart comes with a legend and its data as a table for keyboard and
// screen-reader users.
(() => {
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
// Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"];
const GLOBAL_COLOUR = "#000000";

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function htmlEl(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

// niceTicks returns about n round numbers spanning [lo, hi].
function niceTicks(lo, hi, n) {
  if (!(hi > lo)) { hi = lo + 1; }
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw) || raw;
  const ticks = [];
  const end = Math.ceil(hi / step - 1e-9) * step;
  for (let v = Math.floor(lo / step + 1e-9) * step; v <= end + step * 1e-9; v += step) ticks.push(+v.toFixed(10));
  return ticks;
}

function fmt(v) {
  if (typeof v !== "number") return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return (+v.toPrecision(3)).toString();
}

const W = 640, H = 270, M = { l: 56, r: 16, t: 14, b: 40 };

function frame(fig, title, desc) {
  fig.replaceChildren();
  fig.append(htmlEl("figcaption", { text: title }));
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": `${title}. ${desc}` });
  fig.append(svg);
  return svg;
}

function axes(svg, xs, ys, xLabel, yLabel, xTicks) {
  const sx = v => M.l + (xs.length > 1 ? (v - xs[0]) / (xs[xs.length - 1] - xs[0]) : 0.5) * (W - M.l - M.r);
  const yt = niceTicks(ys[0], ys[1], 5);
  const y0 = yt[0], y1 = yt[yt.length - 1];
  const sy = v => H - M.b - (v - y0) / (y1 - y0 || 1) * (H - M.t - M.b);
  for (const t of yt) {
    svg.append(svgEl("line", { x1: M.l, x2: W - M.r, y1: sy(t), y2: sy(t), class: "grid" }));
    const tx = svgEl("text", { x: M.l - 6, y: sy(t) + 4, "text-anchor": "end" });
    tx.textContent = fmt(t);
    svg.append(tx);
  }
  for (const t of xTicks) {
    const tx = svgEl("text", { x: sx(t), y: H - M.b + 16, "text-anchor": "middle" });
    tx.textContent = String(t);
    svg.append(tx);
  }
  svg.append(svgEl("line", { x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b, class: "axis" }));
  svg.append(svgEl("line", { x1: M.l, x2: M.l, y1: M.t, y2: H - M.b, class: "axis" }));
  const xl = svgEl("text", { x: (M.l + W - M.r) / 2, y: H - 6, "text-anchor": "middle" });
  xl.textContent = xLabel;
  const yl = svgEl("text", { x: 12, y: (M.t + H - M.b) / 2, "text-anchor": "middle",
    transform: `rotate(-90 12 ${(M.t + H - M.b) / 2})` });
  yl.textContent = yLabel;
  svg.append(xl, yl);
  return { sx, sy };
}

function xTicksOf(xs) {
  const span = xs[xs.length - 1] - xs[0];
  const step = Math.max(1, Math.ceil(span / 12));
  const out = [];
  for (let v = xs[0]; v <= xs[xs.length - 1]; v += step) out.push(v);
  return out;
}

// dataTable lists every point by x (rows) and series (columns).
function dataTable(fig, series, xLabel) {
  const xs = [...new Set(series.flatMap(s => s.points.map(p => p[0])))].sort((a, b) => a - b);
  const head = htmlEl("tr", {}, htmlEl("th", { scope: "col", text: xLabel }),
    ...series.map(s => htmlEl("th", { scope: "col", class: "num", text: s.name })));
  const rows = xs.map(x => htmlEl("tr", {}, htmlEl("th", { scope: "row", text: String(x) }),
    ...series.map(s => {
      const p = s.points.find(q => q[0] === x);
      return htmlEl("td", { class: "num", text: p ? fmt(p[1]) : "–" });
    })));
  fig.append(htmlEl("details", {}, htmlEl("summary", { text: "Data as a table" }),
    htmlEl("div", { class: "scroll" }, htmlEl("table", {}, htmlEl("thead", {}, head), htmlEl("tbody", {}, ...rows)))));
}

// swatch is a legend key drawn in SVG: the Content-Security-Policy allows
// no inline styles.
function swatch(colour, thick) {
  const svg = svgEl("svg", { width: 22, height: 10, "aria-hidden": "true", class: "swatch" });
  svg.append(svgEl("rect", { x: 0, y: thick ? 2 : 3, width: 22, height: thick ? 6 : 4, fill: colour }));
  return svg;
}

function legendItem(colour, text, thick) {
  const li = htmlEl("li", {});
  li.append(swatch(colour, thick), " " + text);
  return li;
}

function legend(fig, series) {
  fig.append(htmlEl("ul", { class: "legend" }, ...series.map(s =>
    legendItem(s.colour, s.name + (s.global ? " (global model)" : ""), s.global))));
}

// lineChart draws series [{name, points: [[x, y]...], global}] into fig.
function lineChart(fig, opts) {
  const series = opts.series.filter(s => s.points.length > 0);
  let i = 0;
  for (const s of series) s.colour = s.global ? GLOBAL_COLOUR : PALETTE[i++ % PALETTE.length];
  const pts = series.flatMap(s => s.points);
  const svg = frame(fig, opts.title, pts.length ? `${series.length} series over ${opts.xLabel}.` : "No data yet.");
  if (pts.length === 0) {
    fig.append(htmlEl("p", { class: "note", text: opts.empty || "No data yet." }));
    return;
  }
  const xs = [...new Set(pts.map(p => p[0]))].sort((a, b) => a - b);
  let lo = Math.min(...pts.map(p => p[1])), hi = Math.max(...pts.map(p => p[1]));
  if (opts.yMin !== undefined) lo = Math.min(lo, opts.yMin);
  if (opts.yMax !== undefined) hi = Math.max(hi, opts.yMax);
  const { sx, sy } = axes(svg, xs, [lo, hi], opts.xLabel, opts.yLabel, xTicksOf(xs));
  for (const s of series) {
    const ps = [...s.points].sort((a, b) => a[0] - b[0]);
    const g = svgEl("g", { class: "series", "data-series": s.name });
    if (ps.length > 1) {
      g.append(svgEl("polyline", { class: "line" + (s.global ? " global" : ""), stroke: s.colour,
        points: ps.map(p => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ") }));
    }
    for (const p of ps) {
      const c = svgEl("circle", { class: "pt", cx: sx(p[0]).toFixed(1), cy: sy(p[1]).toFixed(1), r: s.global ? 4.5 : 3.5, fill: s.colour });
      const t = svgEl("title", {});
      t.textContent = `${s.name}, ${opts.xLabel} ${p[0]}: ${fmt(p[1])}`;
      c.append(t);
      g.append(c);
    }
    svg.append(g);
  }
  legend(fig, series);
  if (opts.note) fig.append(htmlEl("p", { class: "note", text: opts.note }));
  dataTable(fig, series, opts.xLabel);
}

// barChart draws bars [{x, y, bad, label}] into fig.
function barChart(fig, opts) {
  const bars = opts.bars;
  const svg = frame(fig, opts.title, bars.length ? `${bars.length} bars.` : "No data yet.");
  if (bars.length === 0) {
    fig.append(htmlEl("p", { class: "note", text: "No data yet." }));
    return;
  }
  const xs = bars.map(b => b.x);
  const lo = xs[0] - 0.5, hi = xs[xs.length - 1] + 0.5;
  const { sx, sy } = axes(svg, [lo, hi], [0, Math.max(...bars.map(b => b.y))], opts.xLabel, opts.yLabel, xTicksOf(xs));
  const bw = Math.max(2, Math.min(40, (sx(hi) - sx(lo)) / bars.length * 0.7));
  for (const b of bars) {
    const r = svgEl("rect", { class: "bar pt", x: (sx(b.x) - bw / 2).toFixed(1), y: sy(b.y).toFixed(1),
      width: bw.toFixed(1), height: Math.max(0.5, sy(0) - sy(b.y)).toFixed(1), fill: b.bad ? "#cf222e" : "#0072B2" });
    const t = svgEl("title", {});
    t.textContent = b.label;
    r.append(t);
    svg.append(r);
  }
  fig.append(htmlEl("ul", { class: "legend" }, legendItem("#0072B2", "published or running"),
    legendItem("#cf222e", "failed")));
  dataTable(fig, [{ name: opts.yLabel, points: bars.map(b => [b.x, b.y]) }], opts.xLabel);
}

window.confedCharts = { lineChart, barChart, htmlEl, fmt };
})();
