"""A corpus of hostile and careless inputs, generated on the fly, and the rule each must obey.

Every case makes its file(s) in a fresh folder and runs one library call on them. The call must
either raise FFNNError (``refuse``) or return a result that passes the case's check (``accept``):
never another exception, never a pickle executed, never more memory than the limit (tracemalloc's
peak against ``FFNN_MAX_BYTES``), never a NumPy warning, no model lost or left half-written.

Run ``PYTHONPATH=src python tests/hostile/corpus.py`` for the table of outcomes per category
(tests/hostile/test_corpus.py asserts that every case passes).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LIMIT = 64 * 2**20  # FFNN_MAX_BYTES while the corpus runs
SENTINEL = "PICKLE_RAN"


class _Bomb:
    """Unpickling this creates a folder named SENTINEL next to the file: proof that code ran."""

    def __init__(self, folder: str):
        self.folder = folder

    def __reduce__(self):
        return (os.mkdir, (os.path.join(self.folder, SENTINEL),))


@dataclass
class Case:
    category: str
    name: str
    make: Callable[[Path], Path]
    run: Callable[[Path], object]
    expect: str = "refuse"  # or "accept"
    check: Callable[[object], bool] | None = None


# --- makers ------------------------------------------------------------------------------------
def _text(name: str, text: str, encoding: str = "utf-8"):
    def make(d: Path) -> Path:
        p = d / name
        p.write_bytes(text.encode(encoding))
        return p

    return make


def _bytes(name: str, data: bytes):
    def make(d: Path) -> Path:
        p = d / name
        p.write_bytes(data)
        return p

    return make


def _npy(name: str, array_fn):
    def make(d: Path) -> Path:
        p = d / name
        np.save(p, array_fn(d), allow_pickle=True)
        return p

    return make


def _npz(name: str, arrays_fn, cut: int = 0):
    def make(d: Path) -> Path:
        p = d / name
        _savez(p, arrays_fn(d))
        if cut:
            p.write_bytes(p.read_bytes()[:-cut])
        return p

    return make


def _savez(p: Path, arrays: dict) -> None:
    with zipfile.ZipFile(p, "w") as z:
        for k, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(a), allow_pickle=True)
            z.writestr(f"{k}.npy", buf.getvalue())


def _npy_header_rows(rows: int) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        p = d / "huge.npy"
        header = {"descr": "<f8", "fortran_order": False, "shape": (rows, 3)}
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, header)
        p.write_bytes(buf.getvalue() + b"\0" * 64)
        return p

    return make


def _sparse_csv(d: Path) -> Path:
    p = d / "sparse.csv"
    cols = 2000
    row = ("1" + "," * (cols - 1) + "\n").encode()
    with open(p, "wb") as fh:
        fh.write((",".join(f"c{j}" for j in range(cols - 1)) + ",target\n").encode())
        fh.write(row * 6000)  # 24 MB, 12e6 cells: far beyond LIMIT once parsed
    return p


# --- model files -------------------------------------------------------------------------------
def _net_config(dims=(2, 4, 3)):
    import ffnn

    return ffnn.mlp(list(dims), rng=0).config()


def _safetensors(tensors: dict, ffnn_meta) -> bytes:
    """Raw safetensors bytes; ``tensors``: name -> (dtype, shape, data bytes)."""
    header, blob = {}, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(blob), 0]}
        blob += data
        header[name]["data_offsets"][1] = len(blob)
    if ffnn_meta is not None:
        meta = ffnn_meta if isinstance(ffnn_meta, str) else json.dumps(ffnn_meta)
        header["__metadata__"] = {"ffnn": meta}
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + blob


def _model_bytes(mutate=None, dims=(2, 4, 3), dtype="F32", fill=0.1, meta_text=None):
    config = _net_config(dims)
    tensors = {}
    item = {"F32": 4, "F64": 8, "BF16": 2, "F16": 2}[dtype]
    np_dtype = {"F32": np.float32, "F64": np.float64, "F16": np.float16}.get(dtype, np.uint16)
    for layer, (n_in, n_out) in zip(
        [c for c in config["layers"] if c["kind"] == "dense"],
        zip(dims[:-1], dims[1:], strict=False),
        strict=True,
    ):
        for suffix, shape in ((".W", (n_out, n_in)), (".b", (n_out,))):
            a = np.full(shape, fill, dtype=np_dtype)
            assert a.itemsize == item
            tensors[layer["name"] + suffix] = (dtype, shape, a.tobytes())
    header = {"format": "ffnn.model/1", "network": config, "metadata": {}}
    if mutate is not None:
        header = mutate(header)
    return _safetensors(tensors, meta_text if meta_text is not None else header)


def _set(path: tuple, value):
    def mutate(h):
        node = h
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        return h

    return mutate


def _deep(depth: int) -> str:
    inner = "[" * depth + "]" * depth
    return '{"format": "ffnn.model/1", "network": ' + inner + "}"


def _load_model(p: Path):
    from ffnn.io import load_model

    return load_model(p)


def _load_with_preprocessor(p: Path):
    """What the command line does with a run's model: load it, rebuild its preprocessing."""
    from ffnn.data import Preprocessor

    net, meta = _load_model(p)
    pre = meta.get("preprocessor")
    return net, (Preprocessor.from_dict(pre) if pre is not None else None)


