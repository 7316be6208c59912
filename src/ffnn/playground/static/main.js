// Wiring: messages from the server -> state -> drawing; controls -> messages to the server.
import { Controls, VIEWS } from "./controls.js";
import { heatmap, lines, netLayout, network, SERIES } from "./draw.js";
import { bytes, Histories, Link, settingsFromURL, settingsToURL } from "./state.js";

const $ = (id) => document.getElementById(id);
const pg = (window.__pg = { frames: 0, draws: 0, data: null, frame: null, errors: [], fps: 0 });
const hist = new Histories();
let settings = settingsFromURL(), playing = false, focus = null, columnsMsg = null;
let pending = 0, scheduled = false, drawTimes = [];

const link = new Link({
  data: onData,
  frame: onFrame,
  status: (m) => setPlaying(m.playing),
  accepted: (m) => {
    settings = m.settings; controls.show(settings, pg.data.task);
    history.replaceState(null, "", settingsToURL(settings));
  },
  error: onError,
  columns: (m) => { columnsMsg = m; $("upload-msg").hidden = true; },
  export: download,
  closed: () => showMsg("msg", "The connection to the server closed; reload the page to start again."),
  other: (m) => console.warn("unknown message", m),
});
const controls = new Controls((s) => { hideMsgs(); link.send({ type: "settings", settings: s }); });

link.send({ type: "settings", settings });

function onData(m) {
  pg.data = m; settings = m.settings; hist.clear(); focus = null; setPlaying(false);
  history.replaceState(null, "", settingsToURL(settings));
  controls.show(settings, m.task);
  if (settings.data === "csv" && columnsMsg) controls.columns(columnsMsg, settings);
  $("metric-name").firstChild.textContent = m.task === "classification" ? "test accuracy " : "test R² ";
  $("focus-label").hidden = true;
}

function onFrame(f) {
  pg.frames++; pg.frame = f; pending++;
  hist.add(f);
  if (f.playing === false && playing && f.message) setPlaying(false);
  if (f.message) showMsg("msg", f.message);
  if (!scheduled) { scheduled = true; requestAnimationFrame(draw); }
}

function draw() {
  scheduled = false;
  const f = pg.frame, d = pg.data;
  if (!f || !d) return;
  $("epoch").textContent = f.epoch;
  $("train-loss").textContent = fmt(f.train_loss);
  $("test-loss").textContent = fmt(f.test_loss);
  $("metric").textContent = d.task === "classification" ? fmt(f.test_accuracy) : fmt(f.test_r2);
  const maps = neuronMaps(f, d);
  const layout = netLayout($("net"), f.layer_sizes, f.weights[f.weights.length - 1].length);
  const outputs = d.task === "classification" ? d.classes.map((c) => `class ${c}`) : ["ŷ"];
  network($("net"), layout, f, maps, focus, { inputs: d.inputs, outputs });
  pg.layout = layout;
  const showTest = $("show-test").checked;
  if (focus && f.focus) heatmap($("heat"), d, { values: bytes(f.focus), size: d.grid }, { showTest });
  else heatmap($("heat"), d, { values: bytes(f.heat), size: d.grid },
    { classes: f.heat_class ? bytes(f.heat_class) : null, showTest });
  lines($("losses"), hist.epoch, [
    { values: hist.train, color: "#555" }, { values: hist.test, color: SERIES[0] },
  ], { title: "loss: train (grey), test (blue)", log: true });
  drawView();
  pg.draws++;
  const now = performance.now();
  drawTimes.push(now); drawTimes = drawTimes.filter((t) => now - t < 1000);
  pg.fps = drawTimes.length; $("fps").textContent = playing ? String(pg.fps) : "–";
  for (; pending > 0; pending--) link.send({ type: "ack" });
}

function neuronMaps(f, d) {
  const all = bytes(f.neurons), g = d.grid / d.stride, n = g * g;
  let at = 0;
  const nOut = f.weights[f.weights.length - 1].length;
  return [...f.layer_sizes, nOut].map((k) => Array.from({ length: k }, () => {
    const m = { values: all.subarray(at, at + n), size: g }; at += n; return m;
  }));
}

