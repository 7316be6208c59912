"""Every hostile or careless input of the corpus (tests/hostile/corpus.py) ends in FFNNError or in
a correct result: no traceback, no pickle executed, nothing over the memory limit, no model lost."""

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "hostile_corpus", Path(__file__).with_name("corpus.py")
)
corpus = importlib.util.module_from_spec(_spec)
sys.modules["hostile_corpus"] = corpus  # dataclasses look their module up
_spec.loader.exec_module(corpus)

CASES = corpus.cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.category}/{c.name}" for c in CASES])
def test_case_is_refused_cleanly_or_read_correctly(case, tmp_path):
    assert corpus.run_case(case, tmp_path / "case") == "ok"


def test_corpus_covers_every_category_of_the_issue():
    cats = {c.category for c in CASES}
    assert {"csv-encoding", "npy-npz", "pickle", "model-schema", "model-size", "writes"} <= cats
    assert len(CASES) >= 60