def _trained_meta(classes) -> dict:
    return {
        "preprocessor": {
            "format": "ffnn.preprocessor/1",
            "task": "classification",
            "mean": [0.0, 0.0],
            "std": [1.0, 1.0],
            "feature_names": ["a", "b"],
            "classes": classes,
        }
    }


def _load_file(**kw):
    def run(p: Path):
        from ffnn.data import load_file

        return load_file(p, **kw)

    return run


def _preprocessed(ds):
    """Standardize as training does: x̃ = (x − μ) / s."""
    from ffnn.data import Preprocessor

    pre = Preprocessor().fit(ds)
    return pre.transform_X(ds.X)


def _evaluate_targets(p: Path):
    """What `ffnn evaluate` does with a regression file's targets: encode them for the loss."""
    from ffnn.data import Preprocessor, read_table
    from ffnn.data.dataset import Dataset

    train = Dataset(np.arange(8.0)[:, None], np.arange(8.0), "regression", feature_names=["a"])
    pre = Preprocessor().fit(train)
    t = read_table(p, features=["a"])
    return pre.encode_y(t.y)


def _finite(ds) -> bool:
    return bool(np.isfinite(ds.X).all())


# --- writes ------------------------------------------------------------------------------------
def _umask_write(d: Path) -> Path:
    return d


def _check_umask(d: Path):
    import ffnn
    from ffnn.io import save_model

    old = os.umask(0o022)
    try:
        p = d / "m.safetensors"
        save_model(p, ffnn.mlp([2, 3, 1], rng=0))
        return p.stat().st_mode & 0o777
    finally:
        os.umask(old)


_KILLED_WRITER = """
import os, sys, time
import numpy as np
import ffnn.io as fio, ffnn
real = os.fsync
def slow(fd):
    sys.stdout.write("writing\\n"); sys.stdout.flush(); time.sleep(60)
os.fsync = slow
fio.save_model(sys.argv[1], ffnn.mlp([64, 512, 512, 10], rng=0))
"""


def _killed_writer(d: Path):
    """A writer killed mid-save; then another save to the folder: what is left?"""
    import ffnn
    from ffnn.io import load_model, save_model

    target = d / "m.safetensors"
    save_model(target, ffnn.mlp([2, 3, 1], rng=0))
    before = target.read_bytes()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(target)], stdout=subprocess.PIPE, env=env
    )
    proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    intact = target.read_bytes() == before
    load_model(target)
    save_model(d / "other.safetensors", ffnn.mlp([2, 3, 1], rng=1))
    left = sorted(
        p.name for p in d.iterdir() if p.name not in ("m.safetensors", "other.safetensors")
    )
    return intact, left


def _two_locks(d: Path):
    from ffnn.io import run_lock

    with run_lock(d):
        with run_lock(d):
            return "both held"


def _nan_model(fill):
    return _bytes("m.safetensors", _model_bytes(fill=fill))


def _pickle_npy(d: Path) -> Path:
    p = d / "bomb.npy"
    arr = np.empty(2, dtype=object)
    arr[0] = _Bomb(str(d))
    np.save(p, arr, allow_pickle=True)
    return p


def _pickle_npz(d: Path) -> Path:
    p = d / "bomb.npz"
    arr = np.empty(2, dtype=object)
    arr[0] = _Bomb(str(d))
    _savez(p, {"X": arr, "y": np.zeros(2)})
    return p


def _pickle_raw(d: Path) -> Path:
    p = d / "bomb.safetensors"
    p.write_bytes(pickle.dumps(_Bomb(str(d))))
    return p


