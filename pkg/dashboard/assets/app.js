// The tandem dashboard: one pair, live from /api/events (Server-Sent Events).
"use strict";
const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
};
const palette = ["#0969da", "#1a7f37", "#bf3989", "#9a6700", "#8250df"];
let history = [];
let colors = {};
const colorOf = (c) => colors[c] || (colors[c] = palette[Object.keys(colors).length % palette.length]);
const HOUR = 3600 * 1000;

function pairParam() { return new URLSearchParams(location.search).get("pair") || ""; }

async function start() {
  const [pairs, cfg] = await Promise.all([fetch("/api/pairs").then(r => r.json()), fetch("/api/config").then(r => r.json())]);
  const name = pairParam() || pairs[0];
  pairName = name;
  $("#pair-name").textContent = name || "";
  if (pairs.length > 1) {
    const sel = $("#pair-select");
    sel.hidden = false;
    for (const p of pairs) sel.append(el("option", { value: p, text: p }));
    sel.value = name;
    sel.onchange = () => { location.search = "?pair=" + encodeURIComponent(sel.value); };
  }
  if (cfg.actions) setupActions(name);
  const es = new EventSource("/api/events?pair=" + encodeURIComponent(name));
  es.onopen = () => { $("#conn").textContent = "live"; };
  es.onerror = () => { $("#conn").textContent = "reconnecting…"; };
  es.onmessage = (m) => render(JSON.parse(m.data));
}

function render(u) {
  if (u.history) history = u.history;
  if (u.point) { history.push(u.point); const cut = Date.now() - HOUR; while (history.length && Date.parse(history[0].t) < cut) history.shift(); }
  $("#conn").textContent = "live · " + new Date(u.updated).toLocaleTimeString();
  $("#conn").dataset.updated = u.updated;
  const st = u.status;
  renderWarnings(u, st);
  if (st) { renderClusters(st); renderWeights(st); renderMirror(st); }
  renderRun(u.run);
  renderDrills(u.drills || []);
  renderCharts();
}

function renderWarnings(u, st) {
  const w = [];
  if (u.error) w.push("status: " + u.error);
  if (st) w.push(...(st.warnings || []));
  const box = $("#warnings");
  box.hidden = w.length === 0;
  box.replaceChildren(...w.map(t => el("div", { class: "warning", text: "⚠ " + t })));
}

function renderClusters(st) {
  const box = $("#clusters");
  box.replaceChildren(...st.clusters.map(c => {
    const rec = c.record || {};
    const wl = c.workloads || {};
    const nodes = c.nodes || {};
    const rows = [
      ["role", el("span", { class: "badge role role-" + (c.role || "unknown"), text: c.role || "unknown" })],
      ["epoch", rec.epoch != null ? String(rec.epoch) : "–"],
      ["version", c.version || "–"],
      ["reachable", el("span", { class: "reach", text: c.reachable ? "yes" : "UNREACHABLE: " + (c.error || "") })],
      ["nodes", c.reachable ? `${nodes.ready}/${nodes.nodes} ready` : "–"],
      ["workloads", c.reachable ? `${wl.ready}/${wl.workloads} ready · ${wl.availableReplicas}/${wl.desiredReplicas} replicas` : "–"],
      ["standby marker", c.standbyMarker ? "yes" : "no"],
      ["recorded", rec.role ? `${rec.role} by ${rec.who || "?"}` : "–"],
    ];
    if (c.mirror) rows.push(["mirror in", `from ${c.mirror.source}, ${c.mirror.live ? (c.mirror.paused ? "paused" : "live") : "gone"}`]);
    if (c.lock) rows.push(["lock", c.lock.holder + (c.lock.stale ? " (stale)" : "")]);
    const dl = el("dl");
    for (const [k, v] of rows) dl.append(el("dt", { text: k }), el("dd", { class: "f-" + k.replace(/ /g, "-") }, v));
    return el("article", { class: "card cluster" + (c.reachable ? "" : " unreachable"), "data-cluster": c.context },
      el("h2", {}, el("span", { text: c.context })), dl);
  }));
}

function renderWeights(st) {
  $("#router").textContent = st.router ? "· " + st.router : "";
  const box = $("#weights");
  const w = st.weights || {};
  const routes = Object.keys(w).sort();
  if (!routes.length) { box.replaceChildren(el("div", { class: "muted", text: st.router ? "router not readable" : "no router" })); return; }
  box.replaceChildren(...routes.map(route => {
    const total = Object.values(w[route]).reduce((a, b) => a + b, 0) || 1;
    const bar = el("div", { class: "bar" });
    const parts = el("span", { class: "shares" });
    for (const c of Object.keys(w[route]).sort()) {
      const pct = Math.round(100 * w[route][c] / total);
      bar.append(el("span", { style: `width:${pct}%;background:${colorOf(c)}`, text: pct >= 12 ? `${c} ${pct}%` : "" }));
      parts.append(el("span", { class: "share", "data-cluster": c, "data-route": route, text: `${c} ${pct}% ` }));
    }
    return el("div", { class: "route" }, el("strong", { text: route }), bar, parts);
  }));
}

