"""Network references (oracle/networks.py): each function against a loop written from
torch's definition, gradients against central differences, the error analysis's bounds,
ties, and a training run."""

from __future__ import annotations

import numpy as np
import pytest

from oracle import networks

RNG = np.random.default_rng(11)
X = RNG.normal(size=(2, 3, 5, 6))
W = RNG.normal(size=(4, 3, 3, 2))
B = RNG.normal(size=4)


def loop_conv(x, w, b, stride, padding):
    """out[n, f, i, j] = b[f] + sum over c, u, v of xp[n, c, i*sh + u, j*sw + v] w[f, c, u, v]."""
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = w.shape[2:]
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for n, f, i, j in np.ndindex(*out.shape):
        out[n, f, i, j] = b[f] + np.sum(xp[n, :, i * sh : i * sh + kh, j * sw : j * sw + kw] * w[f])
    return out


def loop_pool(x, kernel, stride, padding, reduce, fill):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((*x.shape[:2], oh, ow))
    for n, c, i, j in np.ndindex(*out.shape):
        out[n, c, i, j] = reduce(xp[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw])
    return out


@pytest.mark.parametrize(
    ("stride", "padding"), [((1, 1), (0, 0)), ((2, 1), (1, 1)), ((3, 3), (1, 0))]
)
def test_conv2d_is_torchs_cross_correlation(stride, padding) -> None:
    got = np.asarray(networks.conv2d(X, W, B, stride, padding))
    assert np.allclose(got, loop_conv(X, W, B, stride, padding), rtol=1e-13, atol=1e-13)


def test_pools_pad_with_minus_infinity_and_counted_zeros() -> None:
    x = -np.abs(X) - 1  # every value negative: zero padding would win a max
    got = np.asarray(networks.max_pool2d(x, (3, 2), (2, 1), (1, 1)))
    assert np.array_equal(got, loop_pool(x, (3, 2), (2, 1), (1, 1), np.max, -np.inf))
    got = np.asarray(networks.avg_pool2d(x, 3, 2, 1))
    want = loop_pool(x, (3, 3), (2, 2), (1, 1), np.mean, 0.0)
    assert np.allclose(got, want, rtol=1e-14), "avg_pool2d counts the padding (torch's default)"


def test_losses_are_stable_and_match_their_definitions() -> None:
    logits = np.array([[1000.0, -1000.0, 3.0], [2.0, 5.0, -1.0]])
    labels = np.array([1, 1])
    want = np.mean([2000.0, np.log(np.exp(2) + np.exp(5) + np.exp(-1)) - 5])
    assert np.isclose(float(networks.cross_entropy(logits, labels)), want, rtol=1e-14)
    z, y = np.array([800.0, -800.0, 0.5]), np.array([0.0, 1.0, 0.25])
    want = np.mean([800.0, 800.0, np.log1p(np.exp(-0.5)) + 0.5 - 0.125])
    assert np.isclose(float(networks.binary_cross_entropy_with_logits(z, y)), want, rtol=1e-14)
    s, t = np.array([0.5, -2.0, 1.5]), np.array([1.0, -1.0, -1.0])
    assert np.isclose(float(networks.hinge_loss(s, t)), (0.5 + 0 + 2.5) / 3, rtol=1e-15)


@pytest.mark.parametrize("name", [*networks.FUNCTIONS, *networks.LOSSES])
def test_vjp_matches_central_differences(name: str) -> None:
    calls = {
        "linear": networks.Call(
            "linear", (RNG.normal(size=(3, 4)), RNG.normal(size=(2, 4)), RNG.normal(size=2)), {}
        ),
        "conv2d": networks.Call(
            "conv2d", (X[:1, :2], W[:2, :2], B[:2]), {"stride": (2, 1), "padding": 1}
        ),
        "max_pool2d": networks.Call(
            "max_pool2d", (X,), {"kernel_size": 2, "stride": 1, "padding": 1}
        ),
        "avg_pool2d": networks.Call("avg_pool2d", (X,), {"kernel_size": (3, 2), "padding": (1, 1)}),
        "flatten": networks.Call("flatten", (X,), {}),
        "mse_loss": networks.Call(
            "mse_loss", (RNG.normal(size=(3, 2)), RNG.normal(size=(3, 2))), {}
        ),
        "cross_entropy": networks.Call(
            "cross_entropy", (RNG.normal(size=(3, 4)),), {}, (np.array([0, 3, 1]),)
        ),
        "binary_cross_entropy_with_logits": networks.Call(
            "binary_cross_entropy_with_logits", (RNG.normal(size=4), RNG.uniform(size=4)), {}
        ),
        "hinge_loss": networks.Call(
            "hinge_loss", (np.array([0.5, -2.0, 1.5]), np.array([1.0, -1.0, 1.0])), {}
        ),
    }
    call = calls[name]
    out0 = np.asarray(networks.REFERENCES[name](*call.tensors, *call.rest, **call.kwargs))
    upstream = RNG.normal(size=out0.shape)
    _, grads = networks.vjp(call, upstream)
    first = call.tensors[0]

    def f(v: np.ndarray) -> float:
        out = networks.REFERENCES[name](
            v.reshape(first.shape), *call.tensors[1:], *call.rest, **call.kwargs
        )
        return float(np.sum(np.asarray(out) * upstream))

    h = 1e-6
    flat = first.ravel()
    numeric = np.array(
        [(f(flat + h * e) - f(flat - h * e)) / (2 * h) for e in np.eye(flat.size)]
    ).reshape(first.shape)
    assert np.allclose(grads[0], numeric, rtol=1e-6, atol=1e-6), f"{name}: {grads[0]} vs {numeric}"


