// The page's state: the set-up (also in the URL), the socket to the server, and the histories
// of the curves. The server computes everything; this module only keeps what it sent.

export const DEFAULTS = {
  data: "spirals", n: 500, noise: 0.1, ratio: 50, seed: 0, features: ["x1", "x2"],
  hidden: [8, 8], activations: ["tanh", "tanh"], loss: "cross_entropy", output: "softmax",
  optimizer: "adam", lr: 0.03, batch: 10, l1: 0, l2: 0, speed: 1, view: "delta",
  csv_target: "", csv_features: [], draw: [],
};
const LISTS = ["features", "activations", "csv_features", "draw"];
const NUMBERS = ["n", "noise", "ratio", "seed", "lr", "batch", "l1", "l2", "speed"];

// the set-up from the page's URL (?data=moons&hidden=4,4&...); fields not given keep defaults
export function settingsFromURL(search = location.search) {
  const q = new URLSearchParams(search);
  const s = structuredClone(DEFAULTS);
  for (const [k, v] of q) {
    if (!(k in s)) continue;
    if (k === "hidden") s.hidden = v === "" ? [] : v.split(",").map(Number);
    else if (LISTS.includes(k)) s[k] = v === "" ? [] : v.split(",");
    else if (NUMBERS.includes(k)) s[k] = Number(v);
    else s[k] = v;
  }
  return s;
}

export function settingsToURL(s) {
  const q = new URLSearchParams();
  for (const k of Object.keys(DEFAULTS)) {
    const v = s[k];
    if (JSON.stringify(v) === JSON.stringify(DEFAULTS[k])) continue;
    q.set(k, Array.isArray(v) ? v.join(",") : String(v));
  }
  const text = q.toString();
  return location.pathname + (text ? "?" + text : "");
}

// what the curves remember: one point per frame
export class Histories {
  constructor() { this.clear(); }
  clear() {
    this.epoch = []; this.train = []; this.test = [];
    this.delta = []; this.saturation = []; this.sharpness = []; this.ntk = [];
  }
  add(f) {
    const last = this.epoch.length ? this.epoch[this.epoch.length - 1] : -1;
    if (f.epoch === last) {  // the same epoch again (a set-up change): replace the point
      this.epoch.pop(); this.train.pop(); this.test.pop(); this.delta.pop(); this.saturation.pop();
    } else if (f.epoch < last) {
      this.clear();
    }
    this.epoch.push(f.epoch); this.train.push(f.train_loss); this.test.push(f.test_loss);
    this.delta.push(f.views.delta); this.saturation.push(f.views.saturation);
    if (f.views.fresh) {
      this.sharpness = this.sharpness.filter(p => p.epoch < f.epoch);
      this.ntk = this.ntk.filter(p => p.epoch < f.epoch);
      this.sharpness.push({ epoch: f.epoch, value: f.views.sharpness, bound: f.views.two_over_eta });
      this.ntk.push({ epoch: f.epoch, value: f.views.ntk });
    }
  }
}

// the WebSocket: JSON messages both ways, handlers by message type
export class Link {
  constructor(handlers) {
    this.handlers = handlers;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    this.ws = new WebSocket(`${proto}//${location.host}/ws`);
    this.ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      (this.handlers[m.type] || this.handlers.other)(m);
    };
    this.ws.onclose = () => this.handlers.closed && this.handlers.closed();
    this.ready = new Promise((ok) => { this.ws.onopen = ok; });
  }
  async send(msg) { await this.ready; this.ws.send(JSON.stringify(msg)); }
}

// uint8 values from the base64 text the frames carry
export function bytes(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
