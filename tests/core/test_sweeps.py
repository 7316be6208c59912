"""A layer written here, with its own parameters in θ, gets every sweep from its rules alone:
gradients, per-example gradients, the empirical NTK, J v, Hessian-vector and Gauss-Newton
products, and training, checked against central finite differences (float64) and torch."""

from __future__ import annotations

import numpy as np
import pytest

from ffnn import Act, Add, Dense, FFNNError, Input, Layer, Network, get_loss
from ffnn.lab.hessian import Curvature, gnvp, hvp, loss_hvp_z
from ffnn.lab.jacobian import param_jacobian, per_example_gradients
from ffnn.lab.ntk import empirical_ntk
from ffnn.train import fit

N = 6


class Scale(Layer):
    """y = a ⊙ x with a learnable per-unit scale a: (n,)."""

    kind = "scale"
    param_names = ("a",)

    def bind(self, dims):
        self.n = self._need_one(dims)
        return self.n

    @property
    def shapes(self):
        return ((self.n,),)

    def draw(self, rng, init, blocks):
        blocks[0][...] = 1 + 0.5 * rng.standard_normal(self.n)

    def forward(self, P, xs, out=None):
        return np.multiply(xs[0], P[0], out=out), xs[0]

    def vjp(self, P, x, g, grads, accumulate, need, out=None):
        if grads is not None:  # ∂L/∂a = Σ_batch g ⊙ x
            if accumulate:
                grads[0][...] += (g * x).sum(axis=0)
            else:
                grads[0][...] = (g * x).sum(axis=0)
        return [np.multiply(g, P[0], out=out) if need[0] else None]

    def jvp(self, P, x, rx, V, out=None):  # R{y} = V_a ⊙ x + a ⊙ R{x}
        r = np.multiply(x, V[0], out=out)
        if rx[0] is not None:
            r += P[0] * rx[0]
        return r

    def r_term(self, P, x, g, rx, V, rgrads, need):  # Σ g ⊙ R{x} in ∂/∂a; message g ⊙ V_a
        if rx[0] is not None:
            rgrads[0][...] += (g * rx[0]).sum(axis=0)
        return [g * V[0] if need[0] else None]


def chain():
    x = Input(3)
    h = Act("tanh")(Scale()(Dense(5)(x)))
    return Network(x, Dense(2)(h), rng=0, dtype=np.float64)


def dag():
    """Scale used twice (shared a), and inside an Add."""
    x = Input(3)
    s = Scale()
    h = Dense(4)(x)
    u = Act("tanh")(s(h))
    w = s(Act("sigmoid")(Dense(4)(x)))
    return Network(x, Dense(2)(Scale()(Add()(u, w, h))), rng=1, dtype=np.float64)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, 3)), rng.standard_normal((N, 2)), rng


def _fd(f, theta, v, eps=1e-6):
    """Central difference of f(θ) along v, restoring θ."""
    th = theta.copy()
    theta[...] = th + eps * v
    fp = f()
    theta[...] = th - eps * v
    fm = f()
    theta[...] = th
    return (fp - fm) / (2 * eps)


def _fd_jacobian(net, X):
    return np.stack(
        [_fd(lambda: net.forward(X)[0], net.theta, e) for e in np.eye(net.n_params)], axis=-1
    )  # (n, k, p)


def _grad(net, X, y):
    return net.loss_and_grad(X, y, "mse")[1]


@pytest.mark.parametrize("make", [chain, dag])
def test_the_layer_owns_blocks_of_theta(make):
    net = make()
    names = [name for name, _ in net.param_blocks()]
    assert sum(name.endswith(".a") for name in names) == (1 if make is chain else 2)
    assert net.n_params == sum(layer.n_params for layer in net.param_layers)
    assert len(net.params) == len(net.dense_layers)  # (W, b) pairs of the Dense layers only


