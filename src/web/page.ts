// The page of `neutrino web`: static HTML and a small script whose one dependency is ELK (elkjs, for
// the layout of nested boxes). The script draws bridge, veth and tunnel lines, follows the
// server-sent events, highlights a selected resource's devices, draws a trace's hops green/red/grey
// (hops without a device, such as NAT rules, on their namespace), groups a bridge's many taps,
// shows a recorded snapshot uploaded in it (a directory picked or dropped, or its files) offline, and
// exports the picture as SVG or PNG. Every name is SVG <text>; details go to a side panel (an ARIA
// live region), and every device is focusable.

/** The picture's own style: inside the SVG, so that an exported picture looks the same. */
export const PICTURE_CSS = `
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
.dev.group rect { fill: #eef4ff; stroke: #36c; }
.dev.group.mismatch rect { fill: #fde2e2; stroke: #c22; stroke-width: 2; }
.ns.missing > rect, .ns.mismatch > rect { stroke: #c22; stroke-width: 2; }
.ns.hop-ok > rect { stroke: #1a1; stroke-width: 2; }
.ns.hop-bad > rect { stroke: #c00; stroke-width: 3; stroke-dasharray: none; }
.rule.hop-ok { fill: #1a1; } .rule.hop-bad { fill: #c00; font-weight: bold; } .rule.hop-grey { fill: #666; }
.node > text, .ns > text { font-family: system-ui, sans-serif; }
`;

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
  #tools button { margin-left: 4px; }
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
      <button>trace</button> <button type="button" id="probe" hidden>probe</button> <button type="button" id="clear">clear</button>
    </form>
    <span id="offline">· open a recorded snapshot: <label>directory <input type="file" id="upload-dir" webkitdirectory></label>
      <label>or its files <input type="file" id="upload-files" multiple accept=".json,application/json"></label> (or drop it here)
      <button type="button" id="live" hidden>back to live</button></span>
    <span id="tools">· <button type="button" id="collapse">group taps</button><button type="button" id="export-svg">export SVG</button><button type="button" id="export-png">export PNG</button></span>
  </header>
  <svg id="picture" role="img" aria-label="The cloud's network topology" xmlns="http://www.w3.org/2000/svg"></svg>
</main>
<section id="panel" aria-live="polite" aria-label="Details">Select a device or a resource.</section>
<script src="/vendor/elk.js"></script>
<script src="/app.js"></script>
</body>
</html>
`;

export const PAGE_SCRIPT = `const PICTURE_CSS = ${JSON.stringify(PICTURE_CSS)};
'use strict';
// Laid out by ELK (elkjs, served at /vendor/elk.js): the nodes side by side, a node's namespaces one
// under the other, a namespace's devices in layers along their bridge edges (a bridge above its
// ports). A bridge with more than GROUP_AT taps shows them as one group until it is opened.
const NS = 'http://www.w3.org/2000/svg';
const DW = 150, DH = 34, HEAD = 24, MARKS = 14, PAD = 10, GROUP_AT = 8, PACK_AT = 40, MIN_NS_W = 240;
const NS_PADDING = '[top=' + (HEAD + MARKS) + ',left=8,bottom=8,right=8]';
// A namespace's standing faults (missing namespace, iptables rules) by reason in its title; the causes in its details.
const nsTitle = (ns) => (ns.name || 'root namespace') + (ns.faults.length ? '  ✗ ' + [...new Set(ns.faults.map((f) => f.reason))].join(' ✗ ') : '');
const elk = new ELK();
let view = null, selected = null, trace = null;
// While an uploaded snapshot is shown: its id (traces are walked on it) and the live view meanwhile.
let offline = null, liveView = null, allowProbe = false;
let layoutKey = '', positions = null;
const expanded = new Set();
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
const FAULTY = new Set(['missing', 'mismatch', 'down', 'unexpected']);

