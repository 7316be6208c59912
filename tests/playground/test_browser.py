"""The page in a real browser: Debian's Chromium driven by Playwright, against the real
``ffnn playground`` command (uvicorn on 127.0.0.1). Screenshots go to /tmp/playground-shots/.

Chromium is found as ``chromium`` on PATH (``.ci/run`` installs Debian's package when it is
missing) or at $FFNN_CHROMIUM; without it these tests are skipped, saying so.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

playwright = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

import ffnn  # noqa: E402

SHOTS = Path("/tmp/playground-shots")
CHROMIUM = os.environ.get("FFNN_CHROMIUM") or shutil.which("chromium")
if not CHROMIUM:
    pytest.skip(
        "no chromium on PATH (apt-get install -y chromium; .ci/run does it)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def url():
    """``ffnn playground --no-browser --port 0`` in a subprocess; the URL it prints."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "ffnn", "playground", "--no-browser", "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    assert line.startswith("ffnn playground: http://127.0.0.1:"), line
    yield line.split()[2]
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, url):
    SHOTS.mkdir(exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1400, "height": 940}, bypass_csp=True)
    pg = ctx.new_page()
    errors: list = []
    pg.on("pageerror", lambda e: errors.append(e))
    pg.goto_playground = lambda query="": _open(pg, url + query)
    yield pg
    ctx.close()
    assert not errors, errors


def _open(pg, address):
    pg.goto(address)
    pg.wait_for_function("window.__pg && window.__pg.draws > 0 && window.__pg.data")


def _train_until(pg, js_condition: str, timeout: float = 40_000):
    pg.click("#play")
    pg.wait_for_function(js_condition, timeout=timeout)


def test_spirals_train_past_90_percent_and_every_view_draws(page):
    page.goto_playground("?speed=4")
    page.click("#set-moons")
    page.wait_for_function("window.__pg.data.settings.data === 'moons'")
    page.click("#set-spirals")
    page.wait_for_function("window.__pg.data.settings.data === 'spirals'")
    _train_until(page, "window.__pg.frame.test_accuracy > 0.9")
    page.wait_for_timeout(1500)
    page.click("#play")  # pause
    page.wait_for_function("!window.__pg.playing")
    page.screenshot(path=str(SHOTS / "training-spirals.png"))
    assert int(page.inner_text("#epoch")) >= 20
    assert float(page.inner_text("#metric")) > 0.9
    for view in ("delta", "saturation", "sharpness", "ntk"):
        page.select_option("#view", view)
        page.wait_for_function(
            f"window.__pg.data.settings.view === '{view}' || "
            f"new URLSearchParams(location.search).get('view') === '{view}'"
        )
        page.wait_for_timeout(200)
        page.locator("#out-col").screenshot(path=str(SHOTS / f"view-{view}.png"))
        assert page.inner_text("#view-legend").strip()
    assert "view=ntk" in page.url and "speed=4" in page.url


def test_a_units_view_and_the_setup_in_the_url(page):
    page.goto_playground("?data=xor&hidden=4,3&activations=relu,tanh&features=x1,x2,x1*x2")
    # the server greets every tab with its default problem, then answers the URL's settings
    page.wait_for_function("window.__pg.data.settings.data === 'xor'")
    s = page.evaluate("window.__pg.data.settings")
    assert s["data"] == "xor" and s["hidden"] == [4, 3] and s["activations"] == ["relu", "tanh"]
    assert page.is_checked("input[data-feature='x1*x2']")
    page.click("#step")
    page.wait_for_function("window.__pg.frame.epoch === 1")
    u = page.evaluate("window.__pg.layout[1][2]")  # unit 3 of hidden layer 1
    box = page.locator("#net").bounding_box()
    scale = box["width"] / page.evaluate("document.getElementById('net').width")
    page.mouse.click(box["x"] + (u["x"] + u["s"] / 2) * scale, box["y"] + (u["y"] + 5) * scale)
    page.wait_for_function("window.__pg.frame.focus !== undefined")
    assert "unit 3 of hidden layer 1" in page.inner_text("#focus-label")
    page.screenshot(path=str(SHOTS / "neuron-view.png"))


def test_a_csv_upload_and_a_bad_one(page):
    rng = np.random.default_rng(1)
    X = rng.uniform(-2, 2, (400, 3))
    label = np.where(np.hypot(X[:, 0], X[:, 2]) < 1.3, "in", "out")  # a disc in (p, r)
    rows = "".join(f"{a:.3f},{b:.3f},{c:.3f},{t}\n" for (a, b, c), t in zip(X, label, strict=True))
    good = ("p,q,r,label\n" + rows).encode()
    page.goto_playground()
    page.set_input_files("#upload", {"name": "mine.csv", "mimeType": "text/csv", "buffer": good})
    page.wait_for_function("window.__pg.data.settings.data === 'csv'")
    assert page.evaluate("window.__pg.data.inputs") == ["p", "q", "r"]
    assert page.is_visible("#csv-cols")
    page.select_option("#draw-y", "r")
    page.wait_for_function("window.__pg.data.draw[1] === 'r'")
    _train_until(page, "window.__pg.frame.test_accuracy > 0.85")
    page.screenshot(path=str(SHOTS / "csv-upload.png"))
    bad = b"p,q,label\n1,2,a\n3,,b\n4,5,a\n"
    page.set_input_files("#upload", {"name": "bad.csv", "mimeType": "text/csv", "buffer": bad})
    page.wait_for_selector("#upload-msg:not([hidden])")
    assert "missing" in page.inner_text("#upload-msg")
    page.screenshot(path=str(SHOTS / "csv-bad-upload.png"))
    assert page.evaluate("window.__pg.data.settings.data") == "csv"  # the good one stays
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pg.playing")  # and it is still training


def test_a_setting_out_of_range_is_refused_with_the_reason(page):
    page.goto_playground()
    page.fill("#lr", "100")
    page.press("#lr", "Enter")
    page.wait_for_selector("#msg:not([hidden])")
    assert "out of range" in page.inner_text("#msg")
    assert page.input_value("#lr") == "0.03"  # the control shows the accepted value again


def test_export_the_model_and_load_it(page, tmp_path):
    from ffnn.cli import main

    page.goto_playground("?data=moons&speed=5")
    _train_until(page, "window.__pg.frame.epoch >= 20")
    page.click("#play")
    files = {}
    for what in ("model", "data", "snippet"):
        with page.expect_download() as d:
            page.click(f"#export-{what}")
        files[what] = tmp_path / d.value.suggested_filename
        d.value.save_as(files[what])
    net, meta = ffnn.load_model(files["model"])
    assert net.widths == [2, 8, 8, 2] and meta["training"]["epochs_run"] >= 20
    assert (
        main(["predict", str(files["model"]), str(files["data"]), "-o", str(tmp_path / "p.csv")])
        == 0
    )
    assert "ffnn.fit(" in files["snippet"].read_text()


def test_the_page_runs_under_its_own_content_security_policy(browser, url):
    """Without Playwright's CSP bypass: the page's modules and its WebSocket are all 'self'."""
    import time

    ctx = browser.new_context()
    pg = ctx.new_page()
    problems = []
    pg.on("console", lambda m: m.type == "error" and problems.append(m.text))
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.goto(url)
    deadline = time.monotonic() + 20
    while not pg.evaluate("window.__pg ? window.__pg.draws : 0") and time.monotonic() < deadline:
        time.sleep(0.1)
    pg.click("#step")
    while pg.evaluate("window.__pg.frame.epoch") < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pg.evaluate("window.__pg.frame.epoch") == 1
    ctx.close()
    assert not problems, problems