@pytest.mark.parametrize("make", [chain, dag])
def test_every_sweep_against_finite_differences(make):
    net = make()
    X, y, rng = _data()
    p = net.n_params
    J = _fd_jacobian(net, X)
    # gradient: finite differences of L along each coordinate
    loss = get_loss("mse")
    L = lambda: loss.value(net.forward(X)[0], y, net.output)  # noqa: E731
    fd_g = np.array([_fd(L, net.theta, e) for e in np.eye(p)])
    np.testing.assert_allclose(_grad(net, X, y), fd_g, rtol=1e-6, atol=1e-9)
    # the Jacobian, per-example gradients and the NTK
    np.testing.assert_allclose(param_jacobian(net, X), J, atol=1e-8)
    G = per_example_gradients(net, X, y, "mse")
    z = net.forward(X)[0]
    np.testing.assert_allclose(G, np.einsum("na,nap->np", 2 * (z - y), J), atol=1e-8)
    np.testing.assert_allclose(empirical_ntk(net, X), np.einsum("iap,jap->ij", J, J), atol=1e-8)
    # J v, H v and G v along a random direction
    v = rng.standard_normal(p)
    C = Curvature(net, X, y, "mse")
    np.testing.assert_allclose(C.jvp(v), J @ v, atol=1e-8)
    fd_hv = _fd(lambda: _grad(net, X, y), net.theta, v)
    np.testing.assert_allclose(hvp(net, X, y, "mse", v), fd_hv, rtol=1e-6, atol=1e-8)
    Hz_Jv = loss_hvp_z(C.loss, z, y, net.output, J @ v)
    np.testing.assert_allclose(gnvp(net, X, y, "mse", v), np.einsum("nap,na->p", J, Hz_Jv))


def test_torch_autograd_agrees_on_gradient_and_hessian_vector_product():
    torch = pytest.importorskip("torch")
    net = dag()
    X, y, rng = _data(1)
    blocks = dict(net.param_blocks())

    def f(theta):
        def take(layer, name):
            b = theta[blocks[f"{layer.name}.{name}"]]
            return b.reshape(layer.shapes[["W", "b"].index(name)]) if name != "a" else b

        vals = [torch.as_tensor(X)]
        for i, node in enumerate(net.nodes[1:], start=1):
            layer, ins = node.layer, [vals[q] for q in net._parents[i]]
            if layer.kind == "dense":
                vals.append(ins[0] @ take(layer, "W").T + take(layer, "b"))
            elif layer.kind == "scale":
                vals.append(ins[0] * take(layer, "a"))
            elif layer.kind == "add":
                vals.append(sum(ins[1:], ins[0]))
            else:
                vals.append(torch.tanh(ins[0]) if "tanh" in layer.name else torch.sigmoid(ins[0]))
        return ((vals[-1] - torch.as_tensor(y)) ** 2).sum(1).mean()

    theta = torch.tensor(net.theta, requires_grad=True)
    v = rng.standard_normal(net.n_params)
    (g,) = torch.autograd.grad(f(theta), theta, create_graph=True)
    (hv,) = torch.autograd.grad(g @ torch.as_tensor(v), theta)
    np.testing.assert_allclose(_grad(net, X, y), g.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hvp(net, X, y, "mse", v), hv.numpy(), rtol=1e-9, atol=1e-11)


def test_fit_trains_the_layer():
    net = dag()
    X, y, _ = _data(2)
    k = [layer.kind for layer in net.param_layers].index("scale")  # the shared Scale
    a0 = net.param_views(net.theta)[k][0].copy()
    before = net.loss_and_grad(X, y, "mse")[0]
    fit(net, X, y, "mse", optimizer="adam", lr=0.05, epochs=60, batch_size=None, progress=False)
    assert net.loss_and_grad(X, y, "mse")[0] < 0.2 * before
    assert not np.allclose(net.param_views(net.theta)[k][0], a0)


def test_missing_rules_are_named():
    class Bare(Layer):
        def bind(self, dims):
            return dims[0]

        def forward(self, P, xs, out=None):
            return 2 * xs[0], None

        def vjp(self, P, cache, g, grads, accumulate, need, out=None):
            return [2 * g if need[0] else None]

    x = Input(2)
    net = Network(x, Dense(1)(Bare(name="bare")(Dense(3)(x))), dtype=np.float64)
    X, y = np.ones((3, 2)), np.ones(3)
    net.loss_and_grad(X, y, "mse")  # the gradient needs only vjp
    with pytest.raises(FFNNError, match="'bare'.*jvp"):
        hvp(net, X, y, "mse", np.ones(net.n_params))