# --- the corpus --------------------------------------------------------------------------------
def cases() -> list[Case]:
    ok = "a,b,target\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n"
    lf = _load_file()
    C = Case
    data = [
        C("csv-encoding", "binary", _bytes("bin.csv", bytes(range(256)) * 8), lf),
        C("csv-encoding", "utf16-bom", _text("u16.csv", ok, "utf-16"), lf, "accept"),
        C("csv-encoding", "utf16-le-nobom", _text("u16.csv", ok, "utf-16-le"), lf),
        C("csv-encoding", "utf8-bom", _text("bom.csv", "\ufeff" + ok), lf, "accept"),
        C(
            "csv-encoding",
            "latin1-header",
            _text("l1.csv", ok.replace("a,", "é,"), "latin-1"),
            lf,
            "accept",
            lambda ds: ds.feature_names[0] == "é",
        ),
        C("csv-encoding", "utf32-bom", _text("u32.csv", ok, "utf-32"), lf, "accept"),
        C("csv-encoding", "nul-bytes", _text("nul.csv", ok.replace("3,4", "3\0,4")), lf),
        C("csv-shape", "empty", _text("e.csv", ""), lf),
        C("csv-shape", "header-only", _text("h.csv", "a,b,target\n"), lf),
        C(
            "csv-shape",
            "field-over-128kB",
            _text("big.csv", "a,target\n" + "1" * 200_000 + ",1\n"),
            lf,
        ),
        C("csv-shape", "quote-never-closed", _text("q.csv", 'a,target\n"1,2\n3,4\n'), lf),
        C("csv-shape", "ragged", _text("r.csv", "a,b,target\n1,2\n"), lf),
        C("csv-shape", "sparse-huge", _sparse_csv, lf),
        C(
            "csv-values",
            "huge-finite",
            _text("h.csv", "a,target\n1.7e308,1\n-1.7e308,0\n1,1\n2,0\n"),
            lf,
            "accept",
            _finite,
        ),
        C(
            "csv-values",
            "huge-finite-standardized",
            _text("h.csv", "a,target\n1.7e308,1\n-1.7e308,0\n1,1\n2,0\n"),
            lambda p: _preprocessed(_load_file()(p)),
            "accept",
            lambda Z: bool(np.isfinite(Z).all()),
        ),
        C("csv-values", "overflow-1e400", _text("o.csv", "a,target\n1e400,1\n2,0\n3,1\n"), lf),
        C("csv-values", "text-feature", _text("t.csv", "a,target\nx,1\n2,0\n"), lf),
        C(
            "csv-values",
            "bool-columns",
            _text("b.csv", "a,b,target\nTrue,1,0\nFalse,2,1\ntrue,3,0\n"),
            lf,
            "accept",
            lambda ds: ds.X[:, 0].tolist() == [1.0, 0.0, 1.0],
        ),
        C(
            "csv-pandas",
            "index-column",
            _text("i.csv", ",a,target\n0,5,1\n1,6,0\n2,7,1\n3,8,0\n"),
            lf,
            "accept",
            lambda ds: ds.feature_names == ["a"],
        ),
        C(
            "csv-pandas",
            "unnamed-not-index",
            _text("u.csv", ",a,target\n7,5,1\n3,6,0\n2,7,1\n"),
            lf,
        ),
        C("csv-pandas", "unnamed-middle", _text("m.csv", "a,,target\n1,5,1\n2,6,0\n"), lf),
        C(
            "csv-options",
            "sep-pipe",
            _text("p.csv", ok.replace(",", "|")),
            _load_file(sep="|"),
            "accept",
            lambda ds: ds.feature_names == ["a", "b"],
        ),
        C(
            "csv-options",
            "drop-column",
            _text("d.csv", "a,id,target\n1,x,0\n2,y,1\n3,z,0\n"),
            _load_file(drop=("id",)),
            "accept",
            lambda ds: ds.feature_names == ["a"],
        ),
        C("csv-options", "drop-unknown", _text("d.csv", ok), _load_file(drop=("nope",))),
        C(
            "csv-values",
            "nan-target-evaluate",
            _text("e.csv", "a,target\n1,0.5\n2,nan\n3,1.5\n"),
            _evaluate_targets,
        ),
        C(
            "csv-options",
            "nan-target-regression",
            _text("n.csv", "a,target\n1,0.5\n2,nan\n3,1.5\n4,2.5\n"),
            _load_file(task="regression"),
        ),
    ]
    arrays = [
        C(
            "npy-npz",
            "truncated-npz",
            _npz("t.npz", lambda d: {"X": np.ones((50, 3)), "y": np.ones(50)}, 40),
            lf,
        ),
        C(
            "npy-npz",
            "truncated-npy",
            lambda d: _bytes("t.npy", _npy_bytes(np.ones((50, 3))))(d),
            lf,
        ),
        C(
            "npy-npz",
            "object-npy",
            _npy("o.npy", lambda d: np.array([[1, "a"], [2, "b"]], dtype=object)),
            lf,
        ),
        C(
            "npy-npz",
            "object-npz",
            _npz("o.npz", lambda d: {"X": np.array([[1, None]], dtype=object), "y": np.zeros(1)}),
            lf,
        ),
        C("npy-npz", "complex-npy", _npy("c.npy", lambda d: np.ones((4, 3), dtype=complex)), lf),
        C("npy-npz", "string-npy", _npy("s.npy", lambda d: np.array([["a", "b"], ["c", "d"]])), lf),
        C("npy-npz", "header-1e12-rows", _npy_header_rows(10**12), lf),
        C("npy-npz", "3d-npy", _npy("3.npy", lambda d: np.ones((2, 2, 2))), lf),
        C("npy-npz", "random-bytes-npy", _bytes("r.npy", b"\x93NUMPY" + os.urandom(200)), lf),
        C("npy-npz", "random-bytes-npz", _bytes("r.npz", b"PK\x03\x04" + os.urandom(200)), lf),
        C(
            "npy-npz",
            "nan-target-npz",
            _npz("n.npz", lambda d: {"X": np.ones((4, 1)), "y": np.array([0.5, np.nan, 1.5, 2.5])}),
            _load_file(task="regression"),
        ),
        C("pickle", "pickle-npy", _pickle_npy, lf),
        C("pickle", "pickle-npz", _pickle_npz, lf),
        C("pickle", "pickle-as-model", _pickle_raw, _load_model),
    ]
    model = [
        C("model-header", "random-bytes", _bytes("m.safetensors", os.urandom(1024)), _load_model),
        C(
            "model-header",
            "truncated",
            lambda d: _bytes("m.safetensors", _model_bytes()[:-7])(d),
            _load_model,
        ),
        C(
            "model-header",
            "header-len-huge",
            _bytes("m.safetensors", struct.pack("<Q", 2**62) + b"{}"),
            _load_model,
        ),
        C(
            "model-schema",
            "network-is-list",
            _bytes("m.safetensors", _model_bytes(_set(("network",), [1, 2]))),
            _load_model,
        ),
        C(
            "model-schema",
            "layers-is-object",
            _bytes("m.safetensors", _model_bytes(_set(("network", "layers"), {"a": 1}))),
            _load_model,
        ),
        C(
            "model-schema",
            "dtype-bogus",
            _bytes("m.safetensors", _model_bytes(_set(("network", "dtype"), "bogus"))),
            _load_model,
        ),
        C(
            "model-schema",
            "dim-abc",
            _bytes("m.safetensors", _model_bytes(_set(("network", "input", "dim"), "abc"))),
            _load_model,
        ),
        C(
            "model-schema",
            "n_out-negative",
            _bytes("m.safetensors", _model_bytes(_set(("network", "layers", 0, "n_out"), -3))),
            _load_model,
        ),
        C(
            "model-schema",
            "n_out-float",
            _bytes("m.safetensors", _model_bytes(_set(("network", "layers", 0, "n_out"), 4.5))),
            _load_model,
        ),
        C(
            "model-schema",
            "activation-unknown",
            _bytes(
                "m.safetensors", _model_bytes(_set(("network", "layers", 1, "activation"), "nope"))
            ),
            _load_model,
        ),
        C(
            "model-schema",
            "parent-forward-ref",
            _bytes("m.safetensors", _model_bytes(_set(("network", "nodes", 0, "parents"), [5]))),
            _load_model,
        ),
        C(
            "model-schema",
            "init-bogus",
            _bytes("m.safetensors", _model_bytes(_set(("network", "init"), {"nope": 1}))),
            _load_model,
        ),
        C(
            "model-schema",
            "metadata-list",
            _bytes("m.safetensors", _model_bytes(_set(("metadata",), [1]))),
            _load_model,
        ),
        C(
            "model-schema",
            "classes-5",
            _bytes("m.safetensors", _model_bytes(_set(("metadata",), _trained_meta(5)))),
            _load_with_preprocessor,
        ),
        C(
            "model-schema",
            "preprocessor-list",
            _bytes("m.safetensors", _model_bytes(_set(("metadata",), {"preprocessor": [1]}))),
            _load_with_preprocessor,
        ),
        C(
            "model-schema",
            "nesting-1e5",
            _bytes("m.safetensors", _model_bytes(meta_text=_deep(10**5))),
            _load_model,
        ),
        C(
            "model-size",
            "huge-arch-1kB",
            _bytes("m.safetensors", _model_bytes(_set(("network", "layers", 0, "n_out"), 10**7))),
            _load_model,
        ),
        C(
            "model-size",
            "huge-input-1kB",
            _bytes("m.safetensors", _model_bytes(_set(("network", "input", "dim"), 10**12))),
            _load_model,
        ),
        C(
            "model-size",
            "param-count-mismatch",
            _bytes("m.safetensors", _model_bytes(_set(("network", "layers", 2, "n_out"), 5))),
            _load_model,
        ),
        C("model-dtype", "bf16", _bytes("m.safetensors", _model_bytes(dtype="BF16")), _load_model),
        C("model-dtype", "f16", _bytes("m.safetensors", _model_bytes(dtype="F16")), _load_model),
        C("model-values", "nan-weights", _nan_model(np.nan), _load_model),
        C("model-values", "inf-weights", _nan_model(np.inf), _load_model),
        C("model-values", "good-model", _nan_model(0.25), _load_model, "accept"),
    ]
    writes = [
        C("writes", "umask-022", _umask_write, _check_umask, "accept", lambda m: m == 0o644),
        C(
            "writes",
            "killed-writer",
            _umask_write,
            _killed_writer,
            "accept",
            lambda r: r[0] and r[1] == [],
        ),
        C("writes", "two-writers-one-folder", _umask_write, _two_locks),
    ]
    synthetic = [
        C("synthetic", "spirals-n-2e9", _umask_write, lambda d: _synthetic("spirals", 2 * 10**9)),
        C("synthetic", "sine-n-1e10", _umask_write, lambda d: _synthetic("sine", 10**10)),
    ]
    return data + arrays + model + writes + synthetic  # fmt: skip


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()[:-50]


