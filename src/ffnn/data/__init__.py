"""Data: built-in data sets, the user's files, validation, splitting and preprocessing.

>>> from ffnn.data import load_dataset, train_test_split, Preprocessor
>>> ds = load_dataset("digits")                  # Dataset(X: (1797, 64), y: (1797,), ...)
>>> train, test = train_test_split(ds, 0.2, rng=0)   # stratified by class
>>> pre = Preprocessor().fit(train)              # μ, s from the training set only
>>> X = pre.transform_X(train.X); y = pre.encode_dataset(train)
"""

from ffnn.data.builtin import DATASETS, DatasetInfo, cache_dir, load_data, load_dataset
from ffnn.data.dataset import (
    TASKS,
    Dataset,
    encode_labels,
    infer_task,
    train_test_split,
    validate_X,
    validate_y,
)
from ffnn.data.files import Table, load_file, read_table
from ffnn.data.preprocess import Preprocessor
from ffnn.data.synthetic import circles, moons, piecewise, piecewise_f, sine, spirals, xor

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "Dataset",
    "TASKS",
    "Preprocessor",
    "Table",
    "cache_dir",
    "circles",
    "encode_labels",
    "infer_task",
    "load_data",
    "load_dataset",
    "load_file",
    "moons",
    "piecewise",
    "piecewise_f",
    "read_table",
    "sine",
    "spirals",
    "train_test_split",
    "validate_X",
    "validate_y",
    "xor",
]
