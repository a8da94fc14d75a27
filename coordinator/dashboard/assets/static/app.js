// confed dashboard pages: fetch /api/, render with textContent only (every
// string from participants is untrusted), refresh on server-sent events.
(() => {
"use strict";

const { lineChart, barChart, htmlEl: h, fmt } = window.confedCharts;

async function getJSON(path) {
  const r = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (r.status === 401) {
    location.assign("/login?next=" + encodeURIComponent(location.pathname));
    throw new Error("not logged in");
  }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `${path}: HTTP ${r.status}`);
  return body;
}

const $ = id => document.getElementById(id);

function when(t) {
  if (!t) return "–";
  const d = new Date(t);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

function ago(t) {
  if (!t) return "never";
  const s = Math.round((Date.now() - new Date(t).getTime()) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

function num(v, digits) {
  if (typeof v === "number") return digits === undefined ? fmt(v) : v.toFixed(digits);
  if (typeof v === "string") return v; // "NaN", "+Inf", "-Inf"
  return "–";
}

function secs(v) {
  if (typeof v !== "number") return "–";
  return v < 10 ? v.toFixed(2) + " s" : v < 120 ? v.toFixed(1) + " s" : (v / 60).toFixed(1) + " min";
}

function short(hash) { return hash ? hash.slice(0, 12) + "…" : "–"; }

function hashEl(hash) {
  return hash ? h("code", { class: "hash", title: hash, text: hash }) : "–";
}

function badge(text, cls) { return h("span", { class: "badge " + cls, text }); }

function stateBadge(state) {
  const cls = { published: "ok", failed: "bad", collecting: "warn", aggregating: "warn", open: "warn" }[state] || "muted";
  return badge(state, cls);
}

function kv(dl, rows) {
  dl.replaceChildren();
  for (const [k, v] of rows) {
    if (v === undefined) continue;
    dl.append(h("dt", { text: k }), h("dd", {}, v instanceof Node ? v : String(v)));
  }
}

function insecureBanner(on) {
  const b = $("insecure");
  b.hidden = !on;
  if (on) {
    b.replaceChildren(h("strong", { text: "Insecure simulated TEE." }),
      " The aggregator runs in the simulated TEE: its \u201cevidence\u201d proves nothing and model updates are not protected by hardware. For development only.");
  }
}

function attestationRows(a) {
  if (!a) return [["Attestation", "none verified"]];
  return [
    ["TEE", a.insecure ? h("span", {}, badge("INSECURE", "bad"), " " + a.kind) : badge(a.kind, "ok")],
    ["Measurement", a.measurement ? hashEl(a.measurement) : "–"],
    ["TCB", a.tcb || "–"],
    ["Debug", a.debug ? badge("debug on", "bad") : "off"],
    ["Verified", when(a.verified_at)],
    ...Object.entries(a.details || {}).map(([k, v]) => [k, v]),
  ];
}

// ------------------------------------------------------------ overview

function renderStatus(o) {
  $("federation").textContent = o.federation;
  document.title = `${o.federation} · confed dashboard`;
  const state = o.finished ? badge("finished", "ok") : o.current_round !== undefined ? badge(`round ${o.current_round} running`, "warn") : badge("waiting between rounds", "muted");
  kv($("status"), [
    ["State", state],
    ["Finished because", o.finished ? o.finish_message : undefined],
    ["Rounds published", `${o.published_rounds} of ${o.planned_rounds}`],
    ["Round configuration", hashEl(o.config_sha256)],
    ["Updated", when(o.generated_at)],
  ]);
}

function renderAggregator(o) {
  const a = o.aggregator, box = $("aggregator");
  const dl = h("dl", { class: "kv" });
  kv(dl, [
    ["Aggregator", a.connected ? h("span", {}, badge("connected", "ok"), " " + a.name) : badge("not connected", "bad")],
    ["Address", a.address],
    ["Required TEE", a.tee === "simulated" ? h("span", {}, badge("INSECURE", "bad"), " simulated") : a.tee],
    ...(a.connected ? attestationRows(a.attestation) : []),
  ]);
  box.replaceChildren(dl);
  if (a.last_refusal) {
    box.append(h("p", { class: "error" }, `Refused ${a.last_refusal.peer} ${ago(a.last_refusal.at)}: `,
      h("span", { class: "reason", text: a.last_refusal.reason })));
  }
}

function renderParticipants(o) {
  const tb = $("participants").tBodies[0];
  tb.replaceChildren(...o.participants.map(p => {
    const conn = p.connected ? badge("connected", "ok") : badge("not connected", "bad");
    const prob = p.last_problem
      ? h("span", {}, h("a", { href: `/rounds/${p.last_problem.round}`, text: `round ${p.last_problem.round}` }),
        ` ${p.last_problem.kind}: `, h("span", { class: "reason", text: p.last_problem.reason }))
      : h("span", { class: "muted", text: "none" });
    return h("tr", { "data-participant": p.name },
      h("th", { scope: "row" }, p.name, p.member ? null : h("span", {}, " ", badge("removed", "bad"))),
      h("td", {}, conn),
      h("td", { title: when(p.last_seen), text: ago(p.last_seen) }),
      h("td", { text: p.attestation }),
      h("td", { text: p.software_version || "–" }),
      h("td", { class: "reason problem" }, prob));
  }));
}

function renderAggregation(o) {
  const a = o.aggregation;
  const fp = a.fixed_point
    ? `on: Z_2^${a.fixed_point.bits}, clip ±${a.fixed_point.clip}, scale ${a.fixed_point.scale}, max weight ${a.fixed_point.max_weight}`
    : "off (updates travel as float32)";
  const opt = Object.entries(a.server_optimizer || {}).map(([k, v]) => `${k} ${v}`).join(", ");
  kv($("aggregation"), [
    ["Strategy", a.strategy + (a.strategy === "trimmed_mean" ? ` (trim ${a.trim_fraction})` : "") +
      (a.byzantine ? ` (byzantine ${a.byzantine})` : "") + (a.multikrum_m ? ` (m ${a.multikrum_m})` : "")],
    ["Server optimiser", opt || "–"],
    ["Fixed point", fp],
    ["Clip norm", a.clip_norm ? a.clip_norm : "off"],
    ["Max update norm", a.max_update_norm ? a.max_update_norm : "unbounded"],
    ["Max update size", `${a.max_update_bytes} bytes`],
    ["Participants", `${a.min_participants} of ${a.expected_participants.length} needed per round`],
    ["Participants' TEE", a.participants_tee],
  ]);
}

function featureValue(f, skip) {
  if (!f) return h("span", {}, badge("off", "muted"), " not configured");
  if (!f.enabled) return badge("off", "muted");
  const parts = [badge("on", "ok")];
  for (const [k, v] of Object.entries(f.settings || {})) if (!(skip || []).includes(k)) parts.push(` ${k} ${v};`);
  return h("span", {}, ...parts);
}

// budgetRows are the privacy budget: what the published rounds spent, of
// how much, at which delta and noise multiplier.
function budgetRows(p) {
  if (!p || !p.enabled) return [];
  const spent = typeof p.spent === "number" ? p.spent : undefined;
  const left = spent !== undefined && typeof p.budget === "number" ? p.budget - spent : undefined;
  return [
    ["\u03b5 spent", h("span", { id: "privacy-spent" }, spent !== undefined ? `${num(spent)} of ${num(p.budget)}` : "–",
      left !== undefined ? ` (${num(Math.max(left, 0))} left)` : "")],
    ["\u03b4 (delta)", (p.settings || {}).delta],
    ["Noise multiplier z", (p.settings || {}).noise_multiplier],
  ];
}

function renderFeatures(o) {
  kv($("features"), [
    ["Secure aggregation", featureValue(o.secure_aggregation)],
    ["Differential privacy", featureValue(o.privacy, ["delta", "noise_multiplier"])],
    ...budgetRows(o.privacy),
  ]);
}

// epsilon is a round's "ε this round / total after it".
function epsilon(p) {
  if (!p) return "–";
  return `${num(p.epsilon_round)} / ${num(p.epsilon_total)}` + (p.projected ? " (projected)" : "");
}

function metricSeries(rounds, metric) {
  const by = new Map();
  for (const r of rounds) {
    for (const s of r.submissions || []) {
      const v = (s.metrics || {})[metric];
      if (!s.included || typeof v !== "number") continue;
      if (!by.has(s.participant)) by.set(s.participant, []);
      by.get(s.participant).push([r.round, v]);
    }
  }
  return [...by.entries()].sort().map(([name, points]) => ({ name, points }));
}

function globalSeries(rounds, metric) {
  return { name: "global", global: true,
    points: rounds.filter(r => r.global && typeof r.global[metric] === "number").map(r => [r.round, r.global[metric]]) };
}

function renderCharts(o) {
  const rs = o.rounds.filter(r => r.round > 0);
  const note = "Participants: their model after local training, on their own test set. Global: the model the round started from, on every included participant's test set (weighted by test examples).";
  lineChart($("chart-accuracy"), { title: "Accuracy per round", xLabel: "round", yLabel: "accuracy",
    series: [...metricSeries(rs, "local_accuracy"), globalSeries(rs, "global_accuracy")], note,
    empty: "No training round has reported accuracy yet." });
  lineChart($("chart-loss"), { title: "Loss per round", xLabel: "round", yLabel: "log loss",
    series: [...metricSeries(rs, "local_loss"), globalSeries(rs, "global_loss")], yMin: 0, note,
    empty: "No training round has reported loss yet." });
  const norms = new Map();
  for (const r of rs.filter(q => !q.statistics)) for (const s of r.submissions || []) {
    if (typeof s.update_norm !== "number" || !s.accepted) continue;
    if (!norms.has(s.participant)) norms.set(s.participant, []);
    norms.get(s.participant).push([r.round, s.update_norm]);
  }
  lineChart($("chart-norm"), { title: "Update norm per round", xLabel: "round", yLabel: "L2 norm", yMin: 0,
    series: [...norms.entries()].sort().map(([name, points]) => ({ name, points })),
    note: "L2 norm of each accepted update, as the aggregator measured it (the statistics round, which sends feature moments, is left out)." });
  barChart($("chart-duration"), { title: "Round duration: opening to publication or failure (aggregation included)", xLabel: "round", yLabel: "seconds",
    bars: rs.filter(r => typeof r.duration_seconds === "number").map(r => ({ x: r.round, y: r.duration_seconds,
      bad: r.state === "failed", label: `round ${r.round}: ${secs(r.duration_seconds)} in all, ${secs(r.collection_seconds)} collecting, ${r.state}` })) });
  const priv = $("chart-privacy");
  priv.hidden = !(o.privacy && o.privacy.enabled);
  if (!priv.hidden) {
    const spent = rs.filter(r => r.privacy && !r.privacy.projected && r.state === "published");
    lineChart(priv, { title: "Privacy budget spent", xLabel: "round", yLabel: "\u03b5", yMin: 0,
      series: [{ name: "\u03b5 spent (total)", points: spent.map(r => [r.round, r.privacy.epsilon_total]) },
        { name: "\u03b5 budget", points: spent.map(r => [r.round, r.privacy.epsilon_budget]) }],
      note: `Total \u03b5 after each published round, at \u03b4 ${(o.privacy.settings || {}).delta}; a round that would go over the budget does not run.`,
      empty: "No round has spent any of the privacy budget yet." });
  }
}

function renderRounds(o) {
  const tb = $("rounds-table").tBodies[0];
  tb.replaceChildren(...[...o.rounds].reverse().map(r => h("tr", { "data-round": r.round, "data-state": r.state },
    h("th", { scope: "row" }, h("a", { href: `/rounds/${r.round}`, text: `Round ${r.round}` })),
    h("td", {}, stateBadge(r.state), r.insecure ? h("span", {}, " ", badge("insecure TEE", "bad")) : null),
    h("td", { class: "num", text: r.round === 0 ? "–" : `${r.included} / ${r.expected}` }),
    h("td", { class: "num", text: secs(r.duration_seconds) }),
    h("td", { class: "num epsilon", text: epsilon(r.privacy) }),
    h("td", { class: "num", text: r.statistics ? "statistics" : num((r.global || {}).global_accuracy, 3) }),
    h("td", {}, r.model_sha256 ? h("code", { class: "hash", title: r.model_sha256, text: short(r.model_sha256) }) : "–"),
    h("td", { class: "reason", text: r.reason || "" }))));
}

async function loadOverview() {
  const o = await getJSON("/api/overview");
  insecureBanner(o.insecure);
  renderStatus(o);
  renderAggregator(o);
  renderParticipants(o);
  renderAggregation(o);
  renderFeatures(o);
  renderCharts(o);
  renderRounds(o);
  document.body.dataset.rounds = String(o.rounds.length);
}

// ------------------------------------------------------------ round page

function roundNumber() {
  const m = location.pathname.match(/^\/rounds\/(\d+)$/);
  return m ? Number(m[1]) : NaN;
}

function outcome(s) {
  if (s.included) return badge("included", "ok");
  if (s.accepted) return badge("accepted, not included", "warn");
  if ((s.reason || "").startsWith("in flight")) return badge("in flight", "warn");
  return badge("refused", "bad");
}

function renderRound(r) {
  $("title").textContent = `Round ${r.round} of ${r.federation}`;
  document.title = `Round ${r.round} · ${r.federation} · confed dashboard`;
  // Link only to rounds that exist: none before round 0, none after the
  // latest (the link appears when the next round opens).
  neighbour($("prev"), r.previous_round);
  neighbour($("next"), r.next_round);
  $("json").href = `/api/rounds/${r.round}`;
  insecureBanner(r.insecure);
  kv($("summary"), [
    ["State", stateBadge(r.state)],
    ["Reason", r.reason ? h("span", { class: "reason", text: r.reason }) : undefined],
    ["Opened", when(r.opened_at)],
    ["Collection deadline", r.deadline ? when(r.deadline) : undefined],
    ["Collection closed", when(r.closed_at)],
    [{ failed: "Failed", published: "Published" }[r.state] || "Finished", when(r.finished_at)],
    ["Duration", h("span", { id: "duration" }, secs(r.duration_seconds),
      h("span", { class: "muted", text: ` opening to ${r.state === "failed" ? "failure" : "publication"}, aggregation included${r.finished_at ? "" : " (so far)"}` }))],
    ["Collection time", secs(r.collection_seconds)],
    ["Included", `${r.included} of ${r.expected} (at least ${r.min_participants} needed)`],
    ["Model SHA-256", hashEl(r.model_sha256)],
    ["Aggregator TEE", r.insecure ? h("span", {}, badge("INSECURE", "bad"), " " + (r.tee_kind || "")) : (r.tee_kind || "–")],
    ["Global accuracy", r.global ? num(r.global.global_accuracy, 3) + " (model the round started from)" : undefined],
    ["Round configuration", hashEl(r.config_sha256)],
  ]);
  renderRoundPrivacy(r.privacy);
  const tb = $("contributions").tBodies[0];
  const m = (s, k, d) => num((s.metrics || {})[k], d);
  tb.replaceChildren(...(r.submissions || []).map(s => h("tr", { "data-participant": s.participant },
    h("th", { scope: "row", text: s.participant }),
    h("td", {}, outcome(s)),
    h("td", { class: "num", text: String(s.num_examples || "–") }),
    h("td", { class: "num", text: num(s.update_norm, 4) }),
    h("td", { class: "num", text: m(s, "local_accuracy", 3) }),
    h("td", { class: "num", text: m(s, "local_loss", 4) }),
    h("td", { class: "num", text: m(s, "global_accuracy", 3) }),
    h("td", { class: "num", text: m(s, "train_loss", 4) }),
    h("td", { class: "reason", text: s.reason || "" }))));
  if (!r.submissions || r.submissions.length === 0) {
    tb.append(h("tr", {}, h("td", { colspan: "9", class: "muted", text: "No participant submitted in this round." })));
  }
  const ev = $("events");
  if (!r.events || r.events.length === 0) {
    ev.replaceChildren(h("p", { class: "muted", text: "None." }));
  } else {
    ev.replaceChildren(h("ul", {}, ...r.events.map(e => h("li", { class: "event" },
      h("strong", { text: e.participant }), ` ${e.kind} at ${when(e.at)}: `, h("span", { class: "reason", text: e.reason })))));
  }
  renderLedgerRecord(r.ledger);
}

function neighbour(a, n) {
  a.hidden = typeof n !== "number";
  if (a.hidden) a.removeAttribute("href"); else a.href = `/rounds/${n}`;
}

function renderRoundPrivacy(p) {
  const box = $("privacy-card");
  box.hidden = !p;
  if (!p) return;
  kv($("privacy"), [
    ["Mode", p.mode],
    ["\u03b5 this round", num(p.epsilon_round) + (p.projected ? " (projected: spent only if the round publishes)" : "")],
    ["\u03b5 total after it", `${num(p.epsilon_total)} of ${num(p.epsilon_budget)}`],
    ["\u03b4 (delta)", num(p.delta)],
    ["Noise multiplier z", num(p.noise_multiplier)],
    ["Clip norm", num(p.clip_norm)],
    ["Note", p.note ? h("span", { class: "reason", text: p.note }) : undefined],
  ]);
}

function renderLedgerRecord(l) {
  if (!l) {
    kv($("ledger"), [["Record", "none yet: a record is written when the round is published or fails"]]);
    return;
  }
  kv($("ledger"), [
    ["Index", l.index],
    ["Record SHA-256", hashEl(l.sha256)],
    ["Previous record", hashEl(l.prev)],
    ["Outcome", l.state],
    ["Reason", l.reason || undefined],
    ["Model SHA-256", l.model_sha256 ? hashEl(l.model_sha256) : undefined],
    ["Parent model", l.parent_sha256 ? hashEl(l.parent_sha256) : undefined],
    ["Contributors", (l.participants || []).map(p => `${p.name} (${p.num_examples} examples)`).join(", ") || "–"],
    ["Evidence", l.evidence_kind ? h("span", {}, l.evidence_kind + " ", hashEl(l.evidence_sha256)) : undefined],
    ["Signer key", l.signer_public_key ? hashEl(l.signer_public_key) : undefined],
    ...(l.claims ? attestationRows(l.claims).map(([k, v]) => ["Claims: " + k, v]) : []),
    ["Written", when(l.time)],
  ]);
}

async function loadVerify() {
  const v = await getJSON("/api/ledger/verify");
  const p = $("verify");
  p.replaceChildren(v.ok
    ? h("span", {}, badge("ledger verifies", "ok"), ` ${v.records} records, ${v.published} published, ${v.failed} failed; every published model re-hashed` + (v.insecure ? "; some records ran in the INSECURE simulated TEE" : ""))
    : h("span", {}, badge("ledger does NOT verify", "bad"), " ", h("span", { class: "reason", text: v.error })));
  p.dataset.ok = String(v.ok);
}

async function loadRound() {
  const n = roundNumber();
  const r = await getJSON(`/api/rounds/${n}`);
  renderRound(r);
  document.body.dataset.state = r.state;
}

// ------------------------------------------------------------ live updates

function live(reload) {
  const status = $("live");
  let pending = false;
  const run = async () => {
    if (pending) return;
    pending = true;
    try {
      await reload();
      $("load-error").hidden = true;
    } catch (e) {
      $("load-error").hidden = false;
      $("load-error").textContent = "Could not load: " + e.message;
    } finally {
      pending = false;
    }
  };
  const es = new EventSource("/api/events");
  es.addEventListener("change", run);
  es.onopen = () => { status.textContent = "live: updates as rounds progress"; status.className = "live on"; };
  es.onerror = () => { status.textContent = "disconnected: retrying"; status.className = "live off"; };
  return run();
}

if (document.body.dataset.page === "overview") {
  live(loadOverview);
} else if (document.body.dataset.page === "round") {
  // The ledger check re-hashes every stored model: run it on load and
  // when the round's state changes, not on every event.
  let checked;
  live(async () => {
    await loadRound();
    if (document.body.dataset.state !== checked) {
      checked = document.body.dataset.state;
      await loadVerify();
    }
  });
}
})();
