// The controls: each writes one field of the set-up and calls onChange(settings); show() puts an
// accepted set-up back into every control.

const SETS = ["circle", "xor", "gaussians", "spirals", "moons", "regression"];
const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
const ACTIVATIONS = ["tanh", "relu", "sigmoid", "leaky_relu", "elu", "softplus", "gelu", "identity"];
const MAX_LAYERS = 6, MAX_WIDTH = 12;
export const VIEWS = {
  delta: "|δ| per layer (backprop's messages)",
  saturation: "saturation per layer (σ′ ≈ 0)",
  sharpness: "sharpness λmax(H) vs 2/η",
  ntk: "NTK change ‖Θt − Θ0‖/‖Θ0‖",
};

const $ = (id) => document.getElementById(id);

function options(select, values, labels = {}) {
  select.replaceChildren(...values.map((v) => new Option(labels[v] || v, v)));
}

export class Controls {
  constructor(onChange, onCsvColumns) {
    this.onChange = onChange;
    this.s = null;
    this.csvColumns = null;
    options($("loss"), ["cross_entropy", "mse", "huber", "mae"]);
    options($("output"), ["softmax", "sigmoid", "identity"]);
    options($("optimizer"), ["sgd", "momentum", "adam"]);
    options($("view"), Object.keys(VIEWS), VIEWS);
    $("sets").replaceChildren(...[...SETS, "csv"].map((name) => {
      const b = document.createElement("button");
      b.textContent = name; b.dataset.set = name; b.id = `set-${name}`;
      b.onclick = () => (name === "csv" ? $("upload").click() : this.setData(name));
      return b;
    }));
    for (const id of ["lr", "batch", "l1", "l2", "speed", "seed", "ratio", "noise", "n"]) {
      $(id).addEventListener("change", () => this.change({ [id]: Number($(id).value) }));
    }
    for (const id of ["ratio", "noise", "n"]) {
      $(id).addEventListener("input", () => { $(`${id}-out`).textContent = $(id).value; });
    }
    for (const id of ["loss", "output", "optimizer", "view"]) {
      $(id).addEventListener("change", () => this.change(this.fix({ [id]: $(id).value })));
    }
    $("regen").onclick = () => this.change({ seed: Math.floor(Math.random() * 1e6) });
    $("add-layer").onclick = () => this.layers(+1);
    $("del-layer").onclick = () => this.layers(-1);
    $("csv-target").onchange = () =>
      this.change({ csv_target: $("csv-target").value, csv_features: [], draw: [] });
    $("draw-x").onchange = $("draw-y").onchange = () =>
      this.change({ draw: [$("draw-x").value, $("draw-y").value] });
  }

  change(patch) { this.onChange({ ...this.s, ...patch }); }

  // loss and output go together: cross-entropy is computed from softmax logits
  fix(patch) {
    if (patch.loss === "cross_entropy") patch.output = "softmax";
    if (patch.output && patch.output !== "softmax" && this.s.loss === "cross_entropy") patch.loss = "mse";
    return patch;
  }

  setData(name) {
    const patch = { data: name };
    if (name === "regression") Object.assign(patch, { loss: "mse", output: "identity" });
    else if (this.s.data === "regression" || this.s.data === "csv") Object.assign(patch, { loss: "cross_entropy", output: "softmax" });
    this.change(patch);
  }

  layers(d) {
    const hidden = [...this.s.hidden], acts = [...this.s.activations];
    if (d > 0 && hidden.length < MAX_LAYERS) { hidden.push(4); acts.push(acts[acts.length - 1] || "tanh"); }
    if (d < 0 && hidden.length) { hidden.pop(); acts.pop(); }
    this.change({ hidden, activations: acts });
  }

  width(l, d) {
    const hidden = [...this.s.hidden];
    hidden[l] = Math.min(MAX_WIDTH, Math.max(1, hidden[l] + d));
    this.change({ hidden });
  }

  // put an accepted set-up into every control
  show(s, task) {
    this.s = s;
    for (const id of ["lr", "batch", "l1", "l2", "speed", "seed", "ratio", "noise", "n",
      "loss", "output", "optimizer", "view"]) $(id).value = s[id];
    for (const id of ["ratio", "noise", "n"]) $(`${id}-out`).textContent = s[id];
    document.querySelectorAll("#sets button").forEach((b) => b.classList.toggle("on", b.dataset.set === s.data));
    for (const id of ["noise", "n"]) $(id).disabled = s.data === "csv";
    $("csv-cols").hidden = s.data !== "csv" || !this.csvColumns;
    this.heads(s);
    $("net-summary").textContent = `${s.hidden.length} hidden layer${s.hidden.length === 1 ? "" : "s"} · ${task}`;
  }

  // the head of each column of the network: input features, then width and σ per layer
  heads(s) {
    const heads = $("layer-heads");
    heads.style.gridTemplateColumns = `repeat(${s.hidden.length + 2}, 1fr)`;
    const first = document.createElement("div");
    first.className = "feat";
    if (s.data === "csv") first.textContent = "inputs";
    else first.append(...FEATURES.map((f) => {
      const lab = document.createElement("label"), box = document.createElement("input");
      box.type = "checkbox"; box.checked = s.features.includes(f); box.dataset.feature = f;
      box.onchange = () => this.change({ features: FEATURES.filter((g) => g === f ? box.checked : s.features.includes(g)) });
      lab.append(box, " " + f);
      return lab;
    }));
    const cols = s.hidden.map((w, l) => {
      const d = document.createElement("div");
      const minus = document.createElement("button"), plus = document.createElement("button");
      minus.textContent = "−"; plus.textContent = "+";
      minus.onclick = () => this.width(l, -1); plus.onclick = () => this.width(l, +1);
      const sel = document.createElement("select");
      options(sel, ACTIVATIONS); sel.value = s.activations[l]; sel.dataset.layer = l;
      sel.onchange = () => { const a = [...s.activations]; a[l] = sel.value; this.change({ activations: a }); };
      d.append(minus, ` ${w} `, plus, document.createElement("br"), sel);
      return d;
    });
    const out = document.createElement("div");
    out.textContent = "output";
    heads.replaceChildren(first, ...cols, out);
  }

  // the uploaded CSV's columns: target, the two drawn, the features trained on
  columns(m, s) {
    this.csvColumns = m.columns;
    const target = s.csv_target || m.columns[m.columns.length - 1];
    options($("csv-target"), m.columns); $("csv-target").value = target;
    const feats = m.columns.filter((c) => c !== target);
    options($("draw-x"), feats); options($("draw-y"), feats);
    const draw = s.draw.length === 2 ? s.draw : feats.slice(0, 2);
    $("draw-x").value = draw[0]; $("draw-y").value = draw[1];
    const chosen = s.csv_features.length ? s.csv_features : feats;
    $("csv-features").replaceChildren(...feats.map((f) => {
      const lab = document.createElement("label"), box = document.createElement("input");
      box.type = "checkbox"; box.checked = chosen.includes(f);
      box.onchange = () => this.change({ csv_features: feats.filter((g) => g === f ? box.checked : chosen.includes(g)) });
      lab.append(box, " " + f);
      return lab;
    }));
    $("csv-cols").hidden = false;
  }
}
