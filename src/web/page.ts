// The page of `neutrino web`: static HTML and a small script with no dependency. The script lays the
// topology out as nested boxes (nodes side by side, namespaces stacked in a node, devices in rows),
// draws bridge, veth and tunnel lines, follows the server-sent events, highlights a selected
// resource's devices and draws a trace's hops green/red/grey. Every name is SVG <text>; details go
// to a side panel (an ARIA live region), and every device is focusable.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>neutrino web</title>
<style>
  body { font: 13px system-ui, sans-serif; margin: 0; display: grid; grid-template-columns: 240px 1fr 320px; height: 100vh; }
  aside, #panel { overflow: auto; padding: 8px; border-right: 1px solid #ccc; }
  #panel { border-left: 1px solid #ccc; border-right: none; white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 12px; }
  main { overflow: auto; }
  header { padding: 4px 8px; border-bottom: 1px solid #ccc; }
  .res { cursor: pointer; display: block; width: 100%; text-align: left; border: none; background: none; padding: 2px; }
  .res.sel { background: #ffe9a8; }
  .node > rect { fill: #f4f6fa; stroke: #667; }
  .ns > rect { fill: #fff; stroke: #99a; stroke-dasharray: 4 2; }
  .dev rect { fill: #e8f3e8; stroke: #5a5; }
  .dev.observed rect { fill: #f0f0f0; stroke: #999; }
  .dev.missing rect, .dev.mismatch rect, .dev.down rect, .dev.unexpected rect { fill: #fde2e2; stroke: #c22; stroke-width: 2; }
  .dev.missing rect { stroke-dasharray: 3 2; }
  .dev.unknown rect { fill: #eee; stroke: #888; stroke-dasharray: 2 2; }
  .dev.hl rect { stroke: #e0a000; stroke-width: 3; }
  .dev.hop-ok rect { fill: #b6e6b6; stroke: #1a1; stroke-width: 3; }
  .dev.hop-bad rect { fill: #f7a8a8; stroke: #c00; stroke-width: 3; }
  .dev.hop-grey rect { fill: #ddd; stroke: #666; stroke-width: 3; }
  .dev:focus rect { outline: none; stroke: #06c; stroke-width: 3; }
  line.bridge { stroke: #5a5; } line.veth { stroke: #36c; stroke-width: 2; } line.tunnel { stroke: #a5c; stroke-width: 2; stroke-dasharray: 6 3; }
  line.fault { stroke: #c22; }
  .lines line { opacity: 0.75; }
  text { font-size: 11px; }
  .title { font-weight: bold; font-size: 12px; }
</style>
</head>
<body>
<aside aria-label="Resources"><h2>Resources</h2><div id="resources"></div></aside>
<main>
  <header>
    <span id="status">connecting…</span>
    <form id="trace" style="display:inline">
      · trace floating IP <input id="fip" size="14" aria-label="floating IP address">
      or port <input id="port" size="10" aria-label="port id"> to <input id="to" size="14" aria-label="destination">
      <button>trace</button> <button type="button" id="clear">clear</button>
    </form>
  </header>
  <svg id="picture" role="img" aria-label="The cloud's network topology" xmlns="http://www.w3.org/2000/svg"></svg>
</main>
<section id="panel" aria-live="polite" aria-label="Details">Select a device or a resource.</section>
<script src="/app.js"></script>
</body>
</html>
`;

export const PAGE_SCRIPT = `'use strict';
const NS = 'http://www.w3.org/2000/svg';
const DW = 150, DH = 34, GAP = 8, PER_ROW = 3, PAD = 10, HEAD = 22;
let view = null, selected = null, trace = null;
const svg = document.getElementById('picture');
const panel = document.getElementById('panel');
const el = (name, attrs, parent) => {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
};
const text = (parent, x, y, s, cls) => { const t = el('text', { x, y, class: cls || '' }, parent); t.textContent = s; return t; };
const show = (o) => { panel.textContent = typeof o === 'string' ? o : JSON.stringify(o, null, 2); };

function hopClasses() {
  const out = new Map();
  if (!trace || !trace.hops) return out;
  for (const h of trace.hops) {
    if (!h.device || !h.node) continue;
    const id = h.node + '/' + h.namespace + '/' + h.device;
    const c = h.status === 'ok' ? 'hop-ok' : h.status === 'unknown' || h.status === 'not_reached' ? 'hop-grey' : 'hop-bad';
    if (out.get(id) !== 'hop-bad') out.set(id, c);
  }
  return out;
}

function draw() {
  svg.textContent = '';
  if (!view) return;
  const t = view.topology;
  document.getElementById('status').textContent =
    t.source + ' · read ' + t.readAt + ' · ' + Object.entries(t.summary).filter(([, n]) => n).map(([k, n]) => n + ' ' + k).join(', ');
  const pos = new Map();
  const hops = hopClasses();
  const hl = new Set(selected ? selected.devices : []);
  const lines = el('g', { class: 'lines' });
  let x = PAD, maxH = 0;
  for (const n of t.nodes) {
    const g = el('g', { class: 'node', 'data-id': n.id }, svg);
    const box = el('rect', { x, y: PAD, rx: 6 }, g);
    text(g, x + 8, PAD + 16, n.host + (n.vtep ? '  VTEP ' + n.vtep : '') + (n.read ? '' : '  (not read)'), 'title');
    const w = PER_ROW * (DW + GAP) + GAP + 2 * PAD;
    let y = PAD + HEAD + 4;
    for (const ns of n.namespaces) {
      const rows = Math.max(1, Math.ceil(ns.devices.length / PER_ROW));
      const h = HEAD + rows * (DH + GAP) + GAP;
      const ng = el('g', { class: 'ns ' + ns.status, 'data-id': ns.id }, g);
      el('rect', { x: x + PAD, y, width: w - 2 * PAD, height: h, rx: 4 }, ng);
      const label = text(ng, x + PAD + 6, y + 15, (ns.name || 'root namespace') + (ns.faults.length ? '  ✗ ' + ns.faults[0].cause : ''), 'title');
      if (ns.faults.length) label.setAttribute('fill', '#c22');
      ns.devices.forEach((d, i) => {
        const dx = x + PAD + GAP + (i % PER_ROW) * (DW + GAP), dy = y + HEAD + Math.floor(i / PER_ROW) * (DH + GAP);
        const cls = ['dev', d.status, hl.has(d.id) ? 'hl' : '', hops.get(d.id) || ''].join(' ');
        const dg = el('g', { class: cls, tabindex: 0, role: 'button', 'data-id': d.id, 'aria-label': d.name + ' ' + d.status }, ng);
        el('rect', { x: dx, y: dy, width: DW, height: DH, rx: 3 }, dg);
        text(dg, dx + 4, dy + 13, d.name + ' (' + d.kind + ')');
        const addr = d.addresses.find((a) => !a.startsWith('fe80:')) || '';
        text(dg, dx + 4, dy + 27, d.faults.length ? d.faults[0].reason : addr || (d.up === false ? 'down' : d.up === null ? '' : 'up'));
        const tip = el('title', {}, dg);
        tip.textContent = d.name + ': ' + d.status + (d.faults.length ? ' — ' + d.faults.map((f) => f.reason + ': ' + f.cause).join('; ') : '');
        const select = () => show(d);
        dg.addEventListener('click', select);
        dg.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(); } });
        pos.set(d.id, { x: dx + DW / 2, top: dy, bottom: dy + DH });
      });
      y += h + GAP;
    }
    box.setAttribute('width', w);
    box.setAttribute('height', y - PAD);
    maxH = Math.max(maxH, y);
    x += w + 40;
  }
  for (const e of t.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    // From the facing edges of the two boxes; drawn over the boxes, thin, so that no box hides it.
    const down = a.top <= b.top;
    const y1 = a.top === b.top ? a.bottom : down ? a.bottom : a.top, y2 = a.top === b.top ? b.bottom : down ? b.top : b.bottom;
    const l = el('line', { x1: a.x, y1, x2: b.x, y2, class: e.kind + (e.faults.length ? ' fault' : '') }, lines);
    el('title', {}, l).textContent = e.kind + (e.label ? ' ' + e.label : '') + (e.faults.length ? ' — ' + e.faults[0].cause : '');
  }
  svg.appendChild(lines);
  svg.setAttribute('width', x);
  svg.setAttribute('height', maxH + PAD);
}

function drawResources() {
  const box = document.getElementById('resources');
  box.textContent = '';
  if (!view) return;
  let type = '';
  for (const r of view.resources.resources) {
    if (r.type !== type) { type = r.type; const h = document.createElement('h3'); h.textContent = type; box.appendChild(h); }
    const b = document.createElement('button');
    b.className = 'res' + (selected && selected.id === r.id ? ' sel' : '');
    b.textContent = r.label + ' (' + r.devices.length + ')';
    b.addEventListener('click', () => { selected = selected && selected.id === r.id ? null : r; show(r); drawResources(); draw(); });
    box.appendChild(b);
  }
}

document.getElementById('trace').addEventListener('submit', async (e) => {
  e.preventDefault();
  const q = new URLSearchParams();
  const fip = document.getElementById('fip').value.trim();
  if (fip) q.set('fip', fip); else { q.set('port', document.getElementById('port').value.trim()); q.set('to', document.getElementById('to').value.trim()); }
  trace = await (await fetch('/api/trace?' + q)).json();
  trace.query = q.toString();
  show(trace.hops ? trace.verdict + ': ' + trace.hops.map((h) => h.index + ' ' + h.status + ' ' + h.node + ' ' + (h.namespace || '') + ' ' + (h.device || '') + ' ' + h.check + (h.cause ? ' — ' + h.cause : '')).join('\\n') : trace);
  draw();
});
document.getElementById('clear').addEventListener('click', () => { trace = null; draw(); });

async function retrace() {
  if (!trace || !trace.query) return;
  const query = trace.query;
  trace = await (await fetch('/api/trace?' + query)).json();
  trace.query = query;
}

const events = new EventSource('/api/events');
events.addEventListener('view', async (e) => {
  view = JSON.parse(e.data);
  if (selected) selected = view.resources.resources.find((r) => r.id === selected.id) || null;
  await retrace();
  drawResources();
  draw();
  document.body.dataset.version = view.version;
  document.body.dataset.views = String(Number(document.body.dataset.views || 0) + 1);
});
events.onerror = () => { document.getElementById('status').textContent = 'disconnected: retrying…'; };
`;