/** Device hops by device id, and the hops without a device (rules, routes) by namespace id. */
function hopsOf() {
  const devices = new Map(), rules = new Map();
  if (!trace || !trace.hops) return { devices, rules };
  for (const h of trace.hops) {
    if (!h.node) continue;
    const c = h.status === 'ok' ? 'hop-ok' : h.status === 'unknown' || h.status === 'not_reached' ? 'hop-grey' : 'hop-bad';
    if (h.device) {
      const id = h.node + '/' + h.namespace + '/' + h.device;
      if (devices.get(id) !== 'hop-bad') devices.set(id, c);
    } else {
      const id = h.node + '/' + h.namespace;
      if (!rules.has(id)) rules.set(id, []);
      rules.get(id).push({ cls: c, hop: h });
    }
  }
  return { devices, rules };
}

/** What is drawn: per namespace its items (a device, or a group of one bridge's taps) and the edges between items. */
function itemsOf(t) {
  const itemOf = new Map();
  const namespaces = [];
  for (const n of t.nodes)
    for (const ns of n.namespaces) {
      const taps = new Map();
      for (const d of ns.devices)
        if (d.name.startsWith('tap') && d.master) {
          const key = ns.id + '/' + d.master;
          if (!taps.has(key)) taps.set(key, []);
          taps.get(key).push(d);
        }
      const items = [], groups = new Map();
      for (const d of ns.devices) {
        const key = ns.id + '/' + d.master;
        const members = d.name.startsWith('tap') && d.master ? taps.get(key) : null;
        if (members && members.length > GROUP_AT && !expanded.has(key)) {
          if (!groups.has(key)) {
            const g = { id: 'group:' + key, group: { key, bridge: d.master, members } };
            groups.set(key, g);
            items.push(g);
          }
          itemOf.set(d.id, groups.get(key).id);
        } else {
          items.push({ id: d.id, device: d });
          itemOf.set(d.id, d.id);
        }
      }
      namespaces.push({ node: n, ns, items });
    }
  const seen = new Set(), edges = [];
  for (const e of t.edges) {
    const from = itemOf.get(e.from), to = itemOf.get(e.to);
    if (!from || !to || from === to) continue;
    const key = e.kind + ' ' + from + ' ' + to;
    if (seen.has(key)) continue;
    seen.add(key);
    edges.push({ ...e, from, to });
  }
  return { namespaces, edges };
}

function elkGraph(t, m) {
  const nsOf = new Map();
  for (const { ns, items } of m.namespaces) for (const i of items) nsOf.set(i.id, ns.id);
  const inner = new Map();
  m.edges.forEach((e, i) => {
    const a = nsOf.get(e.from);
    if (a === undefined || a !== nsOf.get(e.to)) return; // across namespaces: drawn, not laid out
    // The bridge above its ports: its edges point from the bridge down.
    const [s, d] = e.kind === 'bridge' ? [e.to, e.from] : [e.from, e.to];
    if (!inner.has(a)) inner.set(a, []);
    inner.get(a).push({ id: 'e' + i, sources: [s], targets: [d] });
  });
  return {
    id: 'root',
    layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'DOWN', 'elk.spacing.nodeNode': '40', 'elk.padding': '[top=' + PAD + ',left=' + PAD + ',bottom=' + PAD + ',right=' + PAD + ']' },
    children: t.nodes.map((n) => ({
      id: n.id,
      layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'RIGHT', 'elk.spacing.nodeNode': '10', 'elk.padding': '[top=' + (HEAD + 6) + ',left=10,bottom=10,right=10]' },
      ...(n.namespaces.length ? {} : { width: 260, height: HEAD + 20 }),
      children: m.namespaces.filter((x) => x.node === n).map(({ ns, items }) => {
        // Wide enough for its title (bold 12px), and a second line for the trace's marks on it.
        const minimum = { 'elk.nodeSize.constraints': 'MINIMUM_SIZE', 'elk.nodeSize.minimum': '(' + Math.max(MIN_NS_W, Math.ceil(nsTitle(ns).length * 7.4 + 16)) + ',' + (HEAD + MARKS + 8) + ')' };
        return {
        id: ns.id,
        // Many devices (an opened group of taps): packed in rows, as layers would make one endless row.
        layoutOptions: items.length > PACK_AT
          ? { 'elk.algorithm': 'rectpacking', 'elk.aspectRatio': '1.6', 'elk.spacing.nodeNode': '8', 'elk.padding': NS_PADDING, ...minimum }
          : { 'elk.algorithm': 'layered', 'elk.direction': 'DOWN', 'elk.spacing.nodeNode': '8', 'elk.layered.spacing.nodeNodeBetweenLayers': '18', 'elk.padding': NS_PADDING, ...minimum },
        children: items.map((i) => ({ id: i.id, width: DW, height: DH })),
        edges: items.length > PACK_AT ? [] : inner.get(ns.id) || [],
      };
      }),
    })),
  };
}

