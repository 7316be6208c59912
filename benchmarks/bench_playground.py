"""The playground's refresh rate: frames per second of 2-8-8-2 on 500 points (issue 12: ≥ 10).

    python benchmarks/bench_playground.py [--seconds 5] [--no-browser] [--threads 1]

Three measurements, each printed in frames per second:

* compute      ``Session.advance()`` in this process: one epoch of ffnn.fit (250 training points,
               batch 10, Adam), the output heatmap (48 × 48 grid), every unit's heatmap (24 × 24),
               losses, accuracy and the notes' views (sharpness and NTK every 5th frame): the
               ceiling of the stream, 1 / (time per frame)
* websocket    the real ``ffnn playground`` server (a subprocess, uvicorn on 127.0.0.1) streaming
               to a WebSocket client that acknowledges each frame as the page does; the server
               caps a session at 30 frames/s by design, so this reads at most 30
* browser      Debian's chromium (Playwright) on the page: frames drawn per second (heatmaps,
               network, curves), counted by the page itself; skipped without chromium

The set-up is the default: spirals, n = 500, train : test 50 : 50, 2-8-8-2 tanh, softmax and
cross-entropy, one epoch per frame.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time


def _args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each measurement")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (the server uses 1)")
    ap.add_argument("--no-browser", action="store_true")
    return ap.parse_args()


def compute_fps(seconds: float) -> tuple[float, int]:
    from ffnn.playground.session import Session

    s = Session()
    s.playing = True
    s.advance()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        frame = s.advance()
        n += 1
    return n / (time.perf_counter() - t0), len(json.dumps(frame))


def start_server() -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "ffnn", "playground", "--no-browser", "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    return proc, proc.stdout.readline().split()[2]


def websocket_fps(url: str, seconds: float) -> float:
    from websockets.sync.client import connect

    origin = url.rstrip("/")
    with connect(url.replace("http", "ws") + "ws", origin=origin) as ws:
        while json.loads(ws.recv())["type"] != "frame":
            pass
        ws.send(json.dumps({"type": "play"}))
        n, t0 = -1, None
        while t0 is None or time.perf_counter() - t0 < seconds:
            m = json.loads(ws.recv())
            if m["type"] != "frame":
                continue
            ws.send(json.dumps({"type": "ack"}))
            n += 1
            if t0 is None:
                t0 = time.perf_counter()  # from the first streamed frame on
        return n / (time.perf_counter() - t0)


def browser_fps(url: str, seconds: float) -> float | None:
    chromium = os.environ.get("FFNN_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        b = p.chromium.launch(executable_path=chromium, args=args)
        page = b.new_page(viewport={"width": 1400, "height": 940}, bypass_csp=True)
        page.goto(url)
        page.wait_for_function("window.__pg && window.__pg.draws > 0")
        page.click("#play")
        page.wait_for_timeout(1000)  # warm up
        d0, t0 = page.evaluate("window.__pg.draws"), time.perf_counter()
        page.wait_for_timeout(int(1000 * seconds))
        d1, t1 = page.evaluate("window.__pg.draws"), time.perf_counter()
        b.close()
    return (d1 - d0) / (t1 - t0)


def main() -> None:
    a = _args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(a.threads))
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, {a.seconds:g} s each")
    fps, size = compute_fps(a.seconds)
    print(f"compute    {fps:7.1f} frames/s  (Session.advance; a frame is {size / 1e3:.0f} kB JSON)")
    proc, url = start_server()
    try:
        print(f"websocket  {websocket_fps(url, a.seconds):7.1f} frames/s  ({url}, capped at 30)")
        if not a.no_browser:
            b = browser_fps(url, a.seconds)
            print("browser    " + ("skipped (no chromium)" if b is None else f"{b:7.1f} frames/s"))
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
