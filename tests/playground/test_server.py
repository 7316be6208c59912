"""The ASGI app under Starlette's TestClient: page, assets, WebSocket sessions and their safety."""

import base64
import json
import threading
import time

import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect

import ffnn

ORIGIN = {"origin": "http://testserver"}


def recv(ws) -> dict:
    return json.loads(ws.receive_text())


def recv_until(ws, kind: str, limit: int = 50) -> dict:
    """Messages until one of type ``kind`` (acknowledging frames on the way)."""
    for _ in range(limit):
        m = recv(ws)
        if m["type"] == kind:
            return m
        if m["type"] == "frame" and m.get("playing"):
            ws.send_text(json.dumps({"type": "ack"}))
    raise AssertionError(f"no {kind!r} message in {limit}")


def opened(ws) -> tuple[dict, dict]:
    """The data and first frame every new session sends."""
    return recv_until(ws, "data"), recv_until(ws, "frame")


def send(ws, **msg) -> None:
    ws.send_text(json.dumps(msg))


def test_page_and_assets_come_from_the_package(client):
    r = client.get("/")
    assert r.status_code == 200 and "ffnn playground" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert "http" not in r.text.replace("http-equiv", "")  # nothing fetched from elsewhere
    for name in ("main.js", "state.js", "draw.js", "controls.js", "style.css"):
        a = client.get(f"/static/{name}")
        assert a.status_code == 200 and len(a.text) > 100
        assert "https://" not in a.text and "http://" not in a.text


def test_another_host_header_is_refused(app):
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://evil.example") as c:
        assert c.get("/").status_code == 400


@pytest.mark.parametrize(
    "headers", [{}, {"origin": "http://evil.example"}, {"origin": "http://testserver:9"}]
)
def test_websocket_from_another_origin_is_refused(client, headers):
    with pytest.raises(WebSocketDisconnect) as e:
        with client.websocket_connect("/ws", headers=headers) as ws:
            ws.receive_text()
    assert e.value.code == 1008


def test_a_session_starts_with_the_data_and_a_frame(client):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        data, frame = opened(ws)
    assert data["task"] == "classification" and data["draw"] == ["x1", "x2"]
    assert len(data["train"]["label"]) + len(data["test"]["label"]) == 500
    assert frame["epoch"] == 0 and frame["layer_sizes"] == [2, 8, 8]
    g = data["grid"]
    assert len(base64.b64decode(frame["heat"])) == g * g
    n_maps = sum(frame["layer_sizes"]) + 2  # inputs, hidden units, the two outputs
    assert len(base64.b64decode(frame["neurons"])) == n_maps * (g // data["stride"]) ** 2
    assert [np.shape(W) for W in frame["weights"]] == [(8, 2), (8, 8), (2, 8)]
    assert set(frame["views"]) >= {"delta", "saturation", "sharpness", "two_over_eta", "ntk"}


@pytest.mark.parametrize(
    "text, says",
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"type": "fly"}', "unknown message type"),
        ('{"type": "settings", "settings": {"lr": 1e9}}', "'lr' = 1000000000.0 is out of range"),
        ('{"type": "settings", "settings": {"hidden": [8, 99]}}', "width 99 is out of range"),
        ('{"type": "settings", "settings": {"bogus": 1}}', "unknown settings"),
        ('{"type": "settings", "settings": "x"}', "JSON object"),
        ('{"type": "focus", "layer": "a", "unit": 1}', "malformed focus"),
        ('{"type": "upload", "data": 3}', "malformed upload"),
        ('{"type": "upload", "data": "@@@"}', "not base64"),
        ('{"type": "export", "what": "secrets"}', "unknown export"),
    ],
)
def test_a_bad_message_gets_an_error_and_the_session_goes_on(client, text, says):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        opened(ws)
        ws.send_text(text)
        err = recv(ws)
        assert err["type"] == "error" and says in err["message"], err
        send(ws, type="step")  # still alive
        assert recv_until(ws, "frame")["epoch"] == 1


def test_binary_messages_are_answered_with_an_error(client):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        opened(ws)
        ws.send_bytes(b"\x00\x01")
        assert "not binary" in recv(ws)["message"]


def test_play_streams_frames_that_train_and_pause_stops(client):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        opened(ws)
        send(ws, type="play")
        assert recv(ws) == {"type": "status", "playing": True}
        epochs = []
        for _ in range(12):
            f = recv_until(ws, "frame")
            epochs.append(f["epoch"])
            send(ws, type="ack")
        send(ws, type="pause")
        recv_until(ws, "status")
    assert epochs == sorted(epochs) and epochs[-1] >= 10


def test_frames_wait_for_the_page_to_acknowledge(client):
    """Without acks, at most WINDOW frames are in flight; then the server waits."""
    from ffnn.playground.server import WINDOW

    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        opened(ws)
        send(ws, type="play")
        recv(ws)
        got = [recv(ws) for _ in range(WINDOW)]
        send(ws, type="step")  # answered at once: the loop is not busy streaming
        step = recv(ws)
    assert [g["type"] for g in got] == ["frame"] * WINDOW
    assert step["type"] == "frame" and step["playing"] is False


