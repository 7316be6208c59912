// Drawing on canvases: heatmaps with the points, the network (units and links), line charts.
// Nothing here computes the model: every number comes from the server's frames.

const ORANGE = [245, 147, 34], BLUE = [8, 119, 189], WHITE = [255, 255, 255];
const PALETTE = [ORANGE, BLUE, [46, 160, 67], [200, 60, 160], [120, 90, 200], [180, 180, 40],
  [60, 180, 190], [200, 70, 60]];
export const SERIES = ["#0877bd", "#f59322", "#2ea043", "#c83ca0", "#785ac8", "#888", "#3cb4be"];

function mix(a, b, t) { return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]; }

// v in 0..255 -> orange (0) .. white (127.5) .. blue (255)
export function diverging(v) {
  const t = v / 255;
  return t < 0.5 ? mix(ORANGE, WHITE, t * 2) : mix(WHITE, BLUE, (t - 0.5) * 2);
}

export function classColor(k) { return PALETTE[k % PALETTE.length]; }

function css(c, alpha = 1) { return `rgba(${c[0] | 0},${c[1] | 0},${c[2] | 0},${alpha})`; }

// a size × size map of bytes (diverging colours, or class colours by confidence) onto ctx
function paintMap(ctx, values, size, x, y, w, h, classes = null, k = 2) {
  const img = new ImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    let c;
    if (classes && k > 2) {
      const conf = Math.max(0, (values[i] / 255 - 1 / k) / (1 - 1 / k));
      c = mix(WHITE, classColor(classes[i]), 0.15 + 0.75 * conf);
    } else {
      c = mix(WHITE, diverging(values[i]), 0.85);
    }
    img.data.set([c[0], c[1], c[2], 255], 4 * i);
  }
  const tmp = paintMap.canvas || (paintMap.canvas = document.createElement("canvas"));
  tmp.width = size; tmp.height = size;
  tmp.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(tmp, x, y, w, h);
}

// the output (or one unit's) heatmap over the plane, with the training (and test) points
export function heatmap(canvas, data, map, { classes = null, showTest = false } = {}) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  const k = data.classes ? data.classes.length : 2;
  ctx.clearRect(0, 0, W, H);
  paintMap(ctx, map.values, map.size, 0, 0, W, H, classes, k);
  const [x0, x1, y0, y1] = data.extent;
  const px = (u) => ((u - x0) / (x1 - x0)) * W, py = (v) => ((y1 - v) / (y1 - y0)) * H;
  const sets = showTest ? [[data.train, "#fff"], [data.test, "#000"]] : [[data.train, "#fff"]];
  for (const [pts, stroke] of sets) {
    for (let i = 0; i < pts.label.length; i++) {
      const lab = pts.label[i];
      const c = data.task === "classification" ? classColor(lab) : diverging(lab * 255);
      ctx.beginPath();
      ctx.arc(px(pts.x[2 * i]), py(pts.x[2 * i + 1]), 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = css(c); ctx.fill();
      ctx.lineWidth = 1; ctx.strokeStyle = stroke; ctx.stroke();
    }
  }
  axes(ctx, data, W, H);
}

function axes(ctx, data, W, H) {
  ctx.fillStyle = "rgba(0,0,0,.55)"; ctx.font = "11px system-ui";
  const [x0, x1, y0, y1] = data.extent;
  ctx.fillText(`${data.draw[0]} ∈ [${x0.toFixed(1)}, ${x1.toFixed(1)}]`, 4, H - 4);
  ctx.save(); ctx.translate(12, H - 40); ctx.rotate(-Math.PI / 2);
  ctx.fillText(`${data.draw[1]} ∈ [${y0.toFixed(1)}, ${y1.toFixed(1)}]`, 0, 0); ctx.restore();
}

// where every unit sits: columns = inputs, hidden layers, outputs
export function netLayout(canvas, sizes, nOut) {
  const cols = [...sizes, nOut], W = canvas.width, H = canvas.height, left = 56, right = 56;
  const colW = (W - left - right) / cols.length;
  const box = Math.min(40, (H - 20) / Math.max(...cols) - 6, colW * 0.5);
  return cols.map((n, l) => {
    const cx = left + colW * (l + 0.5), gap = Math.min(box + 8, (H - 10) / n);
    const top = (H - gap * n) / 2 + (gap - box) / 2;
    return Array.from({ length: n }, (_, j) => ({ x: cx - box / 2, y: top + j * gap, s: box, l, j }));
  });
}

