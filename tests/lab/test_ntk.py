import numpy as np
import pytest
from scipy import sparse

import ffnn
from ffnn import Act, Add, Dense, Init, Input, Network
from ffnn.errors import FFNNError
from ffnn.lab import ntk as ntk_module
from ffnn.lab.kernels import analytic_nngp, analytic_ntk, gaussian_expectations, kernels_for
from ffnn.lab.ntk import empirical_ntk, ntk_from_jacobian


def _resnet():
    x = Input(4)
    h = Act("relu")(Dense(6)(x))
    shared = Dense(6)
    h = Add()(h, Act("tanh")(shared(h)))
    h = Add()(h, Act("tanh")(shared(h)))
    return Network(x, Dense(3)(h), rng=0, dtype=np.float64)


@pytest.mark.parametrize("blocks", ["trace", "diagonal", "full"])
def test_empirical_ntk_equals_jacobian_reference(blocks):
    net = _resnet()
    rng = np.random.default_rng(0)
    X1, X2 = rng.standard_normal((6, 4)), rng.standard_normal((4, 4))
    A = empirical_ntk(net, X1, X2, blocks=blocks)
    B = ntk_from_jacobian(net, X1, X2, blocks=blocks)
    shapes = {"trace": (6, 4), "diagonal": (6, 4, 3), "full": (6, 4, 3, 3)}
    assert A.shape == shapes[blocks]
    np.testing.assert_allclose(A, B, rtol=1e-10, atol=1e-12)


def _relu_resnet(k):
    """relu everywhere (its layers run in place in the kept buffers), a shared layer, k outputs."""
    x = Input(4)
    h = Act("relu")(Dense(6)(x))
    shared = Dense(6)
    h = Add()(h, Act("relu")(shared(h)))
    h = Add()(h, Act("relu")(shared(h)))
    return Network(x, Dense(k)(h), rng=1, dtype=np.float64)


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("blocks", ["trace", "full"])
def test_repeated_kernels_reuse_buffers_and_return_their_own_arrays(k, blocks):
    net = _relu_resnet(k)
    rng = np.random.default_rng(2)
    Xa, Xb, X2 = (rng.standard_normal((n, 4)) for n in (7, 7, 3))
    A = empirical_ntk(net, Xa, blocks=blocks)
    A_copy = A.copy()
    B = empirical_ntk(net, Xb, blocks=blocks)  # the same shapes: the kept buffers again
    np.testing.assert_array_equal(A, A_copy)  # the first result is not overwritten
    np.testing.assert_allclose(A, ntk_from_jacobian(net, Xa, blocks=blocks), atol=1e-12)
    np.testing.assert_allclose(B, ntk_from_jacobian(net, Xb, blocks=blocks), atol=1e-12)
    C = empirical_ntk(net, Xa, X2, blocks=blocks)  # other shapes: new buffers
    np.testing.assert_allclose(C, ntk_from_jacobian(net, Xa, X2, blocks=blocks), atol=1e-12)
    np.testing.assert_array_equal(empirical_ntk(net, Xa, blocks=blocks), A_copy)


def test_kept_buffers_follow_the_activations_not_only_the_widths():
    """A relu network's buffers share z and x; a tanh network of the same widths must not."""
    X = np.random.default_rng(6).standard_normal((5, 3))
    for act in ("relu", "tanh", "relu"):
        net = ffnn.mlp([3, 8, 8, 2], act, rng=0, dtype=np.float64)
        np.testing.assert_allclose(empirical_ntk(net, X), ntk_from_jacobian(net, X), atol=1e-12)


def test_a_kernel_too_large_to_keep_buffers_for_agrees(monkeypatch):
    net = _relu_resnet(2)
    X = np.random.default_rng(3).standard_normal((5, 4))
    monkeypatch.setattr(ntk_module, "KEEP_BYTES", 0)
    fresh = empirical_ntk(net, X, blocks="diagonal")
    assert ntk_module._kept.sig is None and ntk_module._kept.buffers is None
    monkeypatch.undo()
    np.testing.assert_array_equal(empirical_ntk(net, X, blocks="diagonal"), fresh)
    assert ntk_module._kept.buffers is not None