/** Absolute boxes of every laid-out element, by id. */
function boxes(g, x0, y0, out) {
  for (const c of g.children || []) {
    const b = { x: x0 + c.x, y: y0 + c.y, w: c.width, h: c.height };
    out.set(c.id, b);
    boxes(c, b.x, b.y, out);
  }
  return out;
}

async function relayout(t, m) {
  const key = JSON.stringify([t.nodes.map((n) => n.id), m.namespaces.map((x) => [x.ns.id, x.items.map((i) => i.id)]), m.edges.map((e) => e.from + '>' + e.to)]);
  if (key !== layoutKey || !positions) {
    const laid = await elk.layout(elkGraph(t, m));
    positions = { boxes: boxes(laid, 0, 0, new Map()), width: laid.width, height: laid.height };
    layoutKey = key;
  }
  return positions;
}

function worst(classes) {
  return classes.includes('hop-bad') ? 'hop-bad' : classes.includes('hop-grey') ? 'hop-grey' : classes.includes('hop-ok') ? 'hop-ok' : '';
}

let drawing = Promise.resolve();
function draw() {
  drawing = drawing.then(render).catch((e) => show('the picture could not be laid out: ' + e.message));
  return drawing;
}

async function render() {
  if (!view) { svg.textContent = ''; return; }
  const t = view.topology;
  document.getElementById('status').textContent =
    t.source + ' · read ' + t.readAt + ' · ' + Object.entries(t.summary).filter(([, n]) => n).map(([k, n]) => n + ' ' + k).join(', ');
  const m = itemsOf(t);
  const p = await relayout(t, m);
  svg.textContent = '';
  el('style', {}, svg).textContent = PICTURE_CSS;
  const hops = hopsOf();
  const hl = new Set(selected ? selected.devices : []);
  const pos = new Map();
  for (const n of t.nodes) {
    const b = p.boxes.get(n.id);
    if (!b) continue;
    const g = el('g', { class: 'node', 'data-id': n.id }, svg);
    el('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 6 }, g);
    text(g, b.x + 8, b.y + 17, n.host + (n.vtep ? '  VTEP ' + n.vtep : '') + (n.read ? '' : '  (not read)'), 'title');
  }
  for (const { node, ns, items } of m.namespaces) {
    const b = p.boxes.get(ns.id);
    if (!b) continue;
    const rules = hops.rules.get(ns.id) || [];
    const ng = el('g', { class: ['ns', ns.status, worst(rules.map((r) => r.cls))].join(' '), 'data-id': ns.id }, svg);
    el('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 4 }, ng);
    const name = ns.name || 'root namespace';
    text(ng, b.x + 6, b.y + 15, name, 'title');
    if (ns.faults.length) {
      // Its own text after the name (the name stays a text of its own), focusable for the causes.
      const faults = text(ng, b.x + 6 + Math.ceil(name.length * 7.4) + 8, b.y + 15, nsTitle(ns).slice(name.length).trim(), 'title ns-faults');
      faults.setAttribute('fill', '#c22');
      el('title', {}, faults).textContent = ns.faults.map((f) => f.reason + ': ' + f.cause).join('\\n');
      focusable(faults, name + ' on ' + node.host + ': ' + ns.faults.length + ' fault(s)', () => show({ namespace: ns.name, node: node.host, status: ns.status, faults: ns.faults }));
    }
    // Hops without a device (NAT rules, routes, forwarding, agents) are marks under the namespace's title.
    const marks = rules.length ? el('text', { x: b.x + 6, y: b.y + 15 + MARKS, class: 'rules' }, ng) : null;
    for (const [i, r] of rules.entries()) {
      const mark = el('tspan', { class: 'rule ' + r.cls, dx: i ? 8 : 0 }, marks);
      mark.textContent = (r.cls === 'hop-ok' ? '✓ ' : r.cls === 'hop-bad' ? '✗ ' : '? ') + r.hop.check + (r.hop.reason ? ' ' + r.hop.reason : '');
      el('title', {}, mark).textContent = '#' + r.hop.index + ' ' + r.hop.check + ': ' + r.hop.status + (r.hop.cause ? ' — ' + r.hop.cause : '');
    }
    for (const item of items) {
      const ib = p.boxes.get(item.id);
      if (!ib) continue;
      pos.set(item.id, { x: ib.x + ib.w / 2, top: ib.y, bottom: ib.y + ib.h });
      if (item.group) drawGroup(ng, item.group, ib, hops, hl);
      else drawDevice(ng, item.device, ib, hops, hl);
    }
  }
  const lines = el('g', { class: 'lines' }, svg);
  for (const e of m.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    // From the facing edges of the two boxes; drawn over the boxes, thin, so that no box hides it.
    const down = a.top <= b.top;
    const y1 = a.top === b.top ? a.bottom : down ? a.bottom : a.top, y2 = a.top === b.top ? b.bottom : down ? b.top : b.bottom;
    const l = el('line', { x1: a.x, y1, x2: b.x, y2, class: e.kind + (e.faults.length ? ' fault' : '') }, lines);
    el('title', {}, l).textContent = e.kind + (e.label ? ' ' + e.label : '') + (e.faults.length ? ' — ' + e.faults[0].cause : '');
  }
  svg.setAttribute('width', p.width);
  svg.setAttribute('height', p.height);
  svg.setAttribute('viewBox', '0 0 ' + p.width + ' ' + p.height);
  document.body.dataset.drawn = String(Number(document.body.dataset.drawn || 0) + 1);
}

function focusable(g, label, select) {
  g.setAttribute('tabindex', '0');
  g.setAttribute('role', 'button');
  g.setAttribute('aria-label', label);
  g.addEventListener('click', select);
  g.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(); } });
}

