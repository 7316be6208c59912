"""benchmarks/profile_train.py: perf's report sorted into kinds of work, and a run end to end where
Linux perf is installed (what it measures is not checked)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "profile_train.py"

REPORT = """\
# Samples: 38K of event 'cpu-clock'
#
# Overhead  Shared Object                      Symbol
# ........  .................................  ......
#
    73.03%  libscipy_openblas64_-32a4b2a6.so   [.] sgemm_kernel_SKYLAKEX
     4.01%  libscipy_openblas64_-32a4b2a6.so   [.] sgemm_oncopy_SKYLAKEX
     3.53%  libscipy_openblas64_-32a4b2a6.so   [.] sgemm_itcopy_SKYLAKEX
     0.40%  libscipy_openblas64_-32a4b2a6.so   [.] sgemm_small_kernel_b0_nn_SKYLAKEX
     0.95%  libscipy_openblas64_-32a4b2a6.so   [.] blas_thread_server
     2.47%  libc.so.6                          [.] __memset_avx512_unaligned_erms
     1.35%  [JIT] tid 2938                     [.] 0x00007fe4c413eefc
     1.14%  [kernel.kallsyms]                  [k] __schedule
     0.32%  libc.so.6                          [.] __sched_yield
     0.29%  libpython3.11.so.1.0               [.] gc_collect_main
     0.05%  _multiarray_umath.cpython-311-x86_64-linux-gnu.so  [.] PyArray_Take
     0.20%  libm.so.6                          [.] __expf_fma
"""


def _module():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import profile_train
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return profile_train


def test_the_report_is_sorted_into_kinds_of_work():
    got = _module().shares(REPORT)
    want = {
        "products, kernel": 73.43,
        "products, packing": 7.54,
        "products, threads": 0.95,
        "products, C zeroed": 2.47,
        "compiled kernels": 1.35,
        "waiting (OS)": 1.46,
        "Python": 0.34,
        "other: libm.so.6": 0.20,
    }
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert got[k] == pytest.approx(v), k


def test_the_table_names_every_runner_and_kind():
    m = _module()
    text = m.table("wide", {"ffnn": (m.shares(REPORT), 0.83, 11), "limit": ({}, 0.75, 12)})
    assert text.splitlines()[0].split() == ["wide", "ffnn", "limit"]
    for k in m.KINDS[:-1]:
        assert k in text
    assert "other: libm.so.6" not in text  # under 0.5% in every column
    assert "0.830" in text and "0.750" in text


def test_an_unknown_runner_is_refused():
    out = subprocess.run([sys.executable, str(SCRIPT), "--runners", "ffnn,tensorflow"],
                         capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert out.returncode != 0 and "unknown runner 'tensorflow'" in out.stderr


@pytest.mark.skipif(shutil.which("perf") is None, reason="Linux perf is not installed")
def test_a_short_profile_runs_end_to_end():
    cmd = [sys.executable, str(SCRIPT), "--configs", "tiny", "--runners", "ffnn core,limit",
           "--seconds", "0.3", "--n", "512"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if out.returncode != 0 and "Permission" in out.stderr + out.stdout:
        pytest.skip("perf may not sample here (perf_event_paranoid)")
    assert out.returncode == 0, out.stderr
    assert "products, kernel" in out.stdout and "epochs profiled" in out.stdout
