"""A playground session: the training state of one browser tab, and the frames it streams.

Every method runs on the session's own worker thread (the server never calls one on its event
loop). Training is ``ffnn.fit`` itself, a few epochs per frame, continued with ``state=`` and
the same random generator, so that k calls of ``fit(epochs=1)`` are one ``fit(epochs=k)``: the
exported snippet reproduces the run.
"""

from __future__ import annotations

import base64

import numpy as np

import ffnn
from ffnn.errors import FFNNError
from ffnn.playground import views
from ffnn.playground.data import parse_csv
from ffnn.playground.optim import build_optimizer
from ffnn.playground.problem import build_network, build_problem
from ffnn.playground.settings import DEFAULTS, check_settings

__all__ = ["Session", "GRID"]

GRID = 48  # the output heatmap: GRID × GRID points of the drawn plane
STRIDE = 2  # the neurons' heatmaps: every STRIDE-th grid point, (GRID/STRIDE)² each
PROBE = 48  # training points on which the NTK is followed
SLOW_EVERY = 5  # frames between two sharpness / NTK measurements while playing
LIVE_KEYS = ("lr", "optimizer", "l1", "l2", "batch", "speed", "view")


def b64(a: np.ndarray) -> str:
    """A uint8 array as base64 text (how the heatmaps travel in the JSON frames)."""
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def to_byte(v: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> 0..255 (NaN, after a divergence, -> 0)."""
    return np.round(255 * np.clip(np.nan_to_num(v), 0.0, 1.0)).astype(np.uint8)


class Session:
    """The state of one tab: the set-up, the problem, the network, the optimizer state."""

    def __init__(self, settings: dict | None = None):
        self.settings: dict | None = None
        self.csv: bytes | None = None
        self.playing = False
        self.focus: tuple[int, int] | None = None
        self.apply(settings or DEFAULTS)

    # --- set-up ----------------------------------------------------------------------------------
    def apply(self, raw) -> list[dict]:
        """Take a new set-up: live changes (η, optimizer, L1/L2, batch) keep the run going;
        any other change rebuilds the problem and resets. Nothing changes if it is refused."""
        s = check_settings(raw)
        old = self.settings
        if old is not None and all(s[k] == old[k] for k in s if k not in LIVE_KEYS):
            self.settings = s
            if any(s[k] != old[k] for k in LIVE_KEYS[:5]):
                self._set_optimizer(keep=True)
                self.changed_live = self.changed_live or self.epoch > 0
            return [{"type": "accepted", "settings": s}, self.frame()]
        prob = build_problem(s, self.csv)
        build_network(s, prob)  # refuse now what the network would refuse
        self.settings, self.prob = s, prob
        self._grid_inputs()
        return self.reset()

    def upload(self, data: bytes, name: str = "upload.csv") -> list[dict]:
        """A CSV from the page: checked, kept in memory, and made the data set."""
        ds = parse_csv(data)
        old_csv, self.csv = self.csv, data
        s = {**self.settings, "data": "csv", "csv_target": ds.target_name, "csv_features": []}
        s["draw"] = []
        try:
            out = self.apply(s)
        except FFNNError:
            self.csv = old_csv
            raise
        header = [*ds.feature_names, ds.target_name]
        cols = {"type": "columns", "name": str(name)[:200], "columns": header}
        return [cols, *out]

    def reset(self) -> list[dict]:
        """θ back to the seeded initialization, a fresh optimizer and generator, epoch 0."""
        s, prob = self.settings, self.prob
        self.playing = False
        self.net = build_network(s, prob)
        self.loss = ffnn.get_loss(s["loss"])
        self.rng = np.random.default_rng(s["seed"])
        self.epoch, self.fit_state, self.changed_live = 0, None, False
        self._set_optimizer(keep=False)
        self.probe = prob.X[:PROBE]
        self.K0 = views.ntk(self.net, self.probe)
        self.slow: dict = {"sharpness": None, "ntk": 0.0, "at": 0}
        self.frames = 0
        self.message = ""
        return [self.data_message(), self.frame()]

    def _set_optimizer(self, keep: bool) -> None:
        s = self.settings
        self.opt = build_optimizer(s["optimizer"], s["lr"], l1=s["l1"], l2=s["l2"])
        if keep and self.fit_state is not None:
            try:
                self.opt.check_state(self.fit_state["optimizer"], self.net.theta)
                return
            except FFNNError:  # another optimizer: fresh moments, the epoch count goes on
                pass
        if keep and self.epoch:
            self.fit_state = {"optimizer": self.opt.init(self.net.theta), "epoch": self.epoch}

    def _grid_inputs(self) -> None:
        D = np.concatenate([self.prob.D, self.prob.Dt])
        lo, hi = D.min(axis=0), D.max(axis=0)
        pad = 0.08 * np.maximum(hi - lo, 1e-9)
        self.extent = [float(lo[0] - pad[0]), float(hi[0] + pad[0])]
        self.extent += [float(lo[1] - pad[1]), float(hi[1] + pad[1])]
        u = np.linspace(self.extent[0], self.extent[1], GRID)
        v = np.linspace(self.extent[3], self.extent[2], GRID)  # row 0 at the top
        gu, gv = np.meshgrid(u, v)
        self.Xg = self.prob.to_inputs(np.column_stack([gu.ravel(), gv.ravel()]))
        if self.prob.task == "regression":
            y = self.prob.train.y.reshape(len(self.prob.train.y), -1)[:, 0]
            self.y_range = (float(y.min()), float(max(y.max(), y.min() + 1e-9)))

    # --- training ----------------------------------------------------------------------------
    def advance(self, epochs: int | None = None) -> dict:
        """Train ``epochs`` more epochs (default: the set-up's speed) with ffnn.fit; a frame."""
        s = self.settings
        hist = ffnn.fit(
            self.net, self.prob.X, self.prob.Y, self.loss,
            optimizer=self.opt, batch_size=s["batch"], epochs=epochs or s["speed"],
            rng=self.rng, state=self.fit_state, progress=False,
        )  # fmt: skip
        self.fit_state = hist.state
        self.epoch = int(hist.state["epoch"])
        if hist.diverged or not np.all(np.isfinite(self.net.theta)):
            self.playing = False
            self.message = "training diverged (the loss became infinite): lower the learning rate"
        return self.frame()

    # --- frames ------------------------------------------------------------------------------
    def frame(self) -> dict:
        """What the page draws now: losses, metric, heatmaps, weights and the notes' views."""
        net, p, loss = self.net, self.prob, self.loss
        with np.errstate(all="ignore"):
            train_loss, deltas = views.loss_and_deltas(net, p.X, p.Y, loss)
            zt = net.z_out(p.Xt)
            test_loss = float(loss.value(zt, p.Yt, net.output))
            out = {"type": "frame", "epoch": self.epoch, "playing": self.playing}
            out.update(train_loss=_finite(train_loss), test_loss=_finite(test_loss))
            out.update(self._metric(zt))
            out.update(self._heatmaps())
            out["weights"] = [np.round(np.nan_to_num(W), 4).tolist() for W, _ in net.params]
            out["views"] = self._views(deltas)
        out["message"] = self.message
        self.frames += 1
        return out

    def _metric(self, zt: np.ndarray) -> dict:
        p = self.prob
        if p.task == "classification":
            truth = p.Yt if p.Yt.ndim == 1 else p.Yt.argmax(axis=1)
            return {"test_accuracy": float(np.mean(zt.argmax(axis=1) == truth))}
        yt = p.Yt.reshape(len(zt), -1)
        ss = float(np.sum((yt - yt.mean(axis=0)) ** 2))
        return {"test_r2": _finite(1 - float(np.sum((yt - zt) ** 2)) / max(ss, 1e-300))}

    def _heatmaps(self) -> dict:
        net = self.net
        z, trace = net.forward(self.Xg)
        f = net.output.apply(z)
        out = self._output_heat(f)
        maps = []
        for x in trace.x:  # the inputs, then x^(l) = σ(z^(l)) of every hidden layer
            a = x.reshape(GRID, GRID, -1)[::STRIDE, ::STRIDE]
            scale = np.maximum(np.abs(a).max(axis=(0, 1)), 1e-12)
            maps.append(to_byte(0.5 + 0.5 * a / scale).transpose(2, 0, 1))
        a = f.reshape(GRID, GRID, -1)[::STRIDE, ::STRIDE]  # the outputs f_k, min to max
        lo, hi = a.min(axis=(0, 1)), a.max(axis=(0, 1))
        maps.append(to_byte((a - lo) / np.maximum(hi - lo, 1e-12)).transpose(2, 0, 1))
        out["neurons"] = b64(np.concatenate(maps))
        out["layer_sizes"] = [x.shape[1] for x in trace.x]
        if self.focus is not None:
            layer, unit = self.focus
            if layer < len(trace.x) and unit < trace.x[layer].shape[1]:
                a = trace.x[layer][:, unit]
                out["focus"] = b64(to_byte(0.5 + 0.5 * a / max(np.abs(a).max(), 1e-12)))
        return out

    def _output_heat(self, f: np.ndarray) -> dict:
        p = self.prob
        if p.task == "regression":
            lo, hi = self.y_range
            yhat = p.pre.decode(f).reshape(len(f), -1)[:, 0]
            return {"heat": b64(to_byte((yhat - lo) / (hi - lo)))}
        if f.shape[1] == 2:
            heat = 0.5 + 0.5 * (f[:, 1] - f[:, 0])
        else:
            heat = f.max(axis=1)
        return {"heat": b64(to_byte(heat)), "heat_class": b64(f.argmax(axis=1))}

    def _views(self, deltas: list[float]) -> dict:
        s, p = self.settings, self.prob
        sat = views.saturation_fractions(self.net, p.X)
        due = not self.playing or self.frames - self.slow["at"] >= SLOW_EVERY
        if due and np.all(np.isfinite(self.net.theta)):
            self.slow["sharpness"] = _finite(views.sharpness(self.net, p.X, p.Y, self.loss))
            K = views.ntk(self.net, self.probe)
            self.slow["ntk"] = _finite(views.relative_change(K, self.K0))
            self.slow["at"] = self.frames
        return {
            "delta": [_finite(d) for d in deltas],
            "saturation": sat,
            "sharpness": self.slow["sharpness"],
            "two_over_eta": 2.0 / s["lr"],
            "ntk": self.slow["ntk"],
            "fresh": bool(due),
        }

    # --- the data and the end ------------------------------------------------------------------
    def data_message(self) -> dict:
        """The points (raw drawn coordinates), their labels, the plane's extent, the names."""
        p = self.prob
        return {
            "type": "data",
            "task": p.task,
            "classes": None if p.classes is None else [str(c) for c in p.classes],
            "inputs": p.inputs,
            "draw": p.draw,
            "extent": self.extent,
            "grid": GRID,
            "stride": STRIDE,
            "train": self._points(p.D, p.train),
            "test": self._points(p.Dt, p.test),
            "settings": self.settings,
        }

    def _points(self, D: np.ndarray, ds) -> dict:
        if self.prob.task == "classification":
            label = ds.y.tolist()
        else:
            lo, hi = self.y_range
            y = ds.y.reshape(len(ds.y), -1)[:, 0]
            label = np.round(np.clip((y - lo) / (hi - lo), 0, 1), 3).tolist()
        return {"x": np.round(D.ravel(), 4).tolist(), "label": label}

    def close(self) -> None:
        """Drop every array (a closed tab frees its memory)."""
        self.playing = False
        for k in ("net", "prob", "Xg", "probe", "K0", "fit_state", "opt", "csv"):
            setattr(self, k, None)


def _finite(v) -> float | None:
    """JSON has no NaN or inf: None instead."""
    v = float(v) if v is not None else None
    return v if v is not None and np.isfinite(v) else None