function drawDevice(parent, d, b, hops, hl) {
  const cls = ['dev', d.status, hl.has(d.id) ? 'hl' : '', hops.devices.get(d.id) || ''].join(' ');
  const dg = el('g', { class: cls, 'data-id': d.id }, parent);
  focusable(dg, d.name + ' ' + d.status, () => show(d));
  el('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 3 }, dg);
  text(dg, b.x + 4, b.y + 13, d.name + ' (' + d.kind + ')');
  const addr = d.addresses.find((a) => !a.startsWith('fe80:')) || '';
  text(dg, b.x + 4, b.y + 27, d.faults.length ? d.faults[0].reason : addr || (d.up === false ? 'down' : d.up === null ? '' : 'up'));
  el('title', {}, dg).textContent = d.name + ': ' + d.status + (d.faults.length ? ' — ' + d.faults.map((f) => f.reason + ': ' + f.cause).join('; ') : '');
}

/** A bridge's taps as one box: their count, the faults among them, the trace's worst hop through them. */
function drawGroup(parent, group, b, hops, hl) {
  const faulty = group.members.filter((d) => FAULTY.has(d.status));
  const hop = worst(group.members.map((d) => hops.devices.get(d.id) || ''));
  const lit = group.members.some((d) => hl.has(d.id));
  const g = el('g', { class: ['dev', 'group', faulty.length ? 'mismatch' : 'ok', lit ? 'hl' : '', hop].join(' '), 'data-id': 'group:' + group.key }, parent);
  const label = group.members.length + ' taps on ' + group.bridge;
  focusable(g, label + (faulty.length ? ', ' + faulty.length + ' with faults' : '') + ': open', () => { expanded.add(group.key); draw(); });
  el('rect', { x: b.x, y: b.y, width: b.w, height: b.h, rx: 3 }, g);
  text(g, b.x + 4, b.y + 13, label);
  text(g, b.x + 4, b.y + 27, faulty.length ? faulty.length + ' faulty: ' + faulty[0].faults[0].reason : 'all ok · click to open');
  el('title', {}, g).textContent = group.members.map((d) => d.name + ' ' + d.status).join('\\n');
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

function traceText(r) {
  if (!r.hops) return r.NeutronError ? r.NeutronError.message : JSON.stringify(r);
  return r.verdict + ':\\n' + r.hops.map((h) => h.index + ' ' + h.status + ' ' + h.node + ' ' + (h.namespace || '') + ' ' + (h.device || '') + ' ' + h.check +
    (h.capture ? ' [' + h.capture.request + ' requests, ' + (h.capture.reply ?? '-') + ' replies]' : '') + (h.cause ? ' — ' + h.cause : '')).join('\\n');
}

async function runTrace(probe) {
  const q = new URLSearchParams();
  if (offline) q.set('snapshot', offline.id);
  const fip = document.getElementById('fip').value.trim();
  if (fip) q.set('fip', fip); else { q.set('port', document.getElementById('port').value.trim()); q.set('to', document.getElementById('to').value.trim()); }
  show(probe ? 'probing: sending packets and capturing on every device of the path…' : 'tracing…');
  const r = await (await fetch((probe ? '/api/probe?' : '/api/trace?') + q, probe ? { method: 'POST' } : {})).json();
  trace = r.hops ? r : null;
  if (trace) trace.query = probe ? null : q.toString();
  show(traceText(r));
  draw();
}
document.getElementById('trace').addEventListener('submit', (e) => { e.preventDefault(); runTrace(false); });
document.getElementById('probe').addEventListener('click', () => runTrace(true));
document.getElementById('clear').addEventListener('click', () => { trace = null; draw(); });
document.getElementById('collapse').addEventListener('click', () => { expanded.clear(); draw(); });

async function retrace() {
  if (!trace || !trace.query) return;
  const query = trace.query;
  trace = await (await fetch('/api/trace?' + query)).json();
  trace.query = query;
}

/** The picture as a standalone SVG document (its style inside), and as a PNG of it. */
function svgDocument() {
  const copy = svg.cloneNode(true);
  copy.setAttribute('xmlns', NS);
  return '<?xml version="1.0" encoding="UTF-8"?>\\n' + new XMLSerializer().serializeToString(copy);
}
function pngDataUrl() {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const c = document.createElement('canvas');
      c.width = img.width || Number(svg.getAttribute('width'));
      c.height = img.height || Number(svg.getAttribute('height'));
      const ctx = c.getContext('2d');
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, c.width, c.height);
      ctx.drawImage(img, 0, 0);
      resolve(c.toDataURL('image/png'));
    };
    img.onerror = () => reject(new Error('the SVG could not be drawn'));
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svgDocument());
  });
}
const download = (name, href) => { const a = document.createElement('a'); a.download = name; a.href = href; document.body.appendChild(a); a.click(); a.remove(); };
document.getElementById('export-svg').addEventListener('click', () => {
  download('neutrino-topology.svg', URL.createObjectURL(new Blob([svgDocument()], { type: 'image/svg+xml' })));
});
document.getElementById('export-png').addEventListener('click', async () => download('neutrino-topology.png', await pngDataUrl()));
window.neutrinoExport = { svg: svgDocument, png: pngDataUrl };