function renderMirror(st) {
  const m = st.clusters.map(c => c.mirror && c.mirror.live ? `into ${c.context} from ${c.mirror.source}: ${c.mirror.paused ? "paused" : "running"}, lag p99 ${c.mirror.stats.lagP99Seconds.toFixed(3)} s, ${c.mirror.stats.events} events, ${c.mirror.stats.failed} failed, ${c.mirror.stats.outOfStep || 0} not in step` : null).filter(Boolean);
  $("#mirror").textContent = m.length ? m.join(" · ") : "no mirror running";
}

function renderRun(run) {
  const box = $("#run");
  if (!run) { box.textContent = "none yet"; return; }
  const head = el("div", {}, el("strong", { text: `${run.kind} ${run.from} → ${run.to}` }), " ",
    el("span", { class: "badge " + (run.running ? "role-standby" : "role-active"), text: run.running ? "running" : (run.result || "ended") }));
  const phases = el("ol", { class: "phases" }, ...run.phases.map(p =>
    el("li", { class: "phase r-" + p.result.split(":")[0], "data-phase": p.name, "data-result": p.result, text: `${p.name}: ${p.result}` })));
  const kids = [head, phases];
  if (run.steps && run.steps.length) kids.push(el("ol", { class: "phases steps" }, ...run.steps.map(s =>
    el("li", { class: "phase r-" + (s.result || "running"), "data-step": s.key, text: `${s.key.replace("step-", "")}%: ${s.result || "…"}` }))));
  box.replaceChildren(...kids);
}

let pairName = "";
function renderDrills(drills) {
  const box = $("#drills");
  if (!drills.length) { box.textContent = "none yet"; return; }
  const rows = drills.map(d => el("tr", {},
    el("td", { text: new Date(d.started).toLocaleString() }), el("td", { text: `${d.active} → ${d.standby} → ${d.active}` }),
    el("td", { class: d.passed ? "" : "bad", text: d.result }), el("td", { text: `${Number(d.took).toFixed(1)} s` }),
    el("td", { text: d.probe ? `${d.probe.failed}/${d.probe.sent}` : "–" }),
    el("td", {}, el("a", { href: `/api/drills/report?pair=${encodeURIComponent(pairName)}&started=${encodeURIComponent(d.started)}`, text: "report" }))));
  box.replaceChildren(el("div", { class: "table-wrap" }, el("table", {},
    el("thead", {}, el("tr", {}, ...["started", "drill", "result", "took", "failed requests", ""].map(h => el("th", { text: h })))),
    el("tbody", {}, ...rows))));
}

function polyline(svg, pts, color, w, h, max) {
  if (pts.length < 2) return;
  const now = Date.now();
  const d = pts.map(([t, v]) => `${(w * (1 - (now - t) / HOUR)).toFixed(1)},${(h - 4 - (h - 8) * Math.min(v, max) / max).toFixed(1)}`).join(" ");
  const p = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  p.setAttribute("points", d); p.setAttribute("fill", "none"); p.setAttribute("stroke", color); p.setAttribute("stroke-width", "2");
  p.setAttribute("vector-effect", "non-scaling-stroke");
  svg.append(p);
}

function renderCharts() {
  const wsvg = $("#weights-chart"); wsvg.replaceChildren();
  const clusters = new Set(); history.forEach(p => Object.keys(p.weights || {}).forEach(c => clusters.add(c)));
  for (const c of clusters) polyline(wsvg, history.filter(p => p.weights).map(p => [Date.parse(p.t), p.weights[c] || 0]), colorOf(c), 600, 160, 100);
  const msvg = $("#mirror-chart"); msvg.replaceChildren();
  const maxLag = Math.max(0.1, ...history.map(p => p.lagP99 || 0));
  const maxEv = Math.max(1, ...history.map(p => p.eventsPerSecond || 0));
  polyline(msvg, history.map(p => [Date.parse(p.t), p.lagP99 || 0]), "#8250df", 600, 120, maxLag);
  polyline(msvg, history.map(p => [Date.parse(p.t), p.eventsPerSecond || 0]), "#0969da", 600, 120, maxEv);
}

function setupActions(name) {
  $("#actions").hidden = false;
  const act = async (path) => {
    $("#action-result").textContent = "…";
    const r = await fetch(`/api/actions/${path}?pair=${encodeURIComponent(name)}`, { method: "POST", headers: { Authorization: "Bearer " + $("#token").value } });
    const body = await r.json().catch(() => ({}));
    $("#action-result").textContent = r.ok ? JSON.stringify(body) : (body.error || r.statusText);
  };
  $("#do-rollback").onclick = () => act("rollback");
  $("#do-drill").onclick = () => act("drill");
}

start().catch(e => { $("#conn").textContent = "error: " + e; });
