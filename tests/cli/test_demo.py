"""ffnn demo: one forward and backward pass with a gradient check."""


def test_demo_prints_the_deltas_and_the_gradient_check(run):
    rc, out, _ = run("demo", "--seed", "1")
    assert rc == 0
    assert "loss L = " in out and "delta^(3) shape (5, 3)" in out