/** Shows an uploaded snapshot (its files by path) offline, as neutrino web --snapshot DIR would. */
async function openSnapshot(files, name) {
  show('reading snapshot ' + name + '…');
  const r = await fetch('/api/snapshots?name=' + encodeURIComponent(name), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ files }) });
  const b = await r.json();
  if (!r.ok) { show(b.NeutronError ? b.NeutronError.message : JSON.stringify(b)); return; }
  if (!offline) liveView = view;
  offline = { id: b.id, name };
  view = b.view; trace = null; selected = null; expanded.clear();
  document.getElementById('live').hidden = false;
  document.getElementById('probe').hidden = true;
  drawResources();
  await draw();
  document.body.dataset.offline = name;
  show('snapshot ' + name + ' (recorded ' + view.topology.readAt + '): drawn and traced offline; "back to live" shows the cloud again.');
}
const nameOf = (list) => { const p = (list[0] && list[0].webkitRelativePath) || ''; return p.includes('/') ? p.split('/')[0] : 'snapshot'; };
async function filesOf(list) {
  const out = {};
  for (const f of list) out[f.webkitRelativePath || f.name] = await f.text();
  return out;
}
for (const id of ['upload-dir', 'upload-files'])
  document.getElementById(id).addEventListener('change', async (e) => {
    const list = [...e.target.files];
    if (list.length) await openSnapshot(await filesOf(list), nameOf(list));
    e.target.value = '';
  });