def test_a_scalar_output_and_a_sparse_input_batch():
    net = ffnn.mlp([5, 8, 8, 1], "relu", rng=0, dtype=np.float64)
    X = sparse.random(6, 5, density=0.5, format="csr", random_state=0)
    T = ntk_from_jacobian(net, X.toarray())
    np.testing.assert_allclose(empirical_ntk(net, X.toarray()), T, atol=1e-12)
    np.testing.assert_allclose(empirical_ntk(net, X), T, atol=1e-12)
    np.testing.assert_allclose(empirical_ntk(net, X, X[:2]), T[:, :2], atol=1e-12)


def test_bad_input_is_named_before_any_work():
    with pytest.raises(FFNNError, match=r"shape \(batch, 4\)"):
        empirical_ntk(_resnet(), np.zeros((3, 5)))


def test_empirical_ntk_symmetric_psd():
    net = ffnn.mlp(
        [3, 16, 16, 1], "erf", init=Init(parameterization="ntk"), rng=1, dtype=np.float64
    )
    X = np.random.default_rng(1).standard_normal((10, 3))
    T = empirical_ntk(net, X)
    np.testing.assert_allclose(T, T.T, atol=1e-12)
    assert np.linalg.eigvalsh(T).min() > -1e-10


def test_bad_blocks():
    net = _resnet()
    with pytest.raises(FFNNError, match="blocks"):
        empirical_ntk(net, np.zeros((2, 4)), blocks="all")


def _mc_expectations(act, k11, k22, k12, n=400_000):
    rng = np.random.default_rng(0)
    L = np.linalg.cholesky(np.array([[k11, k12], [k12, k22]]))
    u, v = L @ rng.standard_normal((2, n))
    a = ffnn.get_activation(act)
    return np.mean(a.sigma(u) * a.sigma(v)), np.mean(a.dsigma(u) * a.dsigma(v))


@pytest.mark.parametrize("act", ["relu", "erf", "tanh"])
def test_gaussian_expectations_monte_carlo(act):
    k11, k22, k12 = 1.3, 0.7, 0.5
    e, d = gaussian_expectations(act, k11, k22, k12)
    me, md = _mc_expectations(act, k11, k22, k12)
    assert abs(e - me) < 0.01 and abs(d - md) < 0.01


@pytest.mark.parametrize("act", ["relu", "erf"])
def test_empirical_ntk_approaches_analytic_with_width(act):
    X = np.random.default_rng(2).standard_normal((8, 3))
    init = Init(2.0 if act == "relu" else 1.5, C_b=0.1, parameterization="ntk")
    errs = []
    for w in (32, 512):
        e = []
        for s in range(3):
            net = ffnn.mlp([3, w, w, 1], act, init=init, rng=s, dtype=np.float64)
            _, T = kernels_for(net, X)
            e.append(np.linalg.norm(empirical_ntk(net, X) - T) / np.linalg.norm(T))
        errs.append(np.mean(e))
    # error ∝ width^(-1/2): a tolerance that shrinks like 6/√w, and 16× wider ≈ 4× smaller (noisy)
    assert errs[0] < 6 / np.sqrt(32) and errs[1] < 6 / np.sqrt(512)
    assert errs[1] < errs[0] / 1.5


def test_nngp_matches_monte_carlo_over_networks():
    X = np.random.default_rng(3).standard_normal((4, 3))
    K = analytic_nngp(X, depth=2, activation="relu", C_W=2.0, C_b=0.1)
    outs = []
    for s in range(400):
        net = ffnn.mlp([3, 128, 128, 1], "relu", init=Init(2.0, C_b=0.1), rng=s, dtype=np.float64)
        outs.append(net(X)[:, 0])
    emp = np.cov(np.array(outs).T, bias=True)
    assert np.abs(emp - K).max() < 0.2 * np.abs(K).max()


def test_standard_parameterization_kernel():
    X = np.random.default_rng(4).standard_normal((6, 3))
    w = 4096
    net = ffnn.mlp([3, w, 1], "relu", init=Init(2.0, C_b=0.1), rng=0, dtype=np.float64)
    _, T = kernels_for(net, X)  # standard: grows with width
    T_ntk = analytic_ntk(X, depth=1, C_W=2.0, C_b=0.1)
    assert np.linalg.norm(T) > 200 * np.linalg.norm(T_ntk)
    E = empirical_ntk(net, X)
    assert np.linalg.norm(E - T) / np.linalg.norm(T) < 0.1
    with pytest.raises(FFNNError, match="widths"):
        analytic_ntk(X, depth=1, parameterization="standard")