// the network: links coloured by the sign of w and as wide as |w|, each unit's heatmap
export function network(canvas, layout, frame, neuronMaps, focus, names = {}) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  frame.weights.forEach((W, l) => {
    const wmax = Math.max(1e-9, ...W.flat().map(Math.abs));
    W.forEach((row, j) => row.forEach((w, i) => {
      const a = layout[l][i], b = layout[l + 1][j];
      ctx.beginPath();
      ctx.moveTo(a.x + a.s, a.y + a.s / 2);
      const mx = (a.x + a.s + b.x) / 2;
      ctx.bezierCurveTo(mx, a.y + a.s / 2, mx, b.y + b.s / 2, b.x, b.y + b.s / 2);
      ctx.strokeStyle = css(w > 0 ? BLUE : ORANGE, 0.25 + 0.6 * Math.abs(w) / wmax);
      ctx.lineWidth = 0.4 + 3.6 * Math.abs(w) / wmax;
      ctx.stroke();
    }));
  });
  layout.forEach((col, l) => col.forEach((u) => {
    const m = neuronMaps[l] && neuronMaps[l][u.j];
    if (m) paintMap(ctx, m.values, m.size, u.x, u.y, u.s, u.s);
    else { ctx.fillStyle = "#eee"; ctx.fillRect(u.x, u.y, u.s, u.s); }
    const on = focus && focus.layer === l && focus.unit === u.j;
    ctx.lineWidth = on ? 3 : 1; ctx.strokeStyle = on ? "#000" : "#999";
    ctx.strokeRect(u.x, u.y, u.s, u.s);
    ctx.fillStyle = "#555"; ctx.font = "11px system-ui";
    if (l === 0 && names.inputs) {
      const t = names.inputs[u.j] || "";
      ctx.fillText(t, u.x - 6 - ctx.measureText(t).width, u.y + u.s / 2 + 4);
    }
    if (l === layout.length - 1 && names.outputs) ctx.fillText(names.outputs[u.j] || "", u.x + u.s + 6, u.y + u.s / 2 + 4);
  }));
}

// line charts: series [{values, color, dash}], x = epochs, optional log scale
export function lines(canvas, xs, series, { log = false, title = "", yMax = null } = {}) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, pad = 28;
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
  const f = (v) => (log ? Math.log10(Math.max(v, 1e-12)) : v);
  const all = series.flatMap((s) => s.values.filter((v) => v !== null && isFinite(v)).map(f));
  ctx.fillStyle = "#777"; ctx.font = "11px system-ui"; ctx.fillText(title, pad, 11);
  if (!all.length || !xs.length) return;
  let lo = Math.min(...all), hi = yMax !== null ? f(yMax) : Math.max(...all);
  if (!log) lo = Math.min(lo, 0);
  if (hi - lo < 1e-9) hi = lo + 1;
  const x0 = xs[0], x1 = Math.max(xs[xs.length - 1], x0 + 1);
  const X = (x) => pad + ((x - x0) / (x1 - x0)) * (W - pad - 6);
  const Y = (v) => H - 14 - ((f(v) - lo) / (hi - lo)) * (H - 30);
  for (const s of series) {
    ctx.beginPath(); ctx.strokeStyle = s.color; ctx.lineWidth = 1.6; ctx.setLineDash(s.dash || []);
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !isFinite(v)) { pen = false; return; }
      const x = X(s.xs ? s.xs[i] : xs[i]), y = Y(v);
      pen ? ctx.lineTo(x, y) : ctx.moveTo(x, y); pen = true;
    });
    ctx.stroke(); ctx.setLineDash([]);
  }
  ctx.fillStyle = "#777";
  const fmt = (v) => (log ? 10 ** v : v).toPrecision(2);
  ctx.fillText(fmt(hi), 2, 26); ctx.fillText(fmt(lo), 2, H - 14);
  ctx.fillText(`epoch ${x1}`, W - 70, H - 2);
}
