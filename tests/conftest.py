"""Fixtures for every test."""

import pytest

from ffnn.train import rows


@pytest.fixture(autouse=True)
def _no_lost_core(monkeypatch):
    """Each test starts with no lost core remembered (ffnn.train.rows.lost_recently): a run that
    went on alone in one test, or on a loaded machine, does not keep the next test's runs on
    one thread."""
    monkeypatch.setattr(rows, "_LOST_AT", [None])