def _synthetic(name: str, n: int):
    from ffnn.data import load_dataset

    return load_dataset(name, n=n)


# --- running -----------------------------------------------------------------------------------
def run_case(case: Case, folder: Path) -> str:
    """'ok' or a short description of the failure."""
    from ffnn.errors import FFNNError

    folder.mkdir(parents=True, exist_ok=True)
    path = case.make(folder)
    os.environ["FFNN_MAX_BYTES"] = str(LIMIT)
    tracemalloc.start()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with np.errstate(all="warn", under="ignore"):
                result = case.run(path)
        outcome = "accepted"
    except FFNNError as e:
        outcome, result, caught = "refused", e, []
    except BaseException as e:  # noqa: BLE001 - the point is to see everything
        if isinstance(e, KeyboardInterrupt):
            raise
        outcome, result, caught = f"traceback ({type(e).__name__})", e, []
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        os.environ.pop("FFNN_MAX_BYTES", None)
    if (folder / SENTINEL).exists():
        return "pickle executed"
    if peak > LIMIT:
        return f"over the limit (asked for {peak / 2**20:.0f} MiB)"
    if outcome.startswith("traceback"):
        return outcome
    numpy_warnings = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if numpy_warnings:
        return f"numpy warning ({numpy_warnings[0].message})"
    if case.expect == "refuse" and outcome == "accepted":
        return "silent garbage (accepted)"
    if case.expect == "accept":
        if outcome == "refused":
            return f"refused ({str(result)[:60]})"
        if case.check is not None and not case.check(result):
            return "silent garbage (wrong result)"
    return "ok"