def test_live_settings_keep_training_other_settings_reset(client):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        data, _ = opened(ws)
        s = data["settings"]
        send(ws, type="step")
        assert recv(ws)["epoch"] == 1
        send(ws, type="settings", settings={**s, "lr": 0.01})
        assert recv(ws) == {"type": "accepted", "settings": {**s, "lr": 0.01}}
        assert recv(ws)["epoch"] == 1  # the run goes on
        send(ws, type="settings", settings={**s, "data": "moons", "hidden": [3]})
        err = recv(ws)  # hidden [3] needs one activation: refused, nothing changed
        assert err["type"] == "error" and "one name per hidden layer" in err["message"]
        send(
            ws,
            type="settings",
            settings={**s, "data": "moons", "hidden": [3], "activations": ["relu"]},
        )
        data2 = recv(ws)
        frame = recv(ws)
    assert data2["type"] == "data" and data2["settings"]["data"] == "moons"
    assert frame["epoch"] == 0 and frame["layer_sizes"] == [2, 3]


def _upload(ws, text: bytes, name="mine.csv"):
    send(ws, type="upload", name=name, data=base64.b64encode(text).decode())


@pytest.mark.parametrize(
    "body, says",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a text table"),
        (b"just one line", "not a table"),
        (b"a,b,label\n1,2,x\n3,4\n", "line 3 has 2 cells"),
        (b"a,b,label\n1,nan,x\n3,4,y\n5,6,x\n", "NaN"),
        (b"a,b,label\n1,red,x\n3,4,y\n5,6,x\n", "holds text"),
        (b"a,b,label\n1,2,x\n3,4,x\n5,6,x\n", "only one class"),
        (b"a,label\n1,x\n3,y\n5,x\n", "two features"),
        (b"a,b,label\n" + b"1,2,x\n" * 400_000, "too large"),
    ],
)
def test_bad_uploads_get_a_clear_message(client, body, says):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        opened(ws)
        _upload(ws, body)
        err = recv(ws)
        assert err["type"] == "error" and err["where"] == "upload", err
        assert says in err["message"], err["message"]
        send(ws, type="step")
        assert recv(ws)["type"] == "frame"


def test_a_csv_upload_trains_on_all_features_drawn_through_two(client):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    y = np.where(X[:, 0] + X[:, 2] > 0, "yes", "no")
    rows = [f"{a},{b},{c},{t}\n" for (a, b, c), t in zip(X, y, strict=True)]
    body = "u,v,w,answer\n" + "".join(rows)
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        opened(ws)
        _upload(ws, body.encode())
        cols = recv(ws)
        data = recv(ws)
        frame = recv(ws)
        send(ws, type="settings", settings={**data["settings"], "draw": ["w", "u"]})
        recv(ws), recv(ws)  # data, frame: drawing other features resets
        for _ in range(30):
            send(ws, type="step")
            frame = recv(ws)
    assert cols["columns"] == ["u", "v", "w", "answer"]
    assert data["inputs"] == ["u", "v", "w"] and data["draw"] == ["u", "v"]
    assert data["classes"] == ["no", "yes"] and frame["layer_sizes"][0] == 3
    assert frame["test_accuracy"] > 0.85


def test_export_of_the_model_loads_and_predicts(client, tmp_path):
    from ffnn.cli import main

    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        opened(ws)
        for _ in range(3):
            send(ws, type="step")
            recv(ws)
        files = {}
        for what in ("model", "data", "snippet"):
            send(ws, type="export", what=what)
            m = recv(ws)
            assert m["type"] == "export" and m["what"] == what
            files[what] = tmp_path / m["filename"]
            files[what].write_bytes(base64.b64decode(m["data"]))
    net, meta = ffnn.load_model(files["model"])
    assert net.widths == [2, 8, 8, 2] and meta["training"]["epochs_run"] == 3
    out = tmp_path / "pred.csv"
    assert main(["predict", str(files["model"]), str(files["data"]), "-o", str(out)]) == 0
    assert out.read_text().splitlines()[0] == "prediction,p_0,p_1"
    assert "ffnn.fit(" in files["snippet"].read_text()


def test_a_closed_tab_frees_its_session(app):
    from starlette.testclient import TestClient

    with TestClient(app) as c:
        for _ in range(2):
            with c.websocket_connect("/ws", headers=ORIGIN) as ws:
                opened(ws)
                send(ws, type="play")
                recv(ws)
                assert len(app.state.sessions) == 1
        with c.websocket_connect("/ws", headers=ORIGIN) as a:
            with c.websocket_connect("/ws", headers=ORIGIN) as b:
                opened(a), opened(b)
                assert len(app.state.sessions) == 2  # one session per tab
        for _ in range(100):
            if not app.state.sessions:
                break
            time.sleep(0.01)
    assert app.state.sessions == {}
    for _ in range(200):  # and each session's worker thread ends
        if not [t for t in threading.enumerate() if t.name.startswith("ffnn-session")]:
            break
        time.sleep(0.01)
    assert not [t for t in threading.enumerate() if t.name.startswith("ffnn-session")]
