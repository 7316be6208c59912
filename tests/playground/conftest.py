"""The app under Starlette's TestClient."""

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from ffnn.playground.server import create_app  # noqa: E402


@pytest.fixture
def app():
    return create_app(hosts=("testserver",), fps=200.0)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c