def test_bounds_cover_a_second_implementation_and_stay_tight() -> None:
    """The loop convolution (another summation order) is within the analysis's bound of
    the reference, and the bound is about 1e-13 relative, not a loose constant."""
    call = networks.Call("conv2d", (X, W, B), {"stride": (2, 1), "padding": (1, 1)})
    upstream = RNG.normal(size=loop_conv(X, W, B, (2, 1), (1, 1)).shape)
    out, _ = networks.vjp(call, upstream)
    bounds = networks.call_bounds(call, upstream)
    other = loop_conv(X, W, B, (2, 1), (1, 1))
    assert np.all(np.abs(other - out) <= bounds.output + 1e-300)
    assert np.max(bounds.output / (np.abs(out) + 1)) < 1e-12


def test_ties_are_found_and_training_lowers_the_loss() -> None:
    layers = [
        {"type": "Conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 2},
        {"type": "MaxPool2d", "kernel_size": 2},
        {"type": "Flatten"},
        {"type": "Linear", "in_features": 2, "out_features": 2},
    ]
    shapes = networks.parameter_shapes(layers)
    assert shapes == [(2, 1, 2, 2), (2,), (2, 2), (2,)]
    zeros = [np.zeros(s) for s in shapes]
    x = RNG.normal(size=(4, 1, 3, 3))
    assert networks.tied_maxima(layers, [zeros[0], zeros[1] + 0.5, *zeros[2:]], x)  # constant maps
    params = [RNG.normal(size=s) for s in shapes]
    assert not networks.tied_maxima(layers, params, x)
    y = np.array([0, 1, 0, 1])
    run = networks.train(layers, "cross_entropy", params, x, y, {"name": "Adam", "lr": 0.1}, 20)
    assert len(run.params) == 21 and run.losses[-1] < run.losses[0]
    value, grads = networks.loss_and_grads(layers, "cross_entropy", run.params[3], x, y)
    assert np.isclose(value, run.losses[3], rtol=1e-14) and len(grads) == 4


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 1, 3, 4), (4,)])
def test_linear_takes_leading_batch_axes(shape: tuple[int, ...]) -> None:
    """x of shape (*, in), as torch's: the output and every gradient are those of the 2-D
    call on x's rows (NumPy), within the error analysis's bounds, which have their shapes."""
    x, w, b = RNG.normal(size=shape), RNG.normal(size=(5, 4)), RNG.normal(size=5)
    upstream = RNG.normal(size=(*shape[:-1], 5))
    call = networks.Call("linear", (x, w, b), {})
    out, grads = networks.vjp(call, upstream)
    rows, g = x.reshape(-1, 4), upstream.reshape(-1, 5)
    want = [(rows @ w.T + b).reshape(upstream.shape), (g @ w).reshape(shape), g.T @ rows, g.sum(0)]
    bounds = networks.call_bounds(call, upstream)
    allowed = [bounds.output, bounds.input_grad, *bounds.grads]
    for k, (got, expected, bound) in enumerate(zip([out, *grads], want, allowed, strict=True)):
        assert np.shape(bound) == np.shape(expected), (k, np.shape(bound), np.shape(expected))
        assert np.all(np.abs(got - expected) <= bound), (k, got, expected, bound)
        assert np.all(bound <= 1e-12 * (np.abs(expected) + 1)), (k, bound)