/** A dropped directory's files by path (the directory's name first), read through the entries API. */
async function entryFiles(entry, path, out) {
  if (entry.isFile) { out[path + entry.name] = await (await new Promise((ok, ko) => entry.file(ok, ko))).text(); return; }
  const reader = entry.createReader();
  for (;;) {
    const batch = await new Promise((ok, ko) => reader.readEntries(ok, ko));
    if (!batch.length) return;
    for (const e of batch) await entryFiles(e, path + entry.name + '/', out);
  }
}
const dropZone = document.querySelector('main');
dropZone.addEventListener('dragover', (e) => e.preventDefault());
dropZone.addEventListener('drop', async (e) => {
  e.preventDefault();
  const entries = [...e.dataTransfer.items].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
  const out = {};
  if (entries.length) for (const en of entries) await entryFiles(en, '', out);
  else for (const f of e.dataTransfer.files) out[f.name] = await f.text();
  await openSnapshot(out, entries.length === 1 && entries[0].isDirectory ? entries[0].name : 'snapshot');
});
document.getElementById('live').addEventListener('click', async () => {
  offline = null; trace = null; selected = null;
  view = liveView;
  document.getElementById('live').hidden = true;
  document.getElementById('probe').hidden = !allowProbe;
  delete document.body.dataset.offline;
  drawResources();
  await draw();
  show('live again');
});

const events = new EventSource('/api/events');
events.addEventListener('view', async (e) => {
  if (offline) { liveView = JSON.parse(e.data); return; }
  view = JSON.parse(e.data);
  if (selected) selected = view.resources.resources.find((r) => r.id === selected.id) || null;
  await retrace();
  drawResources();
  await draw();
  document.body.dataset.version = view.version;
  document.body.dataset.views = String(Number(document.body.dataset.views || 0) + 1);
});
events.onerror = () => { document.getElementById('status').textContent = 'disconnected: retrying…'; };
fetch('/api/config').then((r) => r.json()).then((c) => { allowProbe = !!c.allowProbe; document.getElementById('probe').hidden = !c.allowProbe || !!offline; });
`;
