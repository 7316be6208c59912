"""ffnn.display: the HTML a notebook shows for a Network and a History, and the progress bar."""

import warnings

import numpy as np

import ffnn
from ffnn.core import Act, Add, Concat, Dense, Input, Network
from ffnn.display import graph_svg, history_html, in_notebook, network_html, progress_bar
from ffnn.train import History


def test_chain_network_table_has_a_row_per_node_and_no_drawing():
    net = ffnn.mlp([4, 16, 3], "relu", output="softmax", rng=0)
    html = net._repr_html_()
    assert html == network_html(net)
    assert html.count("<tr>") == 1 + len(net.nodes)
    assert "(batch, 16)" in html and f"{net.n_params:,}" in html and "softmax" in html
    assert "<svg" not in html


def test_dag_network_has_inputs_column_and_an_svg_with_a_box_per_node():
    x = Input(3)
    shared = Dense(3)
    h = shared(x)
    a = Add()(h, shared(h))
    out = Dense(2)(Concat()(a, x))
    net = Network(x, out)
    html = network_html(net)
    assert "<svg" in html and html.count("<rect") == len(net.nodes)  # no activations to merge
    assert html.count("marker-end=") == sum(len(p) for p in net._parents)
    assert "(shared)" in html and "inputs" in html and f"[{shared.name}]" in html


def test_dag_drawing_merges_each_activation_into_its_dense_box():
    x = Input(2)
    h = Act("tanh")(Dense(4)(x))
    net = Network(x, Dense(1)(Concat()(h, x)))
    svg = graph_svg(net)
    assert svg.count("<rect") == 4  # input, dense·tanh, concat, dense
    assert "Dense 4 · tanh" in svg
    assert svg.count("marker-end=") == 4


def test_history_html_shows_stop_reason_and_elides_the_middle():
    recs = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 2.0 / e} for e in range(1, 21)]
    h = History(recs, stop_reason="early_stopping", best_epoch=12, message="patience ran out")
    html = h._repr_html_()
    assert html == history_html(h)
    assert "early_stopping" in html and "lowest loss at epoch 12" in html
    assert "patience ran out" in html
    assert html.count("<tr>") == 1 + 3 + 1 + 5  # header, first 3, ellipsis, last 5
    assert html.count("<polyline") == 2
    assert "<svg" not in History()._repr_html_()


def test_not_a_notebook_here_and_the_bar_is_quiet():
    assert in_notebook() is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bar = progress_bar(total=3, disable=True)
        bar.update(3)
        bar.close()
    assert np.isfinite(bar.n)
