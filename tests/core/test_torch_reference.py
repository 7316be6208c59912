"""PyTorch autograd as an independent reference: same weights, same data, float64."""

import numpy as np
import pytest

from ffnn import Act, Add, Concat, Dense, Init, Input, Network, get_loss, mlp

torch = pytest.importorskip("torch")
F = torch.nn.functional

TORCH_ACTS = {
    "identity": lambda t, *p: t,
    "relu": lambda t, *p: torch.relu(t),
    "leaky_relu": lambda t, alpha=0.01: F.leaky_relu(t, alpha),
    "tanh": lambda t, *p: torch.tanh(t),
    "sigmoid": lambda t, *p: torch.sigmoid(t),
    "softplus": lambda t, *p: F.softplus(t),
    "elu": lambda t, alpha=1.0: F.elu(t, alpha),
    "gelu": lambda t, *p: F.gelu(t),  # exact: z Φ(z)
    "erf": lambda t, *p: torch.erf(t),
    "sin": lambda t, *p: torch.sin(t),
}


def torch_forward(net: Network, X, theta):
    """Evaluate the ffnn graph with torch operations; theta is a torch leaf of shape (p,)."""
    blocks = dict(net.param_blocks())
    values = [X]
    for i, node in enumerate(net.nodes[1:], start=1):
        layer, ins = node.layer, [values[p] for p in net._parents[i]]
        if isinstance(layer, Dense):
            j = net.dense_layers.index(layer)
            W = theta[blocks[f"{layer.name}.W"]].reshape(layer.n_out, layer.n_in)
            b = theta[blocks[f"{layer.name}.b"]]
            s_W, s_b = net._scales[j]
            values.append(s_W * ins[0] @ W.T + s_b * b)
        elif isinstance(layer, Act):
            act = layer.activation
            values.append(TORCH_ACTS[act.name](ins[0], *act.params))
        elif isinstance(layer, Add):
            values.append(sum(ins[1:], ins[0]))
        elif isinstance(layer, Concat):
            values.append(torch.cat(ins, dim=1))
        else:  # pragma: no cover
            raise AssertionError(layer)
    return values[-1]


def torch_loss(name, z, y):
    """The same losses as ffnn: summed over outputs, mean over examples."""
    if name == "mse":
        return ((z - y) ** 2).sum(1).mean()
    if name == "mse_softmax":
        return ((torch.softmax(z, 1) - y) ** 2).sum(1).mean()
    if name == "mse_sigmoid":
        return ((torch.sigmoid(z) - y) ** 2).sum(1).mean()
    if name == "mae":
        return (z - y).abs().sum(1).mean()
    if name == "huber":
        return F.huber_loss(z, y, reduction="none", delta=1.0).sum(1).mean()
    if name == "binary_cross_entropy":
        return F.binary_cross_entropy_with_logits(z, y, reduction="none").sum(1).mean()
    if name == "cross_entropy":
        return F.cross_entropy(z, y)
    raise AssertionError(name)


# our loss name, output activation, torch loss name, target kind
LOSSES = [
    ("mse", "identity", "mse", "real"),
    ("mae", "identity", "mae", "real"),
    ("huber", "identity", "huber", "real"),
    ("mse", "softmax", "mse_softmax", "unit"),
    ("mse", "sigmoid", "mse_sigmoid", "unit"),
    ("binary_cross_entropy", "sigmoid", "binary_cross_entropy", "unit"),
    ("cross_entropy", "softmax", "cross_entropy", "labels"),
]
ACT_SETS = [
    ["tanh", "relu", "gelu"],
    ["sigmoid", "softplus", "elu"],
    ["leaky_relu", "erf", "sin", "identity"],
]


def _compare(net, X, y, loss_name, output_torch_name):
    z, trace = net.forward(X)
    value, delta = get_loss(loss_name).value_and_delta(z, y, net.output)
    back = net.backward(trace, delta, input_grad=True)

    theta_t = torch.tensor(net.theta, requires_grad=True)
    X_t = torch.tensor(X, requires_grad=True)
    y_t = torch.tensor(y)
    z_t = torch_forward(net, X_t, theta_t)
    L_t = torch_loss(output_torch_name, z_t, y_t)
    L_t.backward()
    np.testing.assert_allclose(z, z_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert value == pytest.approx(L_t.item(), rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(back.theta, theta_t.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(back.input, X_t.grad.numpy(), rtol=1e-10, atol=1e-13)


def _targets(kind, n, k, rng):
    if kind == "labels":
        return rng.integers(0, k, n)
    if kind == "unit":
        return rng.uniform(0, 1, (n, k))
    return rng.standard_normal((n, k))


@pytest.mark.parametrize("acts", ACT_SETS, ids=lambda a: "-".join(a))
@pytest.mark.parametrize("loss,output,torch_name,kind", LOSSES, ids=[t[2] for t in LOSSES])
def test_chain_mlp_agrees_with_torch(acts, loss, output, torch_name, kind):
    rng = np.random.default_rng(0)
    widths = [4] + [7] * len(acts) + [3]
    net = mlp(widths, acts, output=output, init=Init("he", C_b=0.1), rng=1, dtype=np.float64)
    X = rng.standard_normal((9, 4))
    _compare(net, X, _targets(kind, 9, 3, rng), loss, torch_name)


@pytest.mark.parametrize("parameterization", ["standard", "ntk"])
def test_dag_with_skip_connection_agrees_with_torch(parameterization):
    x = Input(3)
    h = Act("tanh")(Dense(5)(x))
    h2 = Act("relu")(Dense(5)(h))
    s = Add()(h, h2)  # skip connection; h feeds two consumers
    shared = Dense(5)
    a = Act("gelu")(shared(s))
    b = shared(Act("sigmoid")(Dense(5)(x)))  # the same W, b used twice
    c = Concat()(Add()(a, b), x)
    init = Init("lecun", C_b=0.2, parameterization=parameterization)
    net = Network(x, Dense(2)(c), init=init, rng=2, dtype=np.float64)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 3))
    _compare(net, X, rng.standard_normal((6, 2)), "mse", "mse")
    net_ce = Network(x, Dense(3)(c), output="softmax", init=init, rng=2, dtype=np.float64)
    _compare(net_ce, X, rng.integers(0, 3, 6), "cross_entropy", "cross_entropy")


def test_random_dags_agree_with_torch(random_dag):
    rng = np.random.default_rng(4)
    for seed in range(20):
        net, _ = random_dag(100 + seed, n_in=3, n_out=2, steps=10)
        X = rng.standard_normal((5, 3))
        _compare(net, X, rng.standard_normal((5, 2)), "mse", "mse")