def _routed(values: np.ndarray, upstream: np.ndarray, kernel, stride) -> np.ndarray:
    """Each window's upstream gradient on its (single) maximum: max pooling's VJP."""
    (kh, kw), (sh, sw) = kernel, stride
    routed = np.zeros(values.shape)
    for n, c, i, j in np.ndindex(*upstream.shape):
        window = values[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw]
        u, v = np.unravel_index(np.argmax(window), window.shape)
        routed[n, c, i * sh + u, j * sw + v] += upstream[n, c, i, j]
    return routed


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "padding", "pool"),
    [
        ((12, 1, 5, 4), (19, 1, 1, 1), 0, ((2, 2), (1, 1))),  # an outer product plus a bias
        ((2, 2, 6, 5), (3, 2, 3, 2), 1, ((3, 2), (2, 1))),
    ],
)
def test_max_pool_after_conv_and_bias_routes_to_the_maximum(
    x_shape, w_shape, padding, pool
) -> None:
    """conv2d + bias, then max pooling, as the oracle compiles a network: the gradients
    are the upstream gradient routed to each window's maximum, pushed through the
    convolution (NumPy loops). At XLA's -O0 a max over x @ w + c once lost its gradient
    (oracle.traced, 1f386ed): the value recomputed with and without a fused multiply-add
    no longer equals the maximum."""
    rng = np.random.default_rng(sum(x_shape))
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    kernel, stride = pool
    layers = [
        {"type": "Conv2d", "in_channels": x_shape[1], "out_channels": w_shape[0]}
        | {"kernel_size": w_shape[2:], "padding": padding},
        {"type": "MaxPool2d", "kernel_size": kernel, "stride": stride},
    ]
    conv = loop_conv(x, w, b, (1, 1), (padding, padding))
    upstream = rng.normal(size=loop_pool(conv, kernel, stride, (0, 0), np.max, 0.0).shape)
    _, x_grad, (w_grad, b_grad) = networks.network_vjp(layers, [w, b], x, upstream)
    g = _routed(conv, upstream, kernel, stride)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    want_w, want_xp = np.zeros(w.shape), np.zeros(xp.shape)
    kh, kw = w_shape[2:]
    for n, f, i, j in np.ndindex(*g.shape):
        want_w[f] += g[n, f, i, j] * xp[n, :, i : i + kh, j : j + kw]
        want_xp[n, :, i : i + kh, j : j + kw] += g[n, f, i, j] * w[f]
    want_x = want_xp[:, :, padding : padding + x_shape[2], padding : padding + x_shape[3]]
    checks = [("b", b_grad, g.sum(axis=(0, 2, 3))), ("w", w_grad, want_w), ("x", x_grad, want_x)]
    for name, got, want in checks:
        assert np.all(np.isfinite(got)), (name, got)
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12), (name, got, want)


@pytest.mark.parametrize(("n", "m"), [(12, 19), (2, 11)])
def test_max_over_a_linear_with_a_bias_routes_to_the_maximum(n: int, m: int) -> None:
    """max over the outputs of linear(x, w, c) with in_features 1 (an outer product plus a
    bias, oracle.traced's -O0 failure), as a network: Linear on (n, 1, 1, 1) inputs, then
    a (1, m) max pooling; gradients and one SGD step (lr 1) against the closed form."""
    rng = np.random.default_rng(n * m)
    x, w, c = rng.normal(size=(n, 1, 1, 1)), rng.normal(size=(m, 1)), rng.normal(size=m)
    layers = [
        {"type": "Linear", "in_features": 1, "out_features": m},
        {"type": "MaxPool2d", "kernel_size": (1, m)},
    ]
    upstream = rng.normal(size=(n, 1, 1, 1))
    out, x_grad, (w_grad, c_grad) = networks.network_vjp(layers, [w, c], x, upstream)
    values = x.reshape(n, 1) @ w.T + c
    routed = np.zeros((n, m))
    routed[np.arange(n), np.argmax(values, axis=1)] = upstream.ravel()
    want = {"x": routed @ w, "w": routed.T @ x.reshape(n, 1), "c": routed.sum(axis=0)}
    got = {"x": x_grad.reshape(n, 1), "w": w_grad, "c": c_grad}
    assert np.allclose(out.ravel(), values.max(axis=1), rtol=1e-15), (out, values)
    for name in want:
        assert np.allclose(got[name], want[name], rtol=1e-12, atol=1e-12), (name, got, want)
    # training compiles its own program: the step is -grad of sum(upstream * output)
    y = rng.normal(size=(n, 1, 1, 1))
    run = networks.train(layers, "mse_loss", [w, c], x, y, {"name": "SGD", "lr": 1.0}, 1)
    residual = 2 * (values.max(axis=1) - y.ravel()) / n
    routed[np.arange(n), np.argmax(values, axis=1)] = residual
    step_w, step_c = w - routed.T @ x.reshape(n, 1), c - routed.sum(axis=0)
    assert np.allclose(run.params[1][0], step_w, rtol=1e-12, atol=1e-12), (run.params[1], step_w)
    assert np.allclose(run.params[1][1], step_c, rtol=1e-12, atol=1e-12), (run.params[1], step_c)
