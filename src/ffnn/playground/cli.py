"""``ffnn playground``: serve the playground on 127.0.0.1 and open it in the browser."""

from __future__ import annotations

import argparse

from ffnn.errors import FFNNError

__all__ = ["add_parser", "run"]


def _port(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"a port lies in 0..65535 (0: any free one), got {v}")
    return v


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``playground`` sub-command to the command line's sub-parsers."""
    p = subparsers.add_parser(
        "playground",
        help="train networks in the browser, live (a local web server)",
        description="Start the playground: a local web server (127.0.0.1 unless --host says "
        "otherwise) whose page trains ffnn networks on 2-D data sets or your CSV and draws "
        "them as they learn. Needs the playground extra: pip install 'ffnn[playground]'.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0: any free)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.set_defaults(func=run)
    return p


def _imports():
    try:
        import uvicorn

        from ffnn.playground.server import create_app
    except ImportError as e:
        raise FFNNError(
            f"the playground needs Starlette and uvicorn ({e.name} is missing); install them "
            "with: pip install 'ffnn[playground]'"
        ) from None
    return uvicorn, create_app


def run(args) -> int:
    """Serve until Ctrl-C; prints the URL and (unless --no-browser) opens it."""
    import socket
    import warnings
    import webbrowser

    from threadpoolctl import threadpool_limits

    uvicorn, create_app = _imports()
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
        sock.listen(128)  # connections queue from now on, before uvicorn has started
    except OSError as e:
        raise FFNNError(f"cannot serve on {args.host}:{args.port}: {e.strerror}") from None
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    hosts = ("127.0.0.1", "localhost", args.host)
    url = f"http://{host}:{port}/"
    warnings.filterwarnings("ignore", message="training diverged")  # the page says it
    config = uvicorn.Config(create_app(hosts=hosts), log_level="warning", ws_max_size=2**24)
    server = uvicorn.Server(config)
    print(f"ffnn playground: {url}  (Ctrl-C to stop)", flush=True)
    if not args.no_browser:
        webbrowser.open(url)
    with threadpool_limits(limits=1, user_api="blas"):  # tiny products: one thread each
        server.run(sockets=[sock])
    return 0