function drawView() {
  const v = settings.view, c = $("viewchart");
  let legend;
  if (v === "delta" || v === "saturation") {
    const rows = hist[v], k = rows.length ? rows[rows.length - 1].length : 0;
    const series = Array.from({ length: k }, (_, l) => ({ values: rows.map((r) => r[l]), color: SERIES[l % SERIES.length] }));
    lines(c, hist.epoch, series, v === "delta" ? { log: true, title: VIEWS.delta } : { yMax: 1, title: VIEWS.saturation });
    legend = series.map((s, l) => [s.color, `${v === "delta" ? `δ(${l + 1})` : `layer ${l + 1}`} ${fmt(last(s.values))}`]);
  } else {
    const pts = hist[v], xs = pts.map((p) => p.epoch);
    const series = [{ values: pts.map((p) => p.value), xs, color: SERIES[0] }];
    if (v === "sharpness") series.push({ values: pts.map((p) => p.bound), xs, color: SERIES[1], dash: [5, 4] });
    lines(c, xs.length ? xs : [0], series, { log: v === "sharpness", title: VIEWS[v] });
    const p = last(pts);
    legend = v === "sharpness"
      ? [[SERIES[0], `λmax ${fmt(p && p.value)}`], [SERIES[1], `2/η ${fmt(p && p.bound)} (dashed)`]]
      : [[SERIES[0], `relative change ${fmt(p && p.value)} on a fixed probe set`]];
  }
  $("view-legend").replaceChildren(...legend.map(([color, text]) => {
    const item = document.createElement("span"), mark = document.createElement("span");
    mark.textContent = "■ "; mark.style.color = color;  // CSSOM, allowed by the page's CSP
    item.append(mark, text, "  ");
    return item;
  }));
}

function last(a) { return a.length ? a[a.length - 1] : null; }
function fmt(v) { return v === null || v === undefined ? "–" : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3); }

function setPlaying(on) { playing = on; pg.playing = on; $("play").textContent = on ? "❚❚" : "▶"; }

function onError(m) {
  pg.errors.push(m);
  showMsg(m.where === "upload" ? "upload-msg" : "msg", m.message);
  if (pg.data) controls.show(settings, pg.data.task);  // the refused change is undone
}

function showMsg(id, text) { $(id).textContent = text; $(id).hidden = false; }
function hideMsgs() { $("msg").hidden = true; }

function download(m) {
  const blob = new Blob([bytes(m.data)], { type: "application/octet-stream" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob); a.download = m.filename;
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

$("play").onclick = () => { link.send({ type: playing ? "pause" : "play" }); };
$("step").onclick = () => { setPlaying(false); link.send({ type: "step" }); };
$("reset").onclick = () => { setPlaying(false); link.send({ type: "reset" }); };
$("show-test").onchange = () => draw();
for (const what of ["model", "data", "snippet"]) $(`export-${what}`).onclick = () => link.send({ type: "export", what });
$("copy-link").onclick = () => navigator.clipboard && navigator.clipboard.writeText(location.href);
$("upload").onchange = async () => {
  const file = $("upload").files[0];
  if (!file) return;
  $("upload-msg").hidden = true;
  if (file.size > 2e6) { showMsg("upload-msg", `the file is too large (${(file.size / 1e6).toFixed(1)} MB); the playground takes up to 2 MB`); return; }
  const buf = new Uint8Array(await file.arrayBuffer());
  let s = "";
  for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
  link.send({ type: "upload", name: file.name, data: btoa(s) });
  $("upload").value = "";
};
$("net").onclick = (e) => {
  if (!pg.layout) return;
  const r = $("net").getBoundingClientRect(), sx = $("net").width / r.width;
  const x = (e.clientX - r.left) * sx, y = (e.clientY - r.top) * sx;
  const hit = pg.layout.slice(0, -1).flat().find((u) => x >= u.x && x <= u.x + u.s && y >= u.y && y <= u.y + u.s);
  focus = hit && !(focus && focus.layer === hit.l && focus.unit === hit.j) ? { layer: hit.l, unit: hit.j } : null;
  const label = focus ? (focus.layer === 0 ? `input ${pg.data.inputs[focus.unit]}` : `unit ${focus.unit + 1} of hidden layer ${focus.layer}, x(${focus.layer})`) : "";
  $("focus-label").textContent = focus ? `showing ${label} over the plane — click it again for the output` : "";
  $("focus-label").hidden = !focus;
  link.send({ type: "focus", layer: focus ? focus.layer : null, unit: focus ? focus.unit : null });
};
