"""The playground's ASGI app: the page, its static assets, and one WebSocket per browser tab.

Each WebSocket is a :class:`~ffnn.playground.session.Session` with its own worker thread (a
one-thread executor): every computation runs there, the event loop only moves messages. The
page acknowledges each frame it has drawn; the server keeps at most ``WINDOW`` frames in flight
and at most ``fps`` frames a second, so a slow page slows the stream instead of queueing it.
A closed tab ends its receive loop: its training stops and its session is dropped.

Safety: the Host header must name an allowed host (DNS rebinding), a WebSocket's Origin must be
this server's own; every message is checked and a bad one is answered with an error; nothing
is written to disk (uploads stay in memory, exports are downloads).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from ffnn.errors import FFNNError
from ffnn.playground import export
from ffnn.playground.data import MAX_UPLOAD_BYTES
from ffnn.playground.session import Session

__all__ = ["create_app", "WINDOW"]

log = logging.getLogger("ffnn.playground")
WINDOW = 2  # frames sent but not yet acknowledged by the page
MAX_MESSAGE = 4 * MAX_UPLOAD_BYTES  # a message's text (an upload travels base64-encoded)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def _static_dir():
    return resources.files("ffnn.playground") / "static"


def create_app(*, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"), fps: float = 30.0):
    """The Starlette app. ``hosts``: host names the page may be reached by; ``fps``: the most
    frames per second one session streams while it plays."""
    static = _static_dir()
    index = (static / "index.html").read_text(encoding="utf-8")

    async def page(request):
        return HTMLResponse(index, headers={"Content-Security-Policy": CSP})

    async def socket(ws: WebSocket):
        if not _same_origin(ws):
            await ws.close(code=1008)  # policy violation: another site's page
            return
        await ws.accept()
        await _serve(ws, app, fps)

    app = Starlette(
        routes=[
            Route("/", page),
            WebSocketRoute("/ws", socket),
            Mount("/static", StaticFiles(directory=str(static)), name="static"),
        ],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))],
    )
    app.state.sessions = {}
    return app


def _same_origin(ws: WebSocket) -> bool:
    """The Origin header names this very server (scheme http(s), the Host header's host:port)."""
    origin, host = ws.headers.get("origin"), ws.headers.get("host")
    if not origin or not host:
        return False
    u = urlsplit(origin)
    return u.scheme in ("http", "https") and u.netloc == host


async def _serve(ws: WebSocket, app, fps: float) -> None:
    """One tab's life: a receiver task fills the inbox; this loop trains, answers, streams."""
    loop = asyncio.get_running_loop()
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ffnn-session")
    inbox: asyncio.Queue = asyncio.Queue()
    receiver = asyncio.create_task(_receive(ws, inbox))
    state = {"in_flight": 0, "last": 0.0}
    session = getter = None
    try:
        session = await loop.run_in_executor(worker, Session)
        app.state.sessions[id(session)] = session
        await _send_all(ws, await loop.run_in_executor(worker, session.reset))
        while True:
            getter = getter or asyncio.ensure_future(inbox.get())
            if session.playing and state["in_flight"] < WINDOW:
                wait = max(0.0, state["last"] + 1.0 / fps - loop.time())
                done, _ = await asyncio.wait({getter}, timeout=wait)
                if not done:  # no message came in time: the next frame
                    state["last"] = loop.time()
                    await _stream(ws, loop, worker, session, state)
                    continue
            msg, getter = await getter, None
            if not await _handle(ws, session, worker, msg, state):
                break
    except (WebSocketDisconnect, RuntimeError):  # the tab went away mid-send
        pass
    finally:
        receiver.cancel()
        if getter is not None:
            getter.cancel()
        if session is not None:
            app.state.sessions.pop(id(session), None)
            session.playing = False
            worker.submit(session.close)
        worker.shutdown(wait=False, cancel_futures=False)


async def _stream(ws: WebSocket, loop, worker, session: Session, state: dict) -> None:
    """Train one frame's epochs on the worker and send the frame; a failure pauses the run."""
    try:
        frame = await loop.run_in_executor(worker, session.advance)
    except Exception as e:
        log.exception("playground: training failed")
        session.playing = False
        error = {"type": "error", "where": "play", "message": f"training stopped: {e}"}
        await _send_all(ws, [error])
        return
    await ws.send_text(json.dumps(frame, allow_nan=False))
    state["in_flight"] += 1


async def _receive(ws: WebSocket, inbox: asyncio.Queue) -> None:
    """Put every message (text, or an error for what is not text) in the inbox; None at the
    end."""
    try:
        while True:
            m = await ws.receive()
            if m["type"] == "websocket.disconnect":
                break
            text = m.get("text")
            if text is None:
                await inbox.put({"type": "_bad", "why": "send JSON text, not binary data"})
            elif len(text) > MAX_MESSAGE:
                await inbox.put({"type": "_bad", "why": "message too large"})
            else:
                await inbox.put(text)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        await inbox.put(None)


async def _send_all(ws: WebSocket, messages: list[dict]) -> None:
    for m in messages:
        await ws.send_text(json.dumps(m, allow_nan=False))


async def _handle(ws, session: Session, worker, raw, state: dict) -> bool:
    """Answer one message; False when the tab has gone."""
    if raw is None:
        return False
    try:
        msg = _parse(raw)
        if msg["type"] == "ack":
            state["in_flight"] = max(0, state["in_flight"] - 1)
            return True
        loop = asyncio.get_running_loop()
        replies = await loop.run_in_executor(worker, _dispatch, session, msg)
    except FFNNError as e:
        replies = [{"type": "error", "where": _where(raw), "message": str(e)}]
    except Exception as e:  # never let a message end the session
        log.exception("playground: message failed")
        replies = [{"type": "error", "where": _where(raw), "message": f"internal error: {e!r}"}]
    await _send_all(ws, replies)
    return True


def _parse(raw) -> dict:
    if isinstance(raw, dict):  # what _receive says about a message it could not take
        raise FFNNError(f"malformed message: {raw['why']}")
    try:
        msg = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise FFNNError("malformed message: not JSON") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise FFNNError('malformed message: send a JSON object with a "type"')
    return msg


def _where(raw) -> str:
    with contextlib.suppress(Exception):
        t = json.loads(raw).get("type")
        if isinstance(t, str):
            return t[:40]
    return "message"


def _dispatch(session: Session, msg: dict) -> list[dict]:
    """Run one message on the session's worker thread; the replies to send."""
    kind = msg["type"]
    if kind == "play":
        session.playing, session.message = True, ""
        return [{"type": "status", "playing": True}]
    if kind == "pause":
        session.playing = False
        return [{"type": "status", "playing": False}]
    if kind == "step":
        session.playing = False
        return [session.advance(1)]
    if kind == "reset":
        session.playing = False
        return session.reset()
    if kind in ("settings", "upload"):
        if kind == "settings":
            replies = session.apply(msg.get("settings"))
        else:
            replies = session.upload(_upload_bytes(msg), msg.get("name", "upload.csv"))
        if any(r["type"] == "data" for r in replies):  # a new problem: paused at epoch 0
            session.playing = False
        return replies
    if kind == "focus":
        session.focus = _focus(msg)
        return [session.frame()]
    if kind == "export":
        return [export.export(session, msg.get("what"))]
    raise FFNNError(
        f"unknown message type {kind!r}; the page sends play, pause, step, reset, settings, "
        "upload, focus, export, ack"
    )


def _upload_bytes(msg: dict) -> bytes:
    import base64
    import binascii

    data = msg.get("data")
    if not isinstance(data, str):
        raise FFNNError('malformed upload: "data" must be the file, base64-encoded')
    if len(data) > 4 * MAX_UPLOAD_BYTES // 3 + 8:
        raise FFNNError(
            f"the file is too large; the playground takes up to {MAX_UPLOAD_BYTES / 1e6:.0f} MB"
        )
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise FFNNError("malformed upload: the data is not base64") from None


def _focus(msg: dict) -> tuple[int, int] | None:
    layer, unit = msg.get("layer"), msg.get("unit")
    if layer is None:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (layer, unit)):
        raise FFNNError('malformed focus: "layer" and "unit" are whole numbers >= 0, or null')
    return layer, unit