def table(results: list[tuple[Case, str]]) -> str:
    cats: dict[str, Counter] = {}
    for case, r in results:
        c = cats.setdefault(case.category, Counter())
        c["tried"] += 1
        c["failed"] += r != "ok"
        c[r.split(" (")[0] if r != "ok" else "ok"] += 1
    lines = [f"{'category':<16}{'tried':>6}{'failed':>7}  kinds of failure"]
    for name, c in cats.items():
        kinds = ", ".join(f"{k}: {v}" for k, v in c.items() if k not in ("tried", "failed", "ok"))
        lines.append(f"{name:<16}{c['tried']:>6}{c['failed']:>7}  {kinds}")
    total = sum(c["tried"] for c in cats.values()), sum(c["failed"] for c in cats.values())
    lines.append(f"{'total':<16}{total[0]:>6}{total[1]:>7}")
    return "\n".join(lines)


def main(root: Path) -> int:
    results = []
    for i, case in enumerate(cases()):
        t = time.perf_counter()
        r = run_case(case, root / f"{i:03d}-{case.name}")
        results.append((case, r))
        if r != "ok":
            print(f"  {case.category}/{case.name}: {r} ({time.perf_counter() - t:.1f} s)")
    print(table(results))
    return 0


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(Path(tmp)))
