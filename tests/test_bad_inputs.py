"""Every public callable meets bad input with a clear library error.

A table-driven sweep over the ``__all__`` of every public module: each public
name has a row (a valid call and a list of bad arguments), and each bad
argument must raise the stated library error whose message names the
argument (or give the documented warning). The guard test at the bottom fails
when a public name has no row, so a new function cannot skip the sweep.

How to add rows for a new public name
-------------------------------------
Append to ``ROWS`` (keep the per-module sections)::

    Row(
        "mltheory.numerics.my_function",         # the public name
        numerics.my_function,                    # what is called
        lambda: ((X,), {"lr": 0.1}),             # a valid call: (args, kwargs)
        Bad("shape", "X", np.ones(3)),           # kind, argument, bad value
        Bad("nonfinite", "lr", np.nan),          # ValueError naming "lr"
        Bad("none", "X", None, TypeError),
    )

Each :class:`Bad` replaces one argument of the valid call (by parameter
name) and expects ``error`` (default :class:`ValueError`) with a message
matching ``match`` (default: the argument's name as a word). ``error`` may be
a warning class (the call must warn it). Result containers and exceptions,
which take no user input to validate, are listed in ``NO_INPUT`` with the
reason. The cases run only validation paths: keep them cheap (tiny shapes,
no valid call is executed).

Kinds: shape, nonfinite, size (negative/zero sizes and counts), rate
(negative/zero rates, steps, tolerances), complex, overflow (finite in
float64, infinite after the cast), key (wrong key type), none, string,
pytree (mismatched pytrees), dtype, law (probability vectors, ranges of
laws), option (unknown option strings), type (other wrong types), range.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mltheory
from mltheory import numerics
from mltheory.exceptions import DivergenceError, DivergenceWarning, NotFittedError

KINDS = {
    "shape",
    "nonfinite",
    "size",
    "rate",
    "complex",
    "overflow",
    "key",
    "none",
    "string",
    "pytree",
    "dtype",
    "law",
    "option",
    "type",
    "range",
}


@dataclass(frozen=True)
class Bad:
    """One bad argument: replaces ``arg`` of the valid call by ``value``."""

    kind: str
    arg: str
    value: Any
    error: type[BaseException] = ValueError
    match: str | None = None
    x64: bool = True  # False: call with JAX's 64-bit floats off (float32 default)

    def pattern(self) -> str:
        if self.match is not None:
            return self.match
        return rf"(?<![\w.]){re.escape(self.arg)}\b"


@dataclass(frozen=True)
class Row:
    """A public name, the callable to call, a valid call and its bad variants."""

    name: str
    call: Callable[..., Any]
    valid: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]
    bad: tuple[Bad, ...] = field(default=())

    def __init__(self, name, call, valid, *bad):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "call", call)
        object.__setattr__(self, "valid", valid)
        object.__setattr__(self, "bad", tuple(bad))


def _invoke(row: Row, case: Bad) -> Any:
    if not case.x64:
        with jax.enable_x64(False):
            return _invoke_now(row, case)
    return _invoke_now(row, case)


def _invoke_now(row: Row, case: Bad) -> Any:
    args, kwargs = row.valid()
    sig = inspect.signature(row.call)
    bound = sig.bind_partial(*args, **kwargs)
    if case.arg in sig.parameters:
        bound.arguments[case.arg] = case.value
        return row.call(*bound.args, **bound.kwargs)
    # an option of a **kwargs parameter
    return row.call(*bound.args, **{**bound.kwargs, case.arg: case.value})


# --------------------------------------------------------------------------- #
# Shared bad values
# --------------------------------------------------------------------------- #

NAN = float("nan")
INF = float("inf")
F32_OVERFLOW = 1e39  # finite in float64, inf in float32
KEY = jax.random.key(0)
RAW_KEY = jax.random.PRNGKey(0)


def _with(arr: Any, value: float) -> np.ndarray:
    out = np.array(arr, dtype=np.float64)
    out.reshape(-1)[0] = value
    return out


def _cplx(arr: Any) -> np.ndarray:
    return np.asarray(arr, dtype=np.float64) + 1j


def _f32(arr: Any) -> np.ndarray:
    return np.asarray(arr, dtype=np.float32)


def _quad(t, y, args):
    return y * y


def _neg(t, y, args):
    return -y


def _add_noise(t, y, args, dw):
    return dw


GRID = numerics.TimeGrid(1.0, 4)
S3 = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.1], [0.0, 0.1, 1.5]])
L3 = np.linalg.cholesky(S3)
X43 = np.arange(12.0).reshape(4, 3) / 10.0
C3 = np.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]])


# --------------------------------------------------------------------------- #
# mltheory.numerics
# --------------------------------------------------------------------------- #

_RELU = numerics.activation_series("relu", 4)

ROWS: list[Row] = [
    Row(
        "mltheory.numerics.HermiteSeries",
        lambda coeffs: numerics.HermiteSeries(coeffs).norm_squared(),
        lambda: ((jnp.ones(3),), {}),
        Bad("shape", "coeffs", jnp.ones((2, 2))),
        Bad("size", "coeffs", jnp.ones(0)),
    ),
    Row(
        "mltheory.numerics.TimeGrid",
        numerics.TimeGrid,
        lambda: ((1.0, 10), {}),
        Bad("nonfinite", "t_max", NAN),
        Bad("nonfinite", "t0", INF),
        Bad("size", "n_steps", 0),
        Bad("size", "n_steps", -3),
        Bad("type", "n_steps", 2.5, TypeError),
        Bad("none", "t_max", None, TypeError),
        Bad("string", "t_max", "1.0", TypeError),
        Bad("complex", "t_max", 1 + 1j, TypeError),
        Bad("range", "t_max", -1.0),
    ),
    Row(
        "mltheory.numerics.TimeGrid",
        numerics.TimeGrid,
        lambda: ((1e308, 10), {}),
        Bad("overflow", "t0", -1e308, match=r"t_max - t0 must be finite"),
    ),
    Row(
        "mltheory.numerics.Trajectory",
        lambda ts: numerics.handle_divergence(
            numerics.Trajectory(ts=ts, ys=jnp.zeros(2), first_bad_step=1),
            on_divergence="warn",
            what="run",
            cause="test",
        ),
        lambda: ((jnp.zeros(2),), {}),
        # documented: a diverged trajectory is truncated with a warning
        Bad("nonfinite", "ts", jnp.zeros(2), DivergenceWarning, match="run diverged"),
    ),
    Row(
        "mltheory.numerics.activation_series",
        numerics.activation_series,
        lambda: (("relu", 4), {}),
        Bad("option", "name", "relux"),
        Bad("size", "degree", -1),
        Bad("type", "degree", 2.5, TypeError),
        Bad("none", "name", None),
        Bad("string", "degree", "4", TypeError),
    ),
    Row(
        "mltheory.numerics.all_finite",
        numerics.all_finite,
        lambda: ((jnp.ones(2),), {}),
        Bad("string", "tree", "abc", TypeError, match=r"."),
    ),
    Row(
        "mltheory.numerics.as_key",
        numerics.as_key,
        lambda: ((0,), {}),
        Bad("none", "seed_or_key", None, TypeError),
        Bad("string", "seed_or_key", "0", TypeError),
        Bad("size", "seed_or_key", -1),
        Bad("type", "seed_or_key", 1.5, TypeError),
    ),
    Row(
        "mltheory.numerics.assignment_cost",
        numerics.assignment_cost,
        lambda: ((C3, np.array([1, 0, 2])), {}),
        Bad("shape", "assignment", np.array([0, 1])),
        Bad("nonfinite", "cost", _with(C3, NAN)),
        Bad("complex", "cost", _cplx(C3), TypeError),
        Bad("range", "assignment", np.array([0, 1, 5])),
        Bad("type", "assignment", np.array([0.0, 1.0, 2.0]), TypeError),
        Bad("none", "cost", None, TypeError),
    ),
    Row(
        "mltheory.numerics.brownian_increments",
        numerics.brownian_increments,
        lambda: ((KEY,), {"grid": GRID, "shape": (2,)}),
        Bad("key", "key", 0, TypeError),
        Bad("type", "grid", 1.0, TypeError),
        Bad("size", "shape", (0,), TypeError),
        Bad("dtype", "dtype", jnp.int32, TypeError),
        Bad("string", "dtype", "floaty", TypeError),
        Bad("dtype", "dtype", jnp.float64, UserWarning, "64-bit floats", x64=False),
    ),
    Row(
        "mltheory.numerics.cholesky_downdate",
        numerics.cholesky_downdate,
        lambda: ((L3, np.array([0.1, 0.1, 0.1])), {}),
        Bad("shape", "x", np.ones(2)),
        Bad("nonfinite", "L", _with(L3, NAN)),
        Bad("complex", "x", _cplx([0.1, 0.1, 0.1]), TypeError),
        Bad("range", "L", L3.T),
        Bad("range", "x", np.array([10.0, 0.0, 0.0])),
    ),
    Row(
        "mltheory.numerics.cholesky_append",
        numerics.cholesky_append,
        lambda: ((L3, np.array([0.1, 0.1, 0.1]), 5.0), {}),
        Bad("shape", "L", np.ones((3, 2))),
        Bad("shape", "a", np.ones(2)),
        Bad("shape", "c", np.ones(2)),
        Bad("nonfinite", "a", _with([0.1, 0.1, 0.1], INF)),
        Bad("nonfinite", "c", NAN),
        Bad("complex", "L", _cplx(L3), TypeError),
        Bad("none", "a", None, TypeError),
        Bad("range", "c", -1.0, match=r"positive definite"),
    ),
    Row(
        "mltheory.numerics.cholesky_update",
        numerics.cholesky_update,
        lambda: ((L3, np.array([0.1, 0.1, 0.1])), {}),
        Bad("shape", "L", np.ones((3, 2))),
        Bad("nonfinite", "x", _with([0.1, 0.1, 0.1], INF)),
        Bad("complex", "L", _cplx(L3), TypeError),
        Bad("none", "x", None, TypeError),
    ),
    Row(
        "mltheory.numerics.expect",
        numerics.expect,
        lambda: ((jnp.sin, 0.0, 1.0), {}),
        Bad("type", "f", 3.0, TypeError),
        Bad("shape", "cov", np.ones(3)),
        Bad("nonfinite", "mean", NAN),
        Bad("range", "cov", -1.0),
        Bad("complex", "cov", 1.0 + 1j, TypeError),
        Bad("overflow", "cov", F32_OVERFLOW, match=r"cov must be finite", x64=False),
        Bad("option", "method", "mc"),
        Bad("size", "n_nodes", 0),
        Bad("key", "key", 0, TypeError, match=r"key"),
    ),
    Row(
        "mltheory.numerics.first_nonfinite_index",
        numerics.first_nonfinite_index,
        lambda: ((jnp.ones(2),), {}),
        Bad("string", "tree", "abc", TypeError, match=r"."),
    ),
    Row(
        "mltheory.numerics.gauss_hermite_rule",
        numerics.gauss_hermite_rule,
        lambda: ((5,), {}),
        Bad("size", "n_nodes", 0),
        Bad("type", "n_nodes", 2.5, TypeError),
        Bad("none", "n_nodes", None, TypeError),
    ),
    Row(
        "mltheory.numerics.gumbel_noise",
        numerics.gumbel_noise,
        lambda: ((KEY, (2,)), {}),
        Bad("key", "key", 0, TypeError),
        Bad("size", "shape", (-1,)),
        Bad("dtype", "dtype", jnp.int32, TypeError),
    ),
    Row(
        "mltheory.numerics.gumbel_topk",
        numerics.gumbel_topk,
        lambda: ((KEY, jnp.zeros(4), 2), {}),
        Bad("key", "key", 0, TypeError),
        Bad("shape", "scores", jnp.zeros((1, 1, 4))),
        Bad("nonfinite", "scores", _with(np.zeros(4), NAN)),
        Bad("range", "k", 5),
        Bad("size", "k", -1),
        Bad("rate", "noise_scale", -1.0),
        Bad("complex", "scores", _cplx(np.zeros(4)), TypeError),
    ),
    Row(
        "mltheory.numerics.gumbel_topk_indices",
        numerics.gumbel_topk_indices,
        lambda: ((KEY, jnp.zeros(4), 2), {}),
        Bad("key", "key", "k", TypeError),
        Bad("range", "k", 5),
        Bad("nonfinite", "logits", _with(np.zeros(4), NAN)),
    ),
    Row(
        "mltheory.numerics.handle_divergence",
        numerics.handle_divergence,
        lambda: (
            (numerics.Trajectory(ts=jnp.zeros(2), ys=jnp.zeros(2)),),
            {"on_divergence": "raise", "what": "w", "cause": "c"},
        ),
        Bad("option", "on_divergence", "ignore"),
        Bad("type", "result", jnp.zeros(2), TypeError, match="first_bad_step"),
    ),
    Row(
        "mltheory.numerics.hermite_coefficients",
        numerics.hermite_coefficients,
        lambda: ((jnp.tanh, 4), {}),
        Bad("type", "fn", "tanh", TypeError),
        Bad("size", "degree", -1),
        Bad("size", "n_nodes", 3),
    ),
    Row(
        "mltheory.numerics.hermite_e",
        numerics.hermite_e,
        lambda: ((3, jnp.ones(2)), {}),
        Bad("size", "k_max", -1),
        Bad("nonfinite", "z", _with(np.ones(2), NAN)),
        Bad("complex", "z", _cplx(np.ones(2)), TypeError),
    ),
    Row(
        "mltheory.numerics.hermite_inner",
        numerics.hermite_inner,
        lambda: ((_RELU, _RELU), {}),
        Bad("type", "s1", jnp.ones(3), TypeError),
        Bad("range", "rho", 1.5),
        Bad("nonfinite", "rho", NAN),
        Bad("complex", "rho", 0.5 + 0.1j, TypeError),
    ),
    Row(
        "mltheory.numerics.inner_product_kernel",
        numerics.inner_product_kernel,
        lambda: ((X43,), {}),
        Bad("shape", "X", np.ones(3)),
        Bad("nonfinite", "X", _with(X43, NAN)),
        Bad("rate", "scale", 0.0),
        Bad("type", "fn", 2.0, TypeError),
        Bad("complex", "X", _cplx(X43), TypeError),
    ),
    Row(
        "mltheory.numerics.kernel_matrix",
        numerics.kernel_matrix,
        lambda: ((X43,), {}),
        Bad("option", "kernel", "gauss"),
        Bad("shape", "Y", np.ones((2, 5))),
        Bad("rate", "lengthscale", -1.0),
    ),
    Row(
        "mltheory.numerics.linear_kernel",
        numerics.linear_kernel,
        lambda: ((X43,), {}),
        Bad("shape", "X", np.ones((2, 2, 2))),
        Bad("none", "X", None, TypeError),
        Bad("complex", "Y", _cplx(X43), TypeError),
    ),
    Row(
        "mltheory.numerics.matern_kernel",
        numerics.matern_kernel,
        lambda: ((X43,), {}),
        Bad("option", "nu", 1.0),
        Bad("rate", "lengthscale", 0.0),
        Bad("rate", "variance", -1.0),
        Bad("nonfinite", "variance", INF),
    ),
    Row(
        "mltheory.numerics.newton_schulz",
        numerics.newton_schulz,
        lambda: ((X43,), {}),
        Bad("shape", "G", np.ones(3)),
        Bad("size", "steps", 0),
        Bad("option", "coeffs", "muonx"),
        Bad("shape", "coeffs", np.ones(4)),
        Bad("rate", "eps", -1.0),
        Bad("complex", "G", _cplx(X43), TypeError),
        Bad("dtype", "compute_dtype", jnp.int32, TypeError),
    ),
    Row(
        "mltheory.numerics.ns_coefficient_table",
        numerics.ns_coefficient_table,
        lambda: (("muon",), {}),
        Bad("option", "coeffs", "nope"),
        Bad("size", "steps", 0),
        Bad("nonfinite", "coeffs", np.array([NAN, 1.0, 1.0])),
    ),
    Row(
        "mltheory.numerics.pairwise_sq_dists",
        numerics.pairwise_sq_dists,
        lambda: ((X43,), {}),
        Bad("shape", "Y", np.ones((2, 4))),
        Bad("nonfinite", "X", _with(X43, INF)),
        Bad("string", "X", "abc", TypeError),
    ),
    Row(
        "mltheory.numerics.polar",
        numerics.polar,
        lambda: ((X43,), {}),
        Bad("option", "method", "qr"),
        Bad("size", "ns_steps", 0, match=r"ns_steps must be >= 1"),
        Bad("option", "ns_coeffs", "x", match=r"ns_coeffs must be one of"),
        Bad("nonfinite", "G", _with(X43, NAN)),
        Bad("rate", "rank_tol", -1.0),
    ),
    Row(
        "mltheory.numerics.polar_svd",
        numerics.polar_svd,
        lambda: ((X43,), {}),
        Bad("shape", "G", np.ones(4)),
        Bad("rate", "rank_tol", -0.1),
        Bad("complex", "G", _cplx(X43), TypeError),
    ),
    Row(
        "mltheory.numerics.polynomial_kernel",
        numerics.polynomial_kernel,
        lambda: ((X43,), {}),
        Bad("size", "degree", 0),
        Bad("rate", "offset", -1.0),
        Bad("rate", "scale", 0.0),
    ),
    Row(
        "mltheory.numerics.polynomial_series",
        numerics.polynomial_series,
        lambda: (([1.0, 0.0, 2.0],), {}),
        Bad("nonfinite", "monomial_coeffs", [1.0, NAN]),
        Bad("size", "degree", -1),
        Bad("complex", "monomial_coeffs", [1.0, 1j], TypeError),
        Bad("string", "monomial_coeffs", "x^2", TypeError),
    ),
    Row(
        "mltheory.numerics.project_psd",
        numerics.project_psd,
        lambda: ((S3,), {}),
        Bad("shape", "A", np.ones((2, 3))),
        Bad("nonfinite", "A", _with(S3, NAN)),
        Bad("nonfinite", "min_eigenvalue", NAN),
    ),
    Row(
        "mltheory.numerics.rbf_kernel",
        numerics.rbf_kernel,
        lambda: ((X43,), {}),
        Bad("rate", "lengthscale", 0.0),
        Bad("shape", "lengthscale", np.ones(5)),
        Bad("complex", "X", _cplx(X43), TypeError),
    ),
    Row(
        "mltheory.numerics.scan_with_records",
        numerics.scan_with_records,
        lambda: ((lambda n, x: x, jnp.zeros(())), {"n_steps": 4}),
        Bad("type", "step", 1.0, TypeError),
        Bad("size", "n_steps", 0),
        Bad("range", "record_every", 3),
    ),
    Row(
        "mltheory.numerics.solve_assignment",
        numerics.solve_assignment,
        lambda: ((C3,), {}),
        Bad("shape", "cost", np.ones(3)),
        Bad("nonfinite", "cost", _with(C3, NAN)),
        Bad("complex", "cost", _cplx(C3), TypeError),
        Bad("type", "maximize", 1, TypeError),
    ),
    Row(
        "mltheory.numerics.solve_assignment_batched",
        numerics.solve_assignment_batched,
        lambda: ((C3[None],), {}),
        Bad("shape", "costs", C3),
        Bad("nonfinite", "costs", _with(C3[None], INF)),
        Bad("complex", "costs", _cplx(C3[None]), TypeError),
        Bad("option", "backend", "gpu"),
        Bad("size", "n_threads", 0),
    ),
    Row(
        "mltheory.numerics.solve_assignment_sq_diff",
        numerics.solve_assignment_sq_diff,
        lambda: ((np.zeros((1, 3)), np.ones((1, 3))), {}),
        Bad("shape", "g", np.ones((1, 4))),
        Bad("nonfinite", "r", _with(np.zeros((1, 3)), NAN)),
        Bad("shape", "off_diagonal", np.ones(3)),
        Bad("complex", "g", _cplx(np.ones((1, 3))), TypeError),
    ),
    Row(
        "mltheory.numerics.solve_ode",
        numerics.solve_ode,
        lambda: ((_neg, jnp.ones(2)), {"grid": GRID}),
        Bad("type", "vector_field", 1.0, TypeError),
        Bad("nonfinite", "y0", _with(np.ones(2), NAN)),
        Bad("complex", "y0", _cplx(np.ones(2)), TypeError),
        Bad("type", "grid", (1.0, 4), TypeError),
        Bad("option", "method", "rk45"),
        Bad("range", "record_every", 3),
        Bad("option", "on_divergence", "ignore"),
        Bad("none", "y0", None, match=r"y0 must be an array"),
        Bad(
            "pytree",
            "vector_field",
            lambda t, y, args: (y, y),
            match=r"vector_field\(t, y, args\) must return",
        ),
    ),
    Row(
        "mltheory.numerics.solve_ode",
        numerics.solve_ode,
        lambda: ((_neg, jnp.ones(2, jnp.float32)), {"grid": GRID}),
        Bad(
            "overflow",
            "grid",
            numerics.TimeGrid(1e39, 4),
            match=r"grid.t_max must be finite in float32 \(the dtype of y0\)",
        ),
    ),
    Row(
        "mltheory.numerics.solve_ode_stiff",
        numerics.solve_ode_stiff,
        lambda: ((_neg, jnp.ones(2)), {"ts": jnp.linspace(0.0, 1.0, 3)}),
        Bad("shape", "ts", jnp.ones((2, 2))),
        Bad("range", "ts", jnp.asarray([0.0, 1.0, 0.5])),
        Bad("rate", "rtol", 0.0),
        Bad("option", "method", "RK45"),
        Bad("nonfinite", "y0", _with(np.ones(2), INF)),
    ),
    Row(
        "mltheory.numerics.solve_sde",
        numerics.solve_sde,
        lambda: ((_neg, _add_noise, jnp.ones(2)), {"grid": GRID, "key": KEY}),
        Bad("key", "key", 0, TypeError),
        Bad("type", "diffusion", None, TypeError),
        Bad("nonfinite", "y0", _with(np.ones(2), NAN)),
        Bad("shape", "increments", jnp.ones((3, 2)), match=r"Exactly one of key"),
        Bad("option", "on_divergence", "nan"),
        Bad("option", "method", "milstein"),
        Bad("type", "noise_shape", (0,), TypeError),
        Bad("complex", "y0", _cplx(np.ones(2)), TypeError),
    ),
    Row(
        "mltheory.numerics.split_gaussian_rule",
        numerics.split_gaussian_rule,
        lambda: ((8,), {}),
        Bad("size", "n_per_side", 0),
        Bad("rate", "z_max", -1.0),
        Bad("nonfinite", "z_max", INF),
    ),
    Row(
        "mltheory.numerics.split_keys",
        numerics.split_keys,
        lambda: ((KEY, 2), {}),
        Bad("key", "key", 3, TypeError),
        Bad("size", "num", 0),
        Bad("type", "num", 2.5, TypeError),
    ),
    Row(
        "mltheory.numerics.sqrtm_psd",
        numerics.sqrtm_psd,
        lambda: ((S3,), {}),
        Bad("shape", "A", np.ones((3, 2))),
        Bad("range", "A", -S3),
        Bad("rate", "eps", -1.0),
        Bad("complex", "A", _cplx(S3), TypeError),
    ),
    Row(
        "mltheory.numerics.sqrtm_psd",
        numerics.sqrtm_psd,
        lambda: ((S3,), {"inverse": True}),
        Bad("range", "A", np.zeros((2, 2)), match=r"A must have a positive eigenvalue"),
        Bad("type", "inverse", 1, TypeError),
    ),
    Row(
        "mltheory.numerics.update_first_bad_step",
        numerics.update_first_bad_step,
        lambda: ((-1, 1, jnp.ones(2)), {}),
        Bad("string", "tree", "abc", TypeError, match=r"."),
    ),
]


# --------------------------------------------------------------------------- #
# mltheory.optim
# --------------------------------------------------------------------------- #

from mltheory import optim  # noqa: E402
from mltheory.optim import phase_retrieval as pr  # noqa: E402
from mltheory.optim import sgf  # noqa: E402

_PARAMS = {"a": jnp.ones((3, 2)), "b": jnp.ones((2, 2))}
_COV = pr.spiked_covariance(4, 1.0)
_SIGMA = np.asarray(_COV.matrix())
_W4 = np.eye(4)[:, :2] * 0.1
_XS = np.ones((4, 100)) / 10.0  # d = 100: no finite-size warning
_YS = np.ones(4)
_SQ = lambda r, y: 0.5 * jnp.sum((r - y) ** 2)


def _specgd_update(updates, momentum=None):
    tx = optim.specgd(0.1, momentum=momentum)
    return tx.update(updates, tx.init(_PARAMS), _PARAMS)


ROWS += [
    Row(
        "mltheory.optim.scale_by_spectral",
        optim.scale_by_spectral,
        lambda: ((), {}),
        Bad("size", "ns_steps", 0, match=r"ns_steps must be >= 1"),
        Bad("option", "ns_coeffs", "muonx", match=r"ns_coeffs must be one of"),
        Bad("option", "method", "qr"),
        Bad("rate", "eps", 0.0),
        Bad("rate", "rms_target", -1.0),
        Bad("type", "check_finite", 1, TypeError),
        Bad("dtype", "compute_dtype", jnp.int8, TypeError),
    ),
    Row(
        "mltheory.optim.specgd",
        _specgd_update,
        lambda: (({"a": jnp.ones((3, 2)), "b": jnp.ones((2, 2))},), {}),
        Bad("pytree", "updates", {"a": jnp.ones((3, 2)), "c": jnp.ones((2, 2))}),
        Bad("pytree", "updates", {"a": jnp.ones((2, 3)), "b": jnp.ones((2, 2))}),
    ),
    Row(
        "mltheory.optim.specgd",
        _specgd_update,
        lambda: (({"a": jnp.ones((3, 2)), "b": jnp.ones((2, 2))},), {"momentum": 0.9}),
        Bad(
            "pytree",
            "updates",
            {"a": jnp.ones((2, 3)), "b": jnp.ones((2, 2))},
            match=r"updates\['a'\] must have the shape of params\['a'\], \(3, 2\)",
        ),
        Bad("range", "momentum", 1.0),
    ),
    Row(
        "mltheory.optim.specgd",
        optim.specgd,
        lambda: ((0.1,), {}),
        Bad("rate", "learning_rate", 0.0),
        Bad("nonfinite", "learning_rate", NAN),
        Bad("string", "learning_rate", "0.1", TypeError),
        Bad("type", "nesterov", 1, TypeError),
        Bad("option", "method", "qr"),
    ),
    Row(
        "mltheory.optim.specgd_step",
        optim.specgd_step,
        lambda: (
            (jnp.ones((3, 2), jnp.float32), jnp.ones((3, 2), jnp.float32), 0.1),
            {},
        ),
        Bad("shape", "G", jnp.ones((2, 3))),
        Bad("nonfinite", "W", _with(np.ones((3, 2)), NAN)),
        Bad("rate", "lr", -0.1),
        Bad(
            "overflow",
            "lr",
            F32_OVERFLOW,
            match=r"lr must be finite in float32 \(the dtype of W\)",
        ),
        Bad("complex", "G", _cplx(np.ones((3, 2))), TypeError),
        Bad("size", "ns_steps", 0, match=r"ns_steps must be >= 1"),
    ),
    # phase retrieval
    Row(
        "mltheory.optim.phase_retrieval.spiked_covariance",
        pr.spiked_covariance,
        lambda: ((4, 1.0), {}),
        Bad("size", "d", 2),
        Bad("range", "kappa", -1.0),
        Bad("rate", "s_u", 0.0),
        Bad("nonfinite", "s_bulk", INF),
        Bad("key", "key", 0, TypeError),
        Bad("shape", "u", np.ones(3)),
        Bad("type", "d", 4.5, TypeError),
        Bad("none", "kappa", None, TypeError),
        Bad("complex", "kappa", 1j, TypeError),
    ),
    Row(
        "mltheory.optim.phase_retrieval.power_law_covariance",
        pr.power_law_covariance,
        lambda: ((4, 1.0), {}),
        Bad("size", "d", 0),
        Bad("rate", "alpha", -1.0),
        Bad("range", "signal_index", 9),
    ),
    Row(
        "mltheory.optim.phase_retrieval.escape_rates",
        pr.escape_rates,
        lambda: ((_COV, 0.01, "gd"), {}),
        Bad("rate", "lr", 0.0),
        Bad("option", "method", "adam"),
        Bad("range", "init_scale", 2.0),
        Bad("type", "cov", _SIGMA, TypeError),
    ),
    Row(
        "mltheory.optim.phase_retrieval.compare_gd_specgd",
        pr.compare_gd_specgd,
        lambda: ((_COV,), {"lr_gd": 0.01, "lr_specgd": 0.01, "steps": 3}),
        Bad("nonfinite", "lr_gd", NAN, match=r"lr_gd must be finite"),
        Bad("rate", "lr_specgd", 0.0, match=r"lr_specgd must be > 0"),
        Bad("size", "steps", 0),
        Bad("type", "cov", None, TypeError),
        Bad("option", "polar", "qr"),
    ),
    Row(
        "mltheory.optim.phase_retrieval.empirical_loss",
        pr.empirical_loss,
        lambda: ((_W4, np.ones((5, 4)), np.ones(5)), {}),
        Bad("shape", "y", np.ones(4)),
        Bad("shape", "W", np.ones((3, 2))),
        Bad("nonfinite", "X", _with(np.ones((5, 4)), NAN)),
        Bad("complex", "W", _cplx(_W4), TypeError),
    ),
    Row(
        "mltheory.optim.phase_retrieval.population_grad",
        pr.population_grad,
        lambda: ((_W4, _SIGMA, np.eye(4)[0]), {}),
        Bad("shape", "theta_star", np.ones(3)),
        Bad("range", "Sigma", -_SIGMA),
        Bad("nonfinite", "W", _with(_W4, INF)),
    ),
    Row(
        "mltheory.optim.phase_retrieval.population_loss",
        pr.population_loss,
        lambda: ((_W4, _SIGMA, np.eye(4)[0]), {}),
        Bad("shape", "Sigma", np.ones((4, 3))),
        Bad("complex", "Sigma", _cplx(_SIGMA), TypeError),
        Bad("none", "W", None, TypeError),
    ),
    Row(
        "mltheory.optim.phase_retrieval.sample_phase_retrieval",
        pr.sample_phase_retrieval,
        lambda: ((KEY, 5, _SIGMA, np.eye(4)[0]), {}),
        Bad("key", "key", 0, TypeError),
        Bad("size", "n", 0),
        Bad("rate", "noise_std", -1.0),
        Bad("shape", "theta_star", np.ones(5)),
    ),
    Row(
        "mltheory.optim.phase_retrieval.simulate_full",
        pr.simulate_full,
        lambda: ((KEY, _COV), {"method": "gd", "lr": 0.01, "steps": 4}),
        Bad("key", "key", 1, TypeError),
        Bad("rate", "lr", -1.0),
        Bad("range", "record_every", 3),
        Bad("option", "on_divergence", "ignore"),
        Bad("size", "width", 2),
        Bad("size", "ns_steps", 0, match=r"ns_steps must be >= 1"),
        Bad("type", "lr_schedule", 0.5, TypeError),
    ),
    Row(
        "mltheory.optim.phase_retrieval.simulate_reduced",
        pr.simulate_reduced,
        lambda: ((_COV,), {"method": "gd", "lr": 0.01, "steps": 4}),
        Bad("option", "method", "sgd"),
        Bad("size", "steps", 0),
        Bad("rate", "init_scale", 0.0),
        Bad("option", "on_divergence", None),
        Bad("option", "ns_coeffs", "nope", match=r"ns_coeffs must be one of"),
    ),
    Row(
        "mltheory.optim.phase_retrieval.summary_stats",
        pr.summary_stats,
        lambda: ((_W4, _COV), {}),
        Bad("shape", "W", np.ones((3, 2))),
        Bad("type", "cov", _SIGMA, TypeError),
        Bad("nonfinite", "W", _with(_W4, NAN)),
    ),
    # SGF and SGD
    Row(
        "mltheory.optim.sgf.sgd_to_sgf",
        sgf.sgd_to_sgf,
        lambda: ((0.1, 2, 100), {}),
        Bad("rate", "lr", 0.0),
        Bad("size", "batch_size", 0),
        Bad("size", "d", 0),
        Bad("type", "batch_size", 1.5, TypeError),
    ),
    Row(
        "mltheory.optim.sgf.simulate_sgd",
        sgf.simulate_sgd,
        lambda: (
            (KEY, _XS, _YS, np.zeros(100)),
            {"loss": _SQ, "lr": 0.1, "batch_size": 2, "n_steps": 4},
        ),
        Bad("key", "key", 0, TypeError),
        Bad("shape", "y", np.ones(3)),
        Bad("shape", "theta0", np.zeros(99)),
        Bad("nonfinite", "X", _with(_XS, NAN)),
        Bad("rate", "lr", 0.0),
        Bad("range", "batch_size", 5),
        Bad("option", "sampling", "random"),
        Bad("option", "on_divergence", "ignore"),
        Bad("complex", "X", _cplx(_XS), TypeError),
        Bad("type", "loss", "mse", TypeError),
        Bad("type", "mesh", "cpu", TypeError),
    ),
    Row(
        "mltheory.optim.sgf.simulate_sgf",
        sgf.simulate_sgf,
        lambda: (
            (KEY, _XS, _YS, np.zeros(100, np.float32)),
            {"loss": _SQ, "tau": 0.1, "grid": GRID},
        ),
        Bad("type", "grid", 4, TypeError),
        Bad("rate", "tau", -1.0),
        Bad("rate", "ridge", -1.0),
        Bad("option", "method", "milstein"),
        Bad("option", "on_divergence", "warn!"),
        Bad("overflow", "X", _with(_XS, F32_OVERFLOW), match=r"overflows float32"),
        Bad("none", "theta0", None, TypeError),
        Bad("range", "record_every", 3),
        Bad("type", "mesh", "cpu", TypeError),
    ),
]


# --------------------------------------------------------------------------- #
# mltheory.generative
# --------------------------------------------------------------------------- #

from mltheory import generative as gen  # noqa: E402
from mltheory.generative import theory as gth  # noqa: E402
from mltheory.generative import toy  # noqa: E402

_V, _L, _MASK = 3, 4, 3
_TOKENS = np.full((1, _L), _MASK, np.int32)
_CHAIN = toy.random_markov(KEY, _V, length=_L)
_P2 = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])


def _logits_fn(tokens, mask):
    return jnp.zeros((*tokens.shape, _V))


_SAMPLER = {"mask_id": _MASK, "num_steps": 2}

ROWS += [
    Row(
        "mltheory.generative.BetaTokens",
        gen.BetaTokens,
        lambda: ((2.0,), {}),
        Bad("rate", "beta", -1.0),
        Bad("nonfinite", "beta", NAN),
        Bad("string", "beta", "2", TypeError),
    ),
    Row(
        "mltheory.generative.Greedy",
        gen.Greedy,
        lambda: (("moment",), {"beta": 2.0}),
        Bad("option", "score", "best"),
        Bad("nonfinite", "beta", NAN),
        Bad("none", "beta", None),
    ),
    Row(
        "mltheory.generative.Hybrid",
        gen.Hybrid,
        lambda: ((), {}),
        Bad("range", "exploit_fraction", 1.5),
        Bad("nonfinite", "exploit_fraction", NAN),
        Bad("type", "explore", 3.0, TypeError),
    ),
    Row(
        "mltheory.generative.Moment",
        gen.Moment,
        lambda: ((), {}),
        Bad("range", "beta", 0.5),
        Bad("nonfinite", "beta", NAN),
        Bad("type", "allow_beta_below_one", 1, TypeError),
    ),
    Row(
        "mltheory.generative.TemperatureTokens",
        gen.TemperatureTokens,
        lambda: ((), {}),
        Bad("rate", "temperature", -1.0),
        Bad("nonfinite", "temperature", NAN),
    ),
    Row(
        "mltheory.generative.Tempered",
        gen.Tempered,
        lambda: ((), {}),
        Bad("rate", "eta", -1.0),
        Bad("option", "score", "entropy!"),
    ),
    Row(
        "mltheory.generative.Uniform",
        lambda key: gen.Uniform()(key, jnp.zeros((_L, _V)), jnp.ones(_L, bool), 1, 0),
        lambda: ((KEY,), {}),
        Bad("key", "key", 0, TypeError, match=r"key|PRNG"),
    ),
    Row(
        "mltheory.generative.cts_sample",
        gen.cts_sample,
        lambda: (
            (KEY, _logits_fn, _TOKENS),
            {**_SAMPLER, "position_policy": gen.Uniform()},
        ),
        Bad("key", "key", 0, TypeError),
        Bad("type", "position_policy", "uniform", TypeError),
        Bad("size", "num_steps", 0),
        Bad("option", "schedule", "cosinus"),
        Bad("type", "logits_fn", None, TypeError),
    ),
    Row(
        "mltheory.generative.gumbel_scale_schedule",
        gen.gumbel_scale_schedule,
        lambda: ((4.5, 3), {}),
        Bad("rate", "tau0", -1.0),
        Bad("nonfinite", "tau0", NAN),
        Bad("size", "num_steps", 0),
        Bad("option", "anneal", "cubic"),
    ),
    Row(
        "mltheory.generative.hybrid_sample",
        gen.hybrid_sample,
        lambda: ((KEY, _logits_fn, _TOKENS), dict(_SAMPLER)),
        Bad("range", "exploit_fraction", 2.0),
        Bad("option", "explore", "greedy"),
        Bad("option", "exploit_score", "margin!"),
        Bad("type", "tokens", np.zeros((1, _L)), TypeError),
    ),
    Row(
        "mltheory.generative.mask_schedule",
        gen.mask_schedule,
        lambda: ((0.5,), {}),
        Bad("nonfinite", "ratio", NAN),
        Bad("range", "ratio", 1.5),
        Bad("size", "total", 0.0),
        Bad("option", "schedule", "cos"),
        Bad("string", "ratio", "half", TypeError),
    ),
    Row(
        "mltheory.generative.maskgit_sample",
        gen.maskgit_sample,
        lambda: ((KEY, _logits_fn, _TOKENS), dict(_SAMPLER)),
        Bad("key", "key", 7, TypeError),
        Bad("rate", "choice_temperature", -1.0),
        Bad("rate", "token_temperature", 0.0),
        Bad("option", "mode", "fast"),
        Bad("range", "mask_id", -1),
        Bad("type", "tokens", np.zeros((1, _L)), TypeError),
    ),
    Row(
        "mltheory.generative.moment_sample",
        gen.moment_sample,
        lambda: ((KEY, _logits_fn, _TOKENS), dict(_SAMPLER)),
        Bad("range", "beta", 0.5),
        Bad("rate", "alpha", -1.0),
        Bad("option", "anneal", "cubic"),
    ),
    Row(
        "mltheory.generative.partial_cache_sample",
        gen.partial_cache_sample,
        lambda: (
            (KEY, None, _TOKENS),
            {
                "mask_id": _MASK,
                "num_full_steps": 2,
                "substeps": 1,
                "position_policy": gen.Uniform(),
            },
        ),
        Bad("type", "denoiser", 3.0, TypeError),
        Bad("size", "substeps", 0),
        Bad("size", "num_full_steps", 0),
    ),
    Row(
        "mltheory.generative.position_scores",
        gen.position_scores,
        lambda: ((np.log(_P2),), {}),
        Bad("option", "score", "maxprob"),
        Bad("nonfinite", "log_probs", _with(np.log(_P2), NAN)),
        Bad("string", "log_probs", "p", TypeError),
        Bad("complex", "log_probs", _cplx(np.log(_P2)), TypeError),
    ),
    Row(
        "mltheory.generative.reveal_counts",
        gen.reveal_counts,
        lambda: ((4, 2), {}),
        Bad("size", "num_masked", -1),
        Bad("size", "num_steps", 0),
        Bad("option", "mode", "both"),
    ),
    # theory
    Row(
        "mltheory.generative.theory.beta_from_alpha",
        gth.beta_from_alpha,
        lambda: ((1.0,), {}),
        Bad("rate", "alpha", -1.0),
        Bad("nonfinite", "alpha", NAN),
    ),
    Row(
        "mltheory.generative.theory.exact_output_distribution",
        gth.exact_output_distribution,
        lambda: (("maskgit", _CHAIN), {"num_steps": 2}),
        Bad("option", "sampler", "gibbs"),
        Bad("size", "num_steps", 0),
        Bad("type", "model", "chain", TypeError),
    ),
    Row(
        "mltheory.generative.theory.implicit_temperature",
        gth.implicit_temperature,
        lambda: ((1.0,), {}),
        Bad("rate", "alpha", -1.0),
        Bad("string", "alpha", "1", TypeError),
    ),
    Row(
        "mltheory.generative.theory.kl_divergence",
        gth.kl_divergence,
        lambda: ((_P2, _P2), {}),
        Bad("law", "p", np.array([[1.5, -0.5, 0.0], [0.1, 0.1, 0.8]])),
        Bad("law", "q", np.array([[1.0, 1.0, 1.0], [0.1, 0.1, 0.8]])),
        Bad("shape", "q", _P2[:, :2]),
        Bad("nonfinite", "p", _with(_P2, NAN)),
        Bad("complex", "q", _cplx(_P2), TypeError),
    ),
    Row(
        "mltheory.generative.theory.maskgit_step_law",
        gth.maskgit_step_law,
        lambda: ((_P2, 1.0), {}),
        Bad("law", "probs", _P2 * 2),
        Bad("rate", "alpha", -1.0),
        Bad("option", "method", "exact!"),
    ),
    Row(
        "mltheory.generative.theory.moment_scores",
        gth.moment_scores,
        lambda: ((np.log(_P2), 2.0), {}),
        Bad("rate", "beta", -1.0),
        Bad("shape", "mask", np.ones(5, bool)),
        Bad("nonfinite", "logits", _with(_P2, NAN)),
    ),
    Row(
        "mltheory.generative.theory.moment_step_law",
        gth.moment_step_law,
        lambda: ((_P2,), {"beta": 2.0}),
        Bad("law", "probs", -_P2),
        Bad("range", "beta", 0.5),
    ),
    Row(
        "mltheory.generative.theory.position_law_given_tokens",
        gth.position_law_given_tokens,
        lambda: ((np.array([0.5, 0.2]), 1.0), {}),
        Bad("range", "p_sel", np.array([1.5, 0.2])),
        Bad("rate", "alpha", -1.0),
        Bad("shape", "p_sel", np.ones((2, 2)) / 2),
    ),
    Row(
        "mltheory.generative.theory.total_variation",
        gth.total_variation,
        lambda: ((_P2, _P2), {}),
        Bad("law", "p", _P2 * 2),
        Bad("law", "q", -_P2),
        Bad("none", "p", None, TypeError),
    ),
    # toy models
    Row(
        "mltheory.generative.toy.JointTableModel",
        toy.JointTableModel,
        lambda: ((np.ones((3, 3)) / 9,), {}),
        Bad("law", "probs", -np.ones((3, 3))),
        Bad("shape", "probs", np.ones((3, 2)) / 6),
        Bad("range", "length", 5),
        Bad("range", "vocab", 7),
        Bad("nonfinite", "probs", _with(np.ones((3, 3)), NAN)),
    ),
    Row(
        "mltheory.generative.toy.JointTableModel",
        lambda x: toy.JointTableModel(np.ones((3, 3)) / 9).log_prob(x),
        lambda: ((np.array([0, 1]),), {}),
        Bad("range", "x", np.array([0, 7])),
        Bad("shape", "x", np.array([0, 1, 2])),
        Bad("type", "x", np.array([0.0, 1.0]), TypeError),
    ),
    Row(
        "mltheory.generative.toy.MarkovChainModel",
        lambda x: _CHAIN.log_prob(x),
        lambda: ((np.array([0, 1, 2, 1]),), {}),
        Bad("range", "x", np.array([0, 1, 7, 2])),
        Bad("range", "x", np.array([-1, 1, 2, 2])),
        Bad("type", "x", "0123", TypeError),
    ),
    Row(
        "mltheory.generative.toy.MarkovChainModel",
        toy.MarkovChainModel,
        lambda: ((np.ones(3) / 3, np.ones((3, 3)) / 3), {}),
        Bad("law", "trans", -np.ones((3, 3))),
        Bad("shape", "trans", np.ones((3, 2)) / 2),
        Bad("size", "length", 0),
    ),
    Row(
        "mltheory.generative.toy.TransformerConfig",
        toy.TransformerConfig,
        lambda: ((4, 3), {}),
        Bad("size", "vocab", 0),
        Bad("size", "n_heads", 3),
        Bad("type", "d_model", 8.5, TypeError),
    ),
    Row(
        "mltheory.generative.toy.TinyTransformer",
        toy.TinyTransformer.init,
        lambda: ((KEY, toy.TransformerConfig(4, 3, d_model=8, n_heads=2)), {}),
        Bad("key", "key", 0, TypeError),
        Bad("type", "config", (4, 3), TypeError),
    ),
    Row(
        "mltheory.generative.toy.all_sequences",
        toy.all_sequences,
        lambda: ((2, 3), {}),
        Bad("size", "length", 0),
        Bad("size", "vocab", 0),
        Bad("range", "length", 40),
    ),
    Row(
        "mltheory.generative.toy.random_joint",
        toy.random_joint,
        lambda: ((KEY, 2, 3), {}),
        Bad("key", "key", 0, TypeError),
        Bad("rate", "concentration", 0.0),
        Bad("size", "vocab", 1),
    ),
    Row(
        "mltheory.generative.toy.random_markov",
        toy.random_markov,
        lambda: ((KEY, 3), {}),
        Bad("key", "key", None, TypeError),
        Bad("range", "stickiness", 1.5),
        Bad("rate", "concentration", -1.0),
    ),
    Row(
        "mltheory.generative.toy.train_tiny_transformer",
        toy.train_tiny_transformer,
        lambda: ((KEY, None, None), {}),
        Bad("type", "model", "transformer", TypeError),
    ),
]


# --------------------------------------------------------------------------- #
# mltheory.stats
# --------------------------------------------------------------------------- #

from mltheory.stats import shuffled  # noqa: E402

_XSH = np.random.default_rng(0).normal(size=(12, 2))
_YSH = _XSH @ np.ones(2)
_XY = ((_XSH, _YSH), {})

ROWS += [
    Row(
        "mltheory.stats.shuffled.ShuffledRegression",
        lambda X, Y, **kw: shuffled.ShuffledRegression(**kw).fit(X, Y),
        lambda: _XY,
        Bad("shape", "Y", _YSH[:5]),
        Bad("nonfinite", "X", _with(_XSH, NAN)),
        Bad("complex", "X", _cplx(_XSH), TypeError),
        Bad("overflow", "Y", _YSH * 1e200, match=r"Y must have entries of magnitude"),
        Bad("rate", "ridge", -1.0),
        Bad("size", "n_starts", 0),
        Bad("range", "alpha", 1.5),
        Bad("option", "penalty", "bic"),
    ),
    Row(
        "mltheory.stats.shuffled.ShuffledRegression",
        lambda attr: getattr(shuffled.ShuffledRegression(), attr),
        lambda: (("coef_",), {}),
        Bad("type", "attr", "coef_", NotFittedError, match=r"not fitted yet"),
        Bad("type", "attr", "permutation_", NotFittedError, match=r"not fitted yet"),
    ),
    Row(
        "mltheory.stats.shuffled.coefficient_confidence_set",
        shuffled.coefficient_confidence_set,
        lambda: _XY,
        Bad("range", "alpha", 0.0),
        Bad("range", "alpha_loc", 1.0),
        Bad("size", "n_draws", -1),
        Bad("shape", "X", _XSH[:, 0]),
        Bad("type", "candidates", "all", match=r"candidates must be a CandidateSet"),
    ),
    Row(
        "mltheory.stats.shuffled.conditional_mc_test",
        shuffled.conditional_mc_test,
        lambda: _XY,
        Bad("size", "n_mc", 0),
        Bad("option", "statistic", "lr"),
        Bad("range", "null_perm", np.zeros(12, int)),
        Bad("nonfinite", "Y", _with(_YSH, INF)),
    ),
    Row(
        "mltheory.stats.shuffled.fit_lap",
        shuffled.fit_lap,
        lambda: _XY,
        Bad("overflow", "Y", _YSH * 1e200, match=r"Y must have entries of magnitude"),
        Bad("complex", "Y", _cplx(_YSH), TypeError),
        Bad("shape", "movable", np.ones(5, bool)),
        Bad("range", "permuted_cols", [5]),
        Bad("size", "max_iter", 0),
        Bad("type", "fit_intercept", 1, TypeError),
        Bad("none", "X", None, TypeError),
        Bad("string", "Y", "y", TypeError),
    ),
    Row(
        "mltheory.stats.shuffled.lap_assignment",
        shuffled.lap_assignment,
        lambda: ((_XSH, _YSH, np.ones(2)), {}),
        Bad("shape", "beta", np.ones(3)),
        Bad("rate", "penalty", -1.0),
        Bad("shape", "offset", np.ones(3)),
        Bad("nonfinite", "beta", np.array([1.0, NAN])),
    ),
    Row(
        "mltheory.stats.shuffled.least_squares_bruteforce",
        shuffled.least_squares_bruteforce,
        lambda: ((_XSH[:6], _YSH[:6]), {}),
        Bad("range", "X", _XSH, match=r"n|max_n"),
        Bad("size", "k_max", -1),
        Bad("rate", "penalty", -1.0),
    ),
    Row(
        "mltheory.stats.shuffled.load_beijing_air_quality",
        shuffled.load_beijing_air_quality,
        lambda: (("/nonexistent-folder",), {}),
        Bad("none", "path", None, TypeError),
        Bad("string", "columns", "PM2.5", TypeError),
        Bad("size", "columns", []),
        Bad("option", "station", "Nowhere"),
        Bad("type", "dropna", "yes", TypeError),
    ),
    Row(
        "mltheory.stats.shuffled.permutation_confidence_set",
        shuffled.permutation_confidence_set,
        lambda: _XY,
        Bad("range", "alpha", -0.1),
        Bad("size", "n_mc", 0),
        Bad("shape", "Y", np.ones((12, 2))),
    ),
    Row(
        "mltheory.stats.shuffled.repro_candidate_set",
        shuffled.repro_candidate_set,
        lambda: _XY,
        Bad("size", "n_draws", -1),
        Bad("option", "offset_scale", "sigma"),
        Bad("size", "inner_iter", 0),
        Bad("complex", "X", _cplx(_XSH), TypeError),
    ),
    Row(
        "mltheory.stats.shuffled.simulate_shuffled",
        shuffled.simulate_shuffled,
        lambda: ((12, 2), {"k": 2}),
        Bad("size", "n", 1),
        Bad("size", "p", 0),
        Bad("range", "k", 20),
        Bad("rate", "sigma", -1.0),
        Bad("option", "design", "normal"),
        Bad("option", "shuffle", "swap"),
        Bad("type", "rng", "seed", TypeError),
    ),
    Row(
        "mltheory.stats.shuffled.structure_test",
        shuffled.structure_test,
        lambda: (_XY[0], {"null_set": np.ones(12, bool)}),
        Bad("shape", "null_set", np.ones(5, bool), match=r"null_set must be a boolean"),
        Bad("none", "null_set", None, TypeError, match=r"null_set"),
        Bad("range", "delta", 2.0),
        Bad("size", "n_mc", 0),
    ),
    Row(
        "mltheory.stats.shuffled.synthetic_air_quality",
        shuffled.synthetic_air_quality,
        lambda: ((5,), {}),
        Bad("size", "n_rows", 0),
        Bad("option", "station", "Nowhere"),
        Bad("type", "rng", 1.5, TypeError),
    ),
]


# --------------------------------------------------------------------------- #
# mltheory.dynamics
# --------------------------------------------------------------------------- #

from mltheory.dynamics import dmft  # noqa: E402
from mltheory.dynamics import fast_slow as fs  # noqa: E402
from mltheory.dynamics import tensor_programs as tp  # noqa: E402

_GLM = dmft.glm("square")
_TANH = numerics.activation_series("tanh", 5)
_LIN = numerics.polynomial_series({1: 1.0}, degree=5)
_FSP = fs.FastSlowProblem(_TANH, _LIN, eps=0.1)
_TP = tp.init_params(KEY, 4, 3, 1.0)
_TEACHER = numerics.HermiteSeries(jnp.array([0.0, 1.0]))
_NAN_PRIOR = dmft.SGFModel(
    k=1,
    k_star=1,
    loss=lambda r, rs, e: 0.5 * jnp.sum((r - rs) ** 2),
    sample_theta_star=lambda key, n: jnp.full((n, 1), jnp.nan),
    sample_theta0=lambda key, n: jnp.zeros((n, 1)),
)

ROWS += [
    # DMFT
    Row(
        "mltheory.dynamics.dmft.DMFTConfig",
        dmft.DMFTConfig,
        lambda: ((), {}),
        Bad("size", "n_samples", 10),
        Bad("option", "method", "picard"),
        Bad("range", "damping", 1.5),
        Bad("rate", "tol", 0.0),
        Bad("size", "max_iter", 0),
        Bad("size", "time_blocks", 0),
    ),
    Row(
        "mltheory.dynamics.dmft.SGFModel",
        dmft.SGFModel,
        lambda: (
            (),
            dict(
                k=1,
                k_star=1,
                loss=lambda r, rs, e: jnp.sum(r),
                sample_theta_star=lambda key, n: jnp.zeros((n, 1)),
                sample_theta0=lambda key, n: jnp.zeros((n, 1)),
            ),
        ),
        Bad("size", "k", 0),
        Bad("rate", "ridge", -1.0),
        Bad("type", "loss", "square", TypeError),
        Bad("type", "sample_theta0", None, TypeError),
    ),
    Row(
        "mltheory.dynamics.dmft.glm",
        dmft.glm,
        lambda: (("square",), {}),
        Bad("option", "loss", "hinge"),
        Bad("option", "teacher", "relu"),
        Bad("rate", "noise_std", -1.0),
        Bad("rate", "ridge", -0.5),
        Bad("nonfinite", "noise_std", NAN),
    ),
    Row(
        "mltheory.dynamics.dmft.two_layer",
        dmft.two_layer,
        lambda: ((2,), {}),
        Bad("size", "k", 0),
        Bad("option", "activation", "gelu"),
        Bad("shape", "second_layer", np.ones(3)),
        Bad("rate", "init_std", -1.0),
    ),
    Row(
        "mltheory.dynamics.dmft.linear_regression_dmft",
        dmft.linear_regression_dmft,
        lambda: ((), {"delta": 2.0, "grid": GRID}),
        Bad("rate", "delta", 0.0),
        Bad("rate", "tau", -1.0),
        Bad("type", "grid", 1.0, TypeError),
        Bad("nonfinite", "sigma", NAN),
        Bad("rate", "rho", 0.0),
    ),
    Row(
        "mltheory.dynamics.dmft.linear_regression_mp",
        dmft.linear_regression_mp,
        lambda: ((), {"delta": 2.0, "ts": np.linspace(0.0, 100.0, 21)}),
        Bad("range", "delta", 1.0),
        Bad("range", "ts", np.array([-1.0, 1.0])),
        Bad("rate", "dt", 0.0),
        Bad("option", "on_divergence", "quiet"),
        Bad(
            "rate",
            "dt",
            5.0,
            DivergenceError,
            match=r"dt \* \(s_max \+ ridge\) = 14\.57 > 2.*use dt < 0\.686",
        ),
        Bad("size", "n_nodes", 1),
    ),
    Row(
        "mltheory.dynamics.dmft.online_limit",
        dmft.online_limit,
        lambda: ((_GLM,), {"tau": 0.1, "grid": GRID, "key": KEY, "n_samples": 200}),
        Bad("rate", "tau", -0.1),
        Bad("size", "n_samples", 10),
        Bad("key", "key", 0, TypeError),
        Bad("type", "model", "glm", TypeError),
        Bad(
            "law",
            "model",
            _NAN_PRIOR,
            match=r"model\.sample_theta_star\(key, n\) must return finite draws",
        ),
    ),
    Row(
        "mltheory.dynamics.dmft.simulate",
        dmft.simulate,
        lambda: ((_GLM,), {"delta": 2.0, "tau": 0.1, "grid": GRID, "d": 4, "key": KEY}),
        Bad("size", "d", 0),
        Bad("size", "n_seeds", 0),
        Bad("option", "algorithm", "adam"),
        Bad("option", "on_divergence", "skip"),
        Bad("key", "key", 1, TypeError),
    ),
    Row(
        "mltheory.dynamics.dmft.solve_dmft",
        dmft.solve_dmft,
        lambda: ((_GLM,), {"delta": 2.0, "grid": GRID, "key": KEY}),
        Bad("rate", "delta", -1.0),
        Bad("type", "config", {"n_samples": 100}, TypeError),
        Bad("type", "grid", None, TypeError),
        Bad(
            "law",
            "model",
            _NAN_PRIOR,
            match=r"model\.sample_theta_star\(key, n\) must return finite draws",
        ),
    ),
    # fast-slow
    Row(
        "mltheory.dynamics.fast_slow.FastSlowProblem",
        fs.FastSlowProblem,
        lambda: ((_TANH, _LIN), {"eps": 0.1}),
        Bad("rate", "eps", 0.0),
        Bad("nonfinite", "eps", NAN),
        Bad("type", "student", jnp.ones(3), TypeError),
        Bad("rate", "noise_var", -1.0),
    ),
    Row(
        "mltheory.dynamics.fast_slow.critical_manifold",
        fs.critical_manifold,
        lambda: ((_FSP,), {}),
        Bad("type", "problem", _TANH, TypeError),
        Bad("range", "m_grid", np.array([0.5, 1.5])),
        Bad("nonfinite", "m_grid", np.array([0.5, NAN])),
    ),
    Row(
        "mltheory.dynamics.fast_slow.critical_strength",
        fs.critical_strength,
        lambda: ((_TANH, _LIN), {}),
        Bad("type", "student", "tanh", TypeError),
        Bad("range", "k", 99),
    ),
    Row(
        "mltheory.dynamics.fast_slow.equilibria",
        fs.equilibria,
        lambda: ((_FSP,), {}),
        Bad("size", "n_grid", 2),
        Bad("type", "problem", None, TypeError),
    ),
    Row(
        "mltheory.dynamics.fast_slow.fit_power_law",
        fs.fit_power_law,
        lambda: ((np.geomspace(1.0, 10.0, 8), np.geomspace(1.0, 10.0, 8), 1.0), {}),
        Bad("law", "y", np.zeros(8), match=r"y must satisfy \|y\| > 0"),
        Bad("shape", "y", np.ones(3)),
        Bad("rate", "t_min", 0.0),
        Bad("nonfinite", "t", _with(np.geomspace(1.0, 10.0, 8), NAN)),
    ),
    Row(
        "mltheory.dynamics.fast_slow.hermite_sums",
        fs.hermite_sums,
        lambda: ((_FSP, 0.5), {}),
        Bad("range", "m", 1.5),
        Bad("nonfinite", "m", NAN),
        Bad("complex", "m", 0.5j, TypeError),
    ),
    Row(
        "mltheory.dynamics.fast_slow.integrate",
        fs.integrate,
        lambda: ((_FSP, 0.1, 1.0, 5.0), {"method": "rk4", "n_steps": 20}),
        Bad("range", "m0", 1.0),
        Bad("nonfinite", "a0", NAN),
        Bad("rate", "t_max", 0.0),
        Bad("option", "method", "euler"),
        Bad("range", "record_every", 3),
        Bad("option", "on_divergence", "drop"),
        Bad(
            "rate",
            "a0",
            1e200,
            DivergenceError,
            match=r"integrate\(method='rk4'\) diverged: .* at step 0 of 20",
        ),
        Bad("overflow", "a0", F32_OVERFLOW, match=r"a0 must be finite", x64=False),
    ),
    Row(
        "mltheory.dynamics.fast_slow.integrate_population",
        fs.integrate_population,
        lambda: (
            (_FSP, np.full(2, 0.1), np.ones(2), 5.0),
            {"method": "rk4", "n_steps": 20},
        ),
        Bad("shape", "a0", np.ones(3)),
        Bad("range", "m0", np.array([0.1, 1.2])),
        Bad("option", "on_divergence", 1),
    ),
    Row(
        "mltheory.dynamics.fast_slow.measure_unlearning",
        fs.measure_unlearning,
        lambda: ((np.arange(4.0), np.array([0.0, 0.5, 0.4, 0.3])), {}),
        Bad("shape", "m", np.ones(3)),
        Bad("rate", "tol", -1.0),
        Bad("nonfinite", "m", np.array([0.0, NAN, 0.4, 0.3])),
    ),
    Row(
        "mltheory.dynamics.fast_slow.phase_diagram",
        fs.phase_diagram,
        lambda: (
            (_FSP, np.array([0.1]), np.array([1.0])),
            {"n_steps": 20, "t_max": 5.0},
        ),
        Bad("shape", "strengths", np.ones((2, 2))),
        Bad("range", "m0", 1.0),
        Bad("option", "on_divergence", "nan"),
        Bad(
            "rate",
            "a0s",
            np.array([1.0, 1e160]),
            DivergenceError,
            match=r"batch member \(0, 1\) \(strength 0\.1, a0 1e\+160\)",
        ),
    ),
    Row(
        "mltheory.dynamics.fast_slow.population_loss",
        fs.population_loss,
        lambda: ((_FSP, 0.5, 1.0), {}),
        Bad("nonfinite", "m", NAN),
        Bad("nonfinite", "a", INF),
        Bad("type", "problem", 1, TypeError),
    ),
    Row(
        "mltheory.dynamics.fast_slow.predict_unlearning",
        fs.predict_unlearning,
        lambda: ((_FSP, 1.0), {}),
        Bad("nonfinite", "a0", NAN),
        Bad("range", "m0", 2.0),
    ),
    Row(
        "mltheory.dynamics.fast_slow.scaling_law",
        fs.scaling_law,
        lambda: ((_FSP,), {}),
        Bad("type", "problem", "p", TypeError),
    ),
    Row(
        "mltheory.dynamics.fast_slow.slow_flow",
        fs.slow_flow,
        lambda: ((_FSP, 0.5), {}),
        Bad("range", "m", -1.5),
        Bad("string", "m", "0.5", TypeError),
    ),
    Row(
        "mltheory.dynamics.fast_slow.vector_field",
        fs.vector_field,
        lambda: ((_FSP, 0.5, 1.0), {}),
        Bad("range", "m", 1.5),
        Bad("nonfinite", "a", NAN),
    ),
    # tensor programs
    Row(
        "mltheory.dynamics.tensor_programs.TwoLayerParams",
        tp.overlaps,
        lambda: ((_TP, np.eye(3)[0]), {}),
        Bad("type", "params", (np.ones((4, 3)), np.ones(4)), TypeError),
    ),
    Row(
        "mltheory.dynamics.tensor_programs.forward",
        tp.forward,
        lambda: ((_TP, np.ones((2, 3)), jnp.tanh), {}),
        Bad("shape", "X", np.ones((2, 5))),
        Bad("type", "activation", "tanh", TypeError),
        Bad("nonfinite", "X", _with(np.ones((2, 3)), NAN)),
    ),
    Row(
        "mltheory.dynamics.tensor_programs.init_params",
        tp.init_params,
        lambda: ((KEY, 4, 3, 1.0), {}),
        Bad("key", "key", 0, TypeError),
        Bad("size", "n", 0),
        Bad("nonfinite", "a0", NAN),
        Bad("option", "a_init", "zeros"),
        Bad("dtype", "dtype", jnp.int32, TypeError),
    ),
    Row(
        "mltheory.dynamics.tensor_programs.overlaps",
        tp.overlaps,
        lambda: ((_TP, np.eye(3)[0]), {}),
        Bad("shape", "theta", np.ones(4)),
        Bad("nonfinite", "theta", np.array([1.0, NAN, 0.0])),
    ),
    Row(
        "mltheory.dynamics.tensor_programs.simulate_sgd",
        tp.simulate_sgd,
        lambda: (
            (KEY, _TP, _TEACHER, jnp.tanh),
            dict(lr_w=0.05, lr_a=0.005, batch_size=4, n_steps=4, record_every=2),
        ),
        Bad("rate", "lr_w", 0.0),
        Bad("rate", "lr_a", -1.0),
        Bad("range", "record_every", 3),
        Bad("option", "on_divergence", "continue"),
        Bad("shape", "theta", np.ones(5)),
        Bad("type", "teacher", 2.0, TypeError),
    ),
    Row(
        "mltheory.dynamics.tensor_programs.to_problem",
        tp.to_problem,
        lambda: ((_LIN, _TANH, 0.1, 0.01), {}),
        Bad("rate", "lr_w", 0.0),
        Bad("type", "student", np.ones(3), TypeError),
        Bad("rate", "noise_var", -1.0),
    ),
    Row(
        "mltheory.dynamics.tensor_programs.width_convergence",
        tp.width_convergence,
        lambda: (
            (KEY, _TEACHER, _TANH, jnp.tanh, [2, 4]),
            dict(
                d=3,
                a0=1.0,
                lr_w=0.05,
                lr_a=0.005,
                batch_size=4,
                n_steps=4,
                record_every=2,
            ),
        ),
        Bad("size", "widths", []),
        Bad("size", "widths", [0, 2], match=r"widths\[i\] must be >= 1"),
        Bad("size", "n_seeds", 0),
    ),
]


# --------------------------------------------------------------------------- #
# mltheory.numerics.parallel and mltheory.reproduce
# --------------------------------------------------------------------------- #

from mltheory import reproduce  # noqa: E402
from mltheory.numerics import parallel  # noqa: E402

ROWS += [
    Row(
        "mltheory.numerics.parallel.make_mesh",
        parallel.make_mesh,
        lambda: ((1,), {}),
        Bad("size", "n_devices", 0),
        Bad("range", "n_devices", 10**6),
        Bad("type", "n_devices", 1.5, TypeError),
        Bad("string", "axis_name", "", TypeError),
    ),
    Row(
        "mltheory.numerics.parallel.shard_leading_axis",
        parallel.shard_leading_axis,
        lambda: ((jnp.ones((2, 3)), parallel.make_mesh(1)), {}),
        Bad("type", "mesh", "cpu", TypeError),
        Bad("shape", "x", jnp.ones(())),
    ),
    Row(
        "mltheory.numerics.parallel.sweep",
        parallel.sweep,
        lambda: ((lambda x: x, jnp.arange(4.0)), {}),
        Bad("type", "fn", 3, TypeError),
        Bad("size", "chunk_size", 0),
        Bad("type", "executor", "threads", TypeError),
        Bad("shape", "grid", jnp.ones(())),
    ),
    Row(
        "mltheory.reproduce.Check",
        reproduce.Check.within,
        lambda: (("x", 0.5, 0.0, 1.0), {}),
        Bad("type", "name", 3, TypeError),
        Bad("range", "lower", 2.0, match=r"upper must be >= 2\.0"),
        Bad("nonfinite", "upper", NAN),
    ),
    Row(
        "mltheory.reproduce.Reproduction",
        reproduce.run_reproductions,
        lambda: ((["numerics"],), {"out_dir": "/nonexistent-parent/afile"}),
        Bad("option", "names", ["numerics", "nosuch"], match=r"reproduction name"),
    ),
    Row(
        "mltheory.reproduce.list_reproductions",
        lambda names: reproduce.list_reproductions()[names],
        lambda: (("numerics",), {}),
        Bad("option", "names", "nosuch", KeyError, match=r"nosuch"),
    ),
    Row(
        "mltheory.reproduce.run_reproductions",
        reproduce.run_reproductions,
        lambda: ((["numerics"],), {}),
        Bad("range", "seed", 2**64),
        Bad("range", "seed", -1),
        Bad("type", "seed", 1.5, TypeError),
        Bad("option", "size", "huge"),
        Bad("size", "names", []),
        Bad("string", "names", "numerics", TypeError),
        Bad("option", "names", ["nosuch"], match=r"reproduction name"),
        Bad("none", "out_dir", None, TypeError),
        Bad("type", "out_dir", __file__, match=r"out_dir must be a directory"),
        Bad("type", "out_dir", __file__ + "/sub", match=r"which is a file"),
    ),
]


# --------------------------------------------------------------------------- #
# mltheory.stats.bandits
# --------------------------------------------------------------------------- #

from mltheory.stats import bandits  # noqa: E402

_CTX = np.zeros((6, 2, 3))
_MU = np.zeros((6, 2))
_INST = bandits.instance_from_arrays(_CTX, _MU)

ROWS += [
    Row(
        "mltheory.stats.bandits.make_instance",
        bandits.make_instance,
        lambda: ((6, 2, 3), {}),
        Bad("size", "T", 0),
        Bad("size", "K", 1),
        Bad("size", "d", 0),
        Bad("type", "T", 2.5, TypeError),
        Bad("rate", "noise_sd", -0.1),
        Bad("nonfinite", "noise_sd", NAN),
        Bad("option", "reward", "cubic"),
        Bad("option", "context", "laplace"),
        Bad("option", "cov_spectrum", "flat"),
        Bad("shape", "cov_spectrum", np.ones(2)),
        Bad("type", "shared", 1, TypeError),
        Bad("key", "key", "zero", TypeError, match=r"seed_or_key"),
    ),
    Row(
        "mltheory.stats.bandits.instance_from_arrays",
        bandits.instance_from_arrays,
        lambda: ((_CTX, _MU), {}),
        Bad("shape", "contexts", np.zeros((6, 3))),
        Bad("shape", "means", np.zeros((5, 2))),
        Bad("shape", "noise", np.zeros((2, 6))),
        Bad("nonfinite", "contexts", _with(_CTX, NAN)),
        Bad("nonfinite", "means", _with(_MU, INF)),
        Bad("complex", "contexts", _cplx(_CTX), TypeError),
        Bad("none", "means", None, TypeError),
        Bad("rate", "noise_sd", -1.0),
    ),
    Row(
        "mltheory.stats.bandits.lenient_regret",
        bandits.lenient_regret,
        lambda: ((np.ones(4), 0.5), {}),
        Bad("rate", "delta", -0.1),
        Bad("nonfinite", "delta", NAN),
        Bad("nonfinite", "regret", _with(np.ones(4), NAN)),
        Bad("range", "regret", -np.ones(4)),
        Bad("shape", "delta", np.ones((2, 2))),
        Bad("option", "kind", "square"),
        Bad("none", "regret", None, TypeError),
    ),
    Row(
        "mltheory.stats.bandits.run_bandit",
        bandits.run_bandit,
        lambda: ((bandits.RandomPolicy(), _INST), {}),
        Bad("type", "instance", np.zeros((3, 2, 2)), TypeError),
        Bad("type", "policy", object(), TypeError),
        Bad("option", "on_divergence", "ignore"),
        Bad("key", "key", 1.5, TypeError, match=r"seed_or_key"),
    ),
    Row(
        "mltheory.stats.bandits.run_many",
        bandits.run_many,
        lambda: ((bandits.RandomPolicy(),), {"n_reps": 1, "T": 5, "K": 2, "d": 2}),
        Bad("size", "n_reps", 0),
        Bad("size", "K", 1),
        Bad("size", "T", 0),
        Bad("size", "chunk_size", 0),
        Bad("type", "executor", 4, TypeError),
        Bad("type", "policy", object(), TypeError),
        Bad("option", "on_divergence", "ignore"),
        Bad("rate", "instance_kwargs", {"noise_sd": -1.0}, match=r"noise_sd"),
    ),
    Row(
        "mltheory.stats.bandits.KernelInterpolationETC",
        bandits.KernelInterpolationETC,
        lambda: ((), {}),
        Bad("option", "kernel", "laplace"),
        Bad("type", "h", 2.0, TypeError),
        Bad("rate", "lengthscale2", 0.0),
        Bad("rate", "ridge", -1.0),
        Bad("rate", "jitter", -1.0),
        Bad("size", "T0", 1),
        Bad("range", "explore_frac", 1.5),
        Bad("option", "explore", "greedy"),
    ),
    Row(
        "mltheory.stats.bandits.LinearInterpolationETC",
        bandits.LinearInterpolationETC,
        lambda: ((), {}),
        Bad("size", "T0", 0),
        Bad("range", "explore_frac", 0.0),
        Bad("option", "explore", "greedy"),
    ),
    Row(
        "mltheory.stats.bandits.LinUCB",
        bandits.LinUCB,
        lambda: ((), {}),
        Bad("rate", "alpha", -1.0),
        Bad("rate", "lam", 0.0),
        Bad("nonfinite", "alpha", NAN),
    ),
    Row(
        "mltheory.stats.bandits.KernelUCB",
        bandits.KernelUCB,
        lambda: ((), {}),
        Bad("option", "kernel", "gauss"),
        Bad("type", "kernel", 3, TypeError),
        Bad("rate", "eta", 0.0),
        Bad("rate", "lam", -2.0),
        Bad("rate", "kernel_params", {"lengthscale": -1.0}, match=r"lengthscale"),
    ),
    Row(
        "mltheory.stats.bandits.GPUCB",
        bandits.GPUCB,
        lambda: ((), {}),
        Bad("rate", "noise", 0.0),
        Bad("range", "delta", 1.0),
        Bad("option", "kernel", "gauss"),
    ),
    Row(
        "mltheory.stats.bandits.EpsilonGreedy",
        bandits.EpsilonGreedy,
        lambda: ((), {}),
        Bad("rate", "c", 0.0),
        Bad("rate", "lam", 0.0),
        Bad("option", "kernel", "gauss"),
    ),
    Row(
        "mltheory.stats.bandits.OraclePolicy",
        bandits.OraclePolicy,
        lambda: ((), {}),
        Bad("shape", "means", np.ones(3)),
        Bad("nonfinite", "means", _with(np.ones((2, 2)), NAN)),
    ),
]

# --------------------------------------------------------------------------- #
# mltheory.dynamics.xor
# --------------------------------------------------------------------------- #

from mltheory.dynamics import xor  # noqa: E402

_XP = xor.XORParams(jnp.ones((4, 3)) / 10.0, jnp.ones(4))
_XX = np.ones((5, 3))
_XCFG = xor.XORConfig(d=3, width=4, batch_size=2, steps=2, record_every=1)
_XTRAJ = xor.XORTrajectory(
    steps=jnp.arange(2),
    params=xor.XORParams(jnp.ones((2, 4, 3)), jnp.ones((2, 4))),
    train_loss=jnp.ones(2),
    test_loss=jnp.ones(2),
    test_error=jnp.ones(2),
    rho=jnp.array([0.5, 2.0]),
    block_signal=jnp.ones((2, 4)),
    block_noise=jnp.ones((2, 4)),
    block_size=jnp.ones((2, 4)),
    block_spread=jnp.ones(2),
    within_block_spread=jnp.ones((2, 4)),
    first_bad_step=jnp.asarray(-1),
    config=_XCFG,
)
_XP_NAN = xor.XORParams(jnp.full((4, 3), jnp.nan), jnp.ones(4))
_XP_SHORT_A = xor.XORParams(jnp.ones((4, 3)), jnp.ones(3))

ROWS += [
    Row(
        "mltheory.dynamics.xor.XORConfig",
        xor.XORConfig,
        lambda: ((), {}),
        Bad("size", "d", 1),
        Bad("size", "width", 0),
        Bad("size", "batch_size", 0),
        Bad("size", "steps", 0),
        Bad("range", "record_every", 3),
        Bad("range", "label_sign", 0),
        Bad("option", "dist", "laplace"),
        Bad("rate", "lr", 0.0),
        Bad("nonfinite", "lr", NAN),
        Bad("string", "lr", "0.1", TypeError),
        Bad("rate", "init_scale", -1.0),
        Bad("range", "df", 2.0),
        Bad("type", "symmetric_init", 1, TypeError),
        Bad("type", "width", 2.5, TypeError),
    ),
    Row(
        "mltheory.dynamics.xor.sample_xor",
        xor.sample_xor,
        lambda: ((KEY, 4, 3), {}),
        Bad("key", "key", 0, TypeError),
        Bad("size", "n", 0),
        Bad("size", "d", 1),
        Bad("option", "dist", "cauchy"),
        Bad("range", "label_sign", 2),
        Bad("range", "df", 1.5),
        Bad("dtype", "dtype", jnp.int32, TypeError),
    ),
    Row(
        "mltheory.dynamics.xor.init_params",
        xor.init_params,
        lambda: ((KEY, 3, 4), {}),
        Bad("key", "key", RAW_KEY[:1], TypeError),
        Bad("size", "d", 1),
        Bad("size", "width", 0),
        Bad("rate", "init_scale", 0.0),
        Bad("nonfinite", "init_scale", INF),
        Bad("type", "symmetric", 1, TypeError),
        Bad("dtype", "dtype", jnp.int32, TypeError),
    ),
    Row(
        "mltheory.dynamics.xor.forward",
        xor.forward,
        lambda: ((_XP, _XX), {}),
        Bad("shape", "X", np.ones((5, 4))),
        Bad("nonfinite", "X", _with(_XX, NAN)),
        Bad("complex", "X", _cplx(_XX), TypeError),
        Bad("none", "X", None, TypeError),
        Bad("type", "params", (1, 2), TypeError),
        Bad("pytree", "params", _XP_SHORT_A),
        Bad("nonfinite", "params", _XP_NAN),
    ),
    Row(
        "mltheory.dynamics.xor.logistic_loss",
        xor.logistic_loss,
        lambda: ((_XP, _XX, np.ones(5)), {}),
        Bad("shape", "y", np.ones(3)),
        Bad("nonfinite", "y", _with(np.ones(5), NAN)),
        Bad("shape", "X", np.ones(5)),
        Bad("type", "params", "W", TypeError),
    ),
    Row(
        "mltheory.dynamics.xor.train_xor",
        xor.train_xor,
        lambda: ((KEY, _XCFG), {}),
        Bad("key", "key", 0, TypeError),
        Bad("key", "test_key", 5, TypeError),
        Bad("type", "mesh", "cpu", TypeError),
        Bad("type", "config", {"d": 3}, TypeError),
        Bad("size", "n_test", 0),
        Bad("option", "on_divergence", "ignore"),
        Bad("pytree", "params", xor.XORParams(jnp.ones((3, 3)), jnp.ones(3))),
        Bad("nonfinite", "params", _XP_NAN),
        Bad("dtype", "dtype", jnp.int32, TypeError),
    ),
    Row(
        "mltheory.dynamics.xor.neuron_blocks",
        xor.neuron_blocks,
        lambda: ((_XP,), {}),
        Bad("range", "label_sign", 3),
        Bad("type", "params", "W", TypeError),
        Bad("nonfinite", "params", _XP_NAN),
        Bad("pytree", "params", _XP_SHORT_A),
    ),
    Row(
        "mltheory.dynamics.xor.block_signals",
        xor.block_signals,
        lambda: ((_XP,), {}),
        Bad("range", "label_sign", -2),
        Bad("none", "params", None, TypeError),
        Bad("nonfinite", "params", _XP_NAN),
    ),
    Row(
        "mltheory.dynamics.xor.cluster_diagnostics",
        xor.cluster_diagnostics,
        lambda: ((_XP,), {}),
        Bad("size", "bins", 0),
        Bad("type", "bins", 2.5, TypeError),
        Bad("range", "label_sign", 0),
        Bad("nonfinite", "params", _XP_NAN),
    ),
    Row(
        "mltheory.dynamics.xor.phase_split",
        xor.phase_split,
        lambda: ((_XTRAJ,), {}),
        Bad("type", "traj", {"rho": jnp.ones(2)}, TypeError),
        Bad("rate", "rho_threshold", 0.0),
        Bad("nonfinite", "rho_threshold", NAN),
    ),
    Row(
        "mltheory.dynamics.xor.error_regions",
        xor.error_regions,
        lambda: ((KEY, _XP), {}),
        Bad("key", "key", 0, TypeError),
        Bad("size", "n_test", 1),
        Bad("shape", "bin_edges", (0.1, 0.05)),
        Bad("nonfinite", "bin_edges", (0.0, NAN)),
        Bad("range", "label_sign", 0),
        Bad("shape", "params", xor.XORParams(jnp.ones((1, 4, 3)), jnp.ones((1, 4)))),
        Bad("nonfinite", "params", _XP_NAN),
    ),
    Row(
        "mltheory.dynamics.xor.ideal_xor_error",
        xor.ideal_xor_error,
        lambda: ((), {}),
        Bad("range", "ratio", -1.0),
        Bad("nonfinite", "noise_to_signal", NAN),
        Bad("overflow", "noise_to_signal", F32_OVERFLOW, x64=False),
        Bad("complex", "ratio", 1 + 1j, TypeError),
        Bad("string", "ratio", "one", TypeError),
    ),
]

# --------------------------------------------------------------------------- #
# mltheory.generative.sona and mltheory.generative.sona_toy
# --------------------------------------------------------------------------- #

from mltheory.generative import sona, sona_toy  # noqa: E402

_SH = sona.sona_init(KEY, 4, num_classes=3)
_SH_ZERO = _SH._replace(u=jnp.zeros(4))
_SF = np.ones((6, 4)) / 10.0
_SY = np.arange(6) % 3
_SPD = sona.projection_init(KEY, 4, 3)
_SOUT = sona.sona_apply(_SH, _SF, _SY)
_SPARAMS = sona.SonaDiscriminatorParams(
    phi=jnp.ones((2, 4)) / 10.0, head=_SH, weighting=sona.adaptive_scales().init(3)
)
_SX = np.ones((6, 2))


def _sphi(w, x):
    return x @ w


_TCFG = sona_toy.ToyGANConfig(
    hidden=4, depth=1, feature_dim=2, batch_size=2, latent_dim=2
)


def _toy_result(batched: bool = False):
    gen = sona_toy.init_generator(KEY, _TCFG)
    disc = (
        sona_toy.init_feature_extractor(KEY, _TCFG),
        sona.projection_init(KEY, 2, 4),
    )
    fb = jnp.full((2,), -1) if batched else jnp.asarray(-1)
    if batched:
        gen, disc = jax.tree_util.tree_map(lambda a: jnp.stack([a, a]), (gen, disc))
    return sona_toy.ToyGANResult(
        generator=gen,
        discriminator=disc,
        history={},
        first_bad_step=fb,
        method="pd",
        config=_TCFG,
        steps=1,
    )


ROWS += [
    Row(
        "mltheory.generative.sona.sona_init",
        sona.sona_init,
        lambda: ((KEY, 4), {"num_classes": 3}),
        Bad("key", "key", 0, TypeError),
        Bad("size", "feature_dim", 1),
        Bad("size", "num_classes", 0),
        Bad("rate", "init_scale", 0.0),
        Bad("nonfinite", "init_scale", NAN),
        Bad("dtype", "dtype", jnp.int32, TypeError),
        Bad("none", "feature_dim", None, TypeError),
        Bad("option", "cond_dim", 2, match="exactly one of num_classes"),
    ),
    Row(
        "mltheory.generative.sona.sona_apply",
        sona.sona_apply,
        lambda: ((_SH, _SF, _SY), {}),
        Bad("shape", "features", np.ones(4)),
        Bad("shape", "features", np.ones((6, 3)), match="feature_dim = 4"),
        Bad("nonfinite", "features", _with(_SF, NAN)),
        Bad("complex", "features", _cplx(_SF), TypeError),
        Bad("range", "cond", np.full(6, 3)),
        Bad("shape", "cond", np.zeros((6, 2), np.int32)),
        Bad("type", "params", {"u": np.ones(4)}, TypeError),
        Bad("range", "params", _SH_ZERO, match="params.u"),
        Bad("type", "cond_encoder", 3, TypeError),
    ),
    Row(
        "mltheory.generative.sona.projection_init",
        sona.projection_init,
        lambda: ((KEY, 4, 3), {}),
        Bad("key", "key", 1.5, TypeError),
        Bad("size", "feature_dim", 0),
        Bad("size", "num_classes", 0),
        Bad("rate", "init_scale", -1.0),
    ),
    Row(
        "mltheory.generative.sona.projection_discriminator_apply",
        sona.projection_discriminator_apply,
        lambda: ((_SPD, _SF, _SY), {}),
        Bad("shape", "features", np.ones((6, 5)), match="feature_dim = 4"),
        Bad("nonfinite", "features", _with(_SF, INF)),
        Bad("range", "y", np.full(6, -1)),
        Bad("type", "params", _SH, TypeError),
    ),
    Row(
        "mltheory.generative.sona.san_projection_apply",
        sona.san_projection_apply,
        lambda: ((_SPD, _SF, _SY), {}),
        Bad("shape", "features", np.ones(3)),
        Bad("range", "y", np.full(6, 9)),
        Bad("type", "params", None, TypeError),
    ),
    Row(
        "mltheory.generative.sona.san_naturalness_loss",
        sona.san_naturalness_loss,
        lambda: ((_SOUT, _SOUT), {}),
        Bad("type", "out_real", np.ones(6), TypeError),
        Bad("type", "out_fake", None, TypeError),
        Bad("option", "kind", "wasserstein"),
        Bad("rate", "scale", 0.0),
        Bad("nonfinite", "scale", NAN),
    ),
    Row(
        "mltheory.generative.sona.bt_conditional_loss",
        sona.bt_conditional_loss,
        lambda: ((np.ones(6), np.zeros(6)), {}),
        Bad("shape", "f_real", np.ones((2, 3))),
        Bad("nonfinite", "f_fake", _with(np.ones(6), NAN)),
        Bad("complex", "f_real", _cplx(np.ones(6)), TypeError),
        Bad("rate", "scale", -1.0),
        Bad("range", "weights", -np.ones(6)),
        Bad("shape", "weights", np.ones(2)),
        Bad("shape", "f_fake", np.ones(5), match="same shape"),
    ),
    Row(
        "mltheory.generative.sona.bt_mismatch_loss",
        sona.bt_mismatch_loss,
        lambda: ((np.ones(6), np.zeros(6)), {}),
        Bad("shape", "f_matched", np.ones((6, 1))),
        Bad("nonfinite", "f_mismatched", _with(np.ones(6), INF)),
        Bad("rate", "scale", 0.0),
        Bad("string", "f_matched", "abc", TypeError),
    ),
    Row(
        "mltheory.generative.sona.sample_mismatched",
        sona.sample_mismatched,
        lambda: ((KEY, _SY, 3), {}),
        Bad("size", "num_classes", 1),
        Bad("none", "num_classes", None),
        Bad("range", "cond", np.full(6, 4), match="cond holds class ids"),
        Bad("size", "cond", np.ones((1, 3)), match="cond must hold at least 2 rows"),
        Bad("key", "key", 7, TypeError),
    ),
    Row(
        "mltheory.generative.sona.sona_discriminator_loss",
        sona.sona_discriminator_loss,
        lambda: ((_SPARAMS, _sphi, _SX, _SY, _SX, KEY), {}),
        Bad("type", "params_D", (_SPARAMS.phi, _SH), TypeError),
        Bad("none", "phi_apply", None, TypeError),
        Bad("nonfinite", "x_real", _with(_SX, NAN)),
        Bad("complex", "x_fake", _cplx(_SX), TypeError),
        Bad("shape", "x_fake", np.ones((3, 2))),
        Bad("range", "y", np.full(6, 3), match="class ids"),
        Bad("key", "key", 0, TypeError),
        Bad("option", "mismatch", "shuffle"),
        Bad("option", "san_loss", "wgan"),
        Bad("type", "weighting", "adaptive", TypeError),
    ),
    Row(
        "mltheory.generative.sona.sona_generator_loss",
        sona.sona_generator_loss,
        lambda: ((_SPARAMS, _sphi, _SX, _SY, _SX), {}),
        Bad("type", "params_D", None, TypeError),
        Bad("nonfinite", "x_fake", _with(_SX, INF)),
        Bad("complex", "x_real", _cplx(_SX), TypeError),
        Bad("shape", "x_real", np.ones((2, 2)), match="x_fake must have one generated"),
        Bad("rate", "align_weight", -1.0),
        Bad("option", "san_loss", "ls"),
    ),
    Row(
        "mltheory.generative.sona.adaptive_scales",
        sona.adaptive_scales,
        lambda: ((), {}),
        Bad("dtype", "dtype", jnp.int32, TypeError),
        Bad("string", "dtype", "not-a-dtype", TypeError),
    ),
    Row(
        "mltheory.generative.sona.AdaptiveScales",
        lambda dtype: sona.AdaptiveScales(dtype).init(3),
        lambda: ((None,), {}),
        Bad("dtype", "dtype", "int32", TypeError),
    ),
    Row(
        "mltheory.generative.sona.fixed_weights",
        sona.fixed_weights,
        lambda: (((1.0, 1.0, 1.0),), {}),
        Bad("range", "weights", (1.0, -1.0), match=r"weights\[1\]"),
        Bad("nonfinite", "weights", (NAN, 1.0), match=r"weights\[0\]"),
        Bad("range", "weights", (0.0, 0.0)),
        Bad("type", "weights", 1.0, TypeError),
        Bad("string", "weights", "abc", TypeError),
    ),
    Row(
        "mltheory.generative.sona.FixedWeights",
        sona.FixedWeights,
        lambda: (((1.0, 1.0),), {}),
        Bad("range", "weights", (-1.0,), match=r"weights\[0\]"),
        Bad("none", "weights", None, TypeError),
    ),
    Row(
        "mltheory.generative.sona.uncertainty_weights",
        sona.uncertainty_weights,
        lambda: ((0.1, 10.0), {}),
        Bad("rate", "w_min", 0.0),
        Bad("range", "w_max", 0.01),
        Bad("nonfinite", "w_max", INF),
        Bad("dtype", "dtype", jnp.int32, TypeError),
    ),
    Row(
        "mltheory.generative.sona.UncertaintyWeights",
        sona.UncertaintyWeights,
        lambda: ((0.1, 10.0), {}),
        Bad("rate", "w_min", -1.0),
        Bad("string", "w_max", "big", TypeError),
    ),
    Row(
        "mltheory.generative.sona_toy.ToyGANConfig",
        sona_toy.ToyGANConfig,
        lambda: ((), {}),
        Bad("size", "num_classes", 1),
        Bad("size", "hidden", 0),
        Bad("size", "batch_size", 1),
        Bad("rate", "sigma", 0.0),
        Bad("nonfinite", "learning_rate", NAN),
        Bad("range", "b1", 1.0),
        Bad("range", "ema_decay", 1.0),
        Bad("type", "depth", 1.5, TypeError),
        Bad("dtype", "dtype", "int32", TypeError),
    ),
    Row(
        "mltheory.generative.sona_toy.train",
        sona_toy.train,
        lambda: ((KEY,), {"steps": 2, "config": _TCFG}),
        Bad("key", "key", 0, TypeError),
        Bad("option", "method", "acgan"),
        Bad("size", "steps", 0),
        Bad("range", "eval_every", 3),
        Bad("size", "eval_samples", 0),
        Bad("option", "mismatch", "shuffle"),
        Bad("option", "on_divergence", "ignore"),
        Bad("type", "config", {"hidden": 4}, TypeError),
        Bad("type", "weighting", 1.0, TypeError),
    ),
    Row(
        "mltheory.generative.sona_toy.evaluate",
        sona_toy.evaluate,
        lambda: ((_toy_result(), KEY), {}),
        Bad("type", "result", {"generator": None}, TypeError),
        Bad("key", "key", 3, TypeError),
        Bad("size", "n", 0),
    ),
    Row(
        "mltheory.generative.sona_toy.generate",
        sona_toy.generate,
        lambda: ((_toy_result(), KEY, 4), {}),
        Bad("type", "result", None, TypeError),
        Bad("range", "result", _toy_result(batched=True), match="batched"),
        Bad("size", "n", -1),
        Bad("key", "key", "seed", TypeError),
    ),
    Row(
        "mltheory.generative.sona_toy.sample_data",
        sona_toy.sample_data,
        lambda: ((KEY, 4), {}),
        Bad("key", "key", 0, TypeError),
        Bad("size", "n", 0),
        Bad("type", "config", 3, TypeError),
    ),
    Row(
        "mltheory.generative.sona_toy.mode_centers",
        sona_toy.mode_centers,
        lambda: ((), {}),
        Bad("type", "config", "ring", TypeError),
    ),
    Row(
        "mltheory.generative.sona_toy.init_generator",
        sona_toy.init_generator,
        lambda: ((KEY,), {}),
        Bad("key", "key", None, TypeError),
        Bad("type", "config", {}, TypeError),
    ),
    Row(
        "mltheory.generative.sona_toy.init_feature_extractor",
        sona_toy.init_feature_extractor,
        lambda: ((KEY,), {}),
        Bad("key", "key", 1, TypeError),
        Bad("type", "config", [], TypeError),
    ),
    Row(
        "mltheory.generative.sona_toy.feature_apply",
        sona_toy.feature_apply,
        lambda: ((sona_toy.init_feature_extractor(KEY, _TCFG), np.ones((3, 2))), {}),
        Bad("shape", "x", np.ones((3, 3))),
        Bad("shape", "x", np.ones(2)),
        Bad("nonfinite", "x", _with(np.ones((3, 2)), NAN)),
        Bad("complex", "x", _cplx(np.ones((3, 2))), TypeError),
        Bad("type", "params", [(1.0, 2.0)], TypeError),
    ),
    Row(
        "mltheory.generative.sona_toy.generator_apply",
        sona_toy.generator_apply,
        lambda: (
            (sona_toy.init_generator(KEY, _TCFG), np.ones((3, 2)), np.zeros(3, int), 4),
            {},
        ),
        Bad("shape", "z", np.ones(3)),
        Bad("nonfinite", "z", _with(np.ones((3, 2)), NAN)),
        Bad("shape", "y", np.zeros(2, int)),
        Bad("size", "num_classes", 0),
        Bad("type", "params", {"w": 1}, TypeError),
    ),
]

# Public names that take no user input to validate: result containers built
# by the library (validated where they are made), exceptions and warnings.
# --------------------------------------------------------------------------- #
# mltheory.numerics.parallel (re-exported from mltheory.numerics)
# --------------------------------------------------------------------------- #

_MESH1 = numerics.make_mesh(1)

ROWS += [
    Row(
        "mltheory.numerics.make_mesh",
        numerics.make_mesh,
        lambda: ((1,), {}),
        Bad("size", "n_devices", 0),
        Bad("type", "n_devices", 1.5, TypeError),
        Bad("range", "n_devices", 10**6),
        Bad("string", "axis_name", "", TypeError),
        Bad("type", "devices", ["cpu"], TypeError),
    ),
    Row(
        "mltheory.numerics.shard_leading_axis",
        numerics.shard_leading_axis,
        lambda: ((np.zeros(4), _MESH1), {}),
        Bad("shape", "x", 1.0),
        Bad("none", "x", None),
        Bad("string", "x", "a", TypeError),
        Bad("type", "mesh", "cpu", TypeError),
        Bad("option", "axis_name", "seeds"),
    ),
    Row(
        "mltheory.numerics.sweep",
        numerics.sweep,
        lambda: ((jnp.sin, np.arange(4.0)), {"chunk_size": 2}),
        Bad("none", "fn", None, TypeError),
        Bad("shape", "grid", np.zeros((0, 2))),
        Bad("string", "grid", "abc", TypeError),
        Bad("size", "chunk_size", 0),
        Bad("type", "chunk_size", 2.5, TypeError),
        Bad("type", "executor", 4, TypeError),
        Bad("type", "pad", "yes", TypeError),
        Bad("type", "store", [], TypeError),
    ),
    Row(
        "mltheory.numerics.map_keys",
        numerics.map_keys,
        lambda: ((lambda k: k, jax.random.split(KEY, 2)), {}),
        Bad("none", "fn", None, TypeError),
        Bad("key", "keys", 0, TypeError),
        Bad("type", "mesh", "cpu", TypeError),
    ),
]

# --------------------------------------------------------------------------- #
# mltheory.dynamics.dmft: diagonal linear networks
# --------------------------------------------------------------------------- #


def _dmft():
    from mltheory.dynamics import dmft

    return dmft


class _Curve:
    """Anything with ts and loss fields, for tail_rate."""

    ts = np.linspace(0.0, 1.0, 5)
    train_loss = np.exp(-np.linspace(0.0, 1.0, 5))
    test_loss = train_loss


_XD = np.arange(15.0).reshape(3, 5) / 10.0 + np.eye(3, 5)
_YD = np.array([1.0, -0.5, 0.2])

ROWS += [
    Row(
        "mltheory.dynamics.dmft.dln",
        lambda **kw: _dmft().dln(**kw),
        lambda: ((), {"alpha": 1.0}),
        Bad("range", "alpha", 0.0),
        Bad("range", "alpha", -1.0),
        Bad("nonfinite", "alpha", NAN),
        Bad("string", "alpha", "1", TypeError),
        Bad("complex", "alpha", 1 + 1j, TypeError),
        Bad("option", "parametrization", "uvw"),
        Bad("option", "v0", "one"),
        Bad("option", "scheme", "rk4"),
        Bad("option", "prior", "laplace"),
        Bad("law", "prior", {0.0: 0.5, 1.0: 0.6}),
        Bad("shape", "prior", lambda key, n: jnp.zeros((n, 2))),
        Bad("type", "prior", 3, TypeError),
        Bad("range", "sparsity", 1.5),
        Bad("range", "sigma", -0.1),
        Bad("range", "ridge", -1.0),
    ),
    Row(
        "mltheory.dynamics.dmft.simulate_dln",
        lambda model, **kw: _dmft().simulate_dln(model, **kw),
        lambda: (
            (_dmft().dln(alpha=1.0),),
            {"delta": 0.5, "grid": GRID, "d": 50, "key": KEY},
        ),
        Bad("type", "model", "dln", TypeError),
        Bad("range", "delta", -1.0),
        Bad("nonfinite", "delta", NAN),
        Bad("rate", "tau", -0.5),
        Bad("size", "d", 0),
        Bad("size", "n_seeds", 0),
        Bad("size", "record_every", 3),
        Bad("option", "on_divergence", "ignore"),
        Bad("key", "key", 0, TypeError),
        Bad("shape", "grid", [0.0, 1.0, 0.5]),
        Bad("type", "grid", "fine", TypeError),
    ),
    Row(
        "mltheory.dynamics.dmft.dln_escape_times",
        lambda beta_star, **kw: _dmft().dln_escape_times(beta_star, **kw),
        lambda: (([1.0, 2.0],), {"alpha": 0.1}),
        Bad("nonfinite", "beta_star", [np.inf]),
        Bad("string", "beta_star", "a", TypeError),
        Bad("complex", "beta_star", [1 + 1j], TypeError),
        Bad("range", "alpha", -1.0),
        Bad("option", "method", "guess"),
        Bad("option", "parametrization", "x"),
        Bad("range", "fraction", 1.5),
    ),
    Row(
        "mltheory.dynamics.dmft.dln_implicit_bias_solution",
        lambda X, y, **kw: _dmft().dln_implicit_bias_solution(X, y, **kw),
        lambda: ((_XD, _YD), {"alpha": 1.0}),
        Bad("shape", "X", np.ones(3)),
        Bad("shape", "y", np.ones(4)),
        Bad("nonfinite", "X", _with(_XD, NAN)),
        Bad("nonfinite", "y", _with(_YD, INF)),
        Bad("complex", "X", _cplx(_XD), TypeError),
        Bad("range", "alpha", 0.0),
        Bad("rate", "tol", 0.0),
        Bad("size", "max_iter", 0),
        Bad("option", "v0", "x"),
    ),
    Row(
        "mltheory.dynamics.dmft.tail_rate",
        lambda result, **kw: _dmft().tail_rate(result, **kw),
        lambda: ((_Curve(),), {"t_min": 0.0}),
        Bad("type", "result", object(), TypeError),
        Bad("nonfinite", "t_min", NAN),
        Bad("nonfinite", "floor", INF),
        Bad("range", "floor", 10.0),
        Bad("option", "which", "val"),
    ),
    Row(
        "mltheory.dynamics.dmft.dln_lazy_limit",
        lambda model, **kw: _dmft().dln_lazy_limit(model, **kw),
        lambda: ((_dmft().dln(alpha=2.0),), {"delta": 0.5, "grid": GRID}),
        Bad("type", "model", "dln", TypeError),
        Bad("range", "model", _dmft().dln(alpha=2.0, ridge=0.1)),
        Bad("range", "delta", 0.0),
        Bad("type", "grid", [0.0, 1.0], TypeError),
    ),
    Row(
        "mltheory.dynamics.dmft.dln_coefficient_paths",
        lambda result, model, beta_star, **kw: _dmft().dln_coefficient_paths(
            result, model, beta_star, **kw
        ),
        lambda: (
            (
                _dmft().linear_regression_dmft(delta=2.0, grid=GRID),
                _dmft().dln(alpha=1.0),
                [1.0],
            ),
            {"key": KEY},
        ),
        Bad("type", "result", object(), TypeError),
        Bad("type", "model", "dln", TypeError),
        Bad("shape", "beta_star", [[1.0]]),
        Bad("nonfinite", "beta_star", [NAN]),
        Bad("key", "key", 0, TypeError),
        Bad("size", "n_samples", 5),
    ),
]

# --------------------------------------------------------------------------- #
# mltheory.numerics (functional data)
# --------------------------------------------------------------------------- #

_FG = numerics.make_grid(8)
_FW = numerics.quadrature_weights(_FG)
_FB = numerics.sine_basis(_FG, 3)
_FV = np.outer(np.arange(1.0, 5.0), np.sin(np.pi * np.asarray(_FG)))
_FZ = np.zeros((3, 2))
_FF = np.array([[1, 0], [0, 1]])
_FC = np.ones(4)
_FX = np.linspace(0.0, 1.0, 18).reshape(6, 3) ** 2

ROWS += [
    Row(
        "mltheory.numerics.make_grid",
        numerics.make_grid,
        lambda: ((8,), {}),
        Bad("size", "n_points", 1),
        Bad("type", "n_points", 2.5, TypeError),
        Bad("range", "domain", (1.0, 0.0)),
        Bad("nonfinite", "domain", (0.0, NAN), match=r"domain\[1\]"),
        Bad("option", "kind", "gauss"),
    ),
    Row(
        "mltheory.numerics.quadrature_weights",
        numerics.quadrature_weights,
        lambda: ((_FG,), {}),
        Bad("range", "grid", np.array([0.0, 0.5, 0.2])),
        Bad("nonfinite", "grid", np.array([0.0, NAN, 1.0])),
        Bad("complex", "grid", _cplx(_FG), TypeError),
        Bad("none", "grid", None, TypeError),
        Bad("shape", "grid", np.ones((2, 2))),
        Bad("option", "rule", "gauss"),
    ),
    *[
        Row(
            f"mltheory.numerics.{name}",
            getattr(numerics, name),
            lambda: ((_FG, 3), {}),
            Bad("size", "n_basis", 0),
            Bad("range", "n_basis", 20),
            Bad("type", "n_basis", 2.5, TypeError),
            Bad("shape", "grid", np.ones((2, 2))),
            Bad("range", "grid", np.array([0.0, 0.0, 1.0])),
            Bad("nonfinite", "grid", _with(_FG, NAN)),
            Bad("range", "domain", (0.5, 1.0), match=r"inside domain"),
        )
        for name in ("sine_basis", "fourier_basis", "legendre_basis")
    ],
    Row(
        "mltheory.numerics.bspline_basis",
        numerics.bspline_basis,
        lambda: ((_FG, 4), {}),
        Bad("range", "n_basis", 3),
        Bad("size", "order", 0),
        Bad("shape", "weights", np.ones(3)),
        Bad("type", "orthonormalize", "yes", TypeError),
        Bad("nonfinite", "grid", _with(_FG, INF)),
    ),
    Row(
        "mltheory.numerics.make_basis",
        numerics.make_basis,
        lambda: (("sine", _FG, 3), {}),
        Bad("option", "kind", "wavelet"),
        Bad("size", "n_basis", 0),
        Bad("shape", "grid", np.ones((2, 2))),
    ),
    Row(
        "mltheory.numerics.project",
        numerics.project,
        lambda: ((_FV, _FB, _FW), {}),
        Bad("shape", "basis", np.ones(8)),
        Bad("shape", "values", np.ones((2, 2, 8))),
        Bad("nonfinite", "values", _with(_FV, NAN)),
        Bad("complex", "values", _cplx(_FV), TypeError),
        Bad("range", "weights", -np.ones(8)),
        Bad("option", "method", "galerkin"),
        Bad("none", "values", None, TypeError),
    ),
    Row(
        "mltheory.numerics.reconstruct",
        numerics.reconstruct,
        lambda: ((np.ones((4, 3)), _FB), {}),
        Bad("shape", "coefficients", np.ones((4, 2))),
        Bad("nonfinite", "coefficients", _with(np.ones((4, 3)), NAN)),
        Bad("shape", "basis", np.ones(3)),
        Bad("complex", "coefficients", _cplx(np.ones((4, 3))), TypeError),
    ),
    Row(
        "mltheory.numerics.fpca",
        numerics.fpca,
        lambda: ((_FV, _FW), {}),
        Bad("shape", "values", np.ones(8)),
        Bad("nonfinite", "values", _with(_FV, NAN)),
        Bad("shape", "weights", np.ones(3)),
        Bad("size", "n_components", 0),
        Bad("range", "var_explained", 1.5),
        Bad("complex", "values", _cplx(_FV), TypeError),
    ),
    Row(
        "mltheory.numerics.FunctionalData",
        numerics.FunctionalData,
        lambda: ((_FV, _FG), {}),
        Bad("shape", "values", np.ones((4, 5))),
        Bad("nonfinite", "values", _with(_FV, NAN)),
        Bad("complex", "values", _cplx(_FV), TypeError),
        Bad("range", "grid", np.ones(8)),
        Bad("range", "weights", -np.ones(8)),
        Bad("none", "values", None, TypeError),
        Bad("string", "grid", "0..1", TypeError),
    ),
    *[
        Row(
            f"mltheory.numerics.{name}",
            getattr(numerics, name),
            lambda: ((_FZ, _FF), {}),
            Bad("shape", "z", np.ones(2)),
            Bad("nonfinite", "z", _with(_FZ, NAN)),
            Bad("complex", "z", _cplx(_FZ), TypeError),
            Bad("dtype", "freqs", _FF + 0.5),
            Bad("shape", "freqs", np.ones((2, 3), int)),
        )
        for name in ("trig_features", "trig_features_grad")
    ],
    *[
        Row(
            f"mltheory.numerics.{name}",
            getattr(numerics, name),
            lambda: ((_FZ, _FF, _FC), {}),
            Bad("shape", "coef", np.ones(3)),
            Bad("nonfinite", "coef", _with(_FC, NAN)),
            Bad("shape", "z", np.ones(2)),
            Bad("dtype", "freqs", _FF + 0.5),
            Bad("complex", "coef", _cplx(_FC), TypeError),
        )
        for name in ("trig_series", "trig_series_grad", "trig_series_hess")
    ],
    Row(
        "mltheory.numerics.logsumexp_ctransform",
        numerics.logsumexp_ctransform,
        lambda: ((_FX, np.zeros(6), _FX + 1.0, 0.1), {}),
        Bad("shape", "X", np.ones(3)),
        Bad("shape", "f", np.zeros(5)),
        Bad("shape", "Y", np.ones((6, 2))),
        Bad("nonfinite", "f", _with(np.zeros(6), NAN)),
        Bad("rate", "eps", -1.0),
        Bad("nonfinite", "eps", NAN),
        Bad("range", "weights", -np.ones(6)),
        Bad("size", "chunk_size", 0),
        Bad("complex", "X", _cplx(_FX), TypeError),
    ),
]

# --------------------------------------------------------------------------- #
# mltheory.stats.ot
# --------------------------------------------------------------------------- #

from mltheory.stats import ot  # noqa: E402

_OX = np.linspace(-1.0, 1.0, 18).reshape(6, 3) ** 3
_OY = _OX + 1.0
_OG = ot.GammaSmoothness([1.0, 4.0])
_ON = _with(_OX, NAN)
_OS = np.eye(3)
_OM = np.zeros(3)


def _fit_sieve(X, Y, gamma, T=1.0, **kwargs):
    return ot.GammaSieveOTMap(gamma, T, **kwargs).fit(X, Y)


def _fit_gaussian(X, Y, n_components=None, reg=1e-8, **kwargs):
    return ot.GaussianOTMap(n_components, reg, **kwargs).fit(X, Y)


def _fit_projected(X, Y, n_components=2, inner="gaussian", **kwargs):
    return ot.ProjectedOTMap(n_components, inner, **kwargs).fit(X, Y)


_OT_SAMPLES = (
    Bad("shape", "X", np.ones(3)),
    Bad("shape", "Y", _OY[:, :2]),
    Bad("nonfinite", "X", _ON),
    Bad("nonfinite", "Y", _with(_OY, INF)),
    Bad("size", "X", _OX[:1]),
    Bad("complex", "X", _cplx(_OX), TypeError),
    Bad("none", "Y", None, TypeError),
)

ROWS += [
    Row(
        "mltheory.stats.ot.GammaSmoothness",
        ot.GammaSmoothness,
        lambda: (([1.0, 4.0],), {}),
        Bad("range", "a", [-1.0, 2.0]),
        Bad("range", "a", [2.0, 1.0], match="non-decreasing"),
        Bad("nonfinite", "a", [NAN]),
        Bad("none", "a", None, TypeError),
        Bad("string", "a", "abc", TypeError),
        Bad("complex", "a", [1.0 + 1j], TypeError),
        Bad("range", "a", lambda i: float(i), match=r"sum_i 1/a_i"),
        Bad("option", "kind", "hyperbolic"),
        Bad("size", "max_dim", 0),
        Bad("type", "max_dim", 2.5, TypeError),
    ),
    Row(
        "mltheory.stats.ot.GammaSmoothness",
        lambda T, max_features=4096: _OG.frequency_set(T, max_features),
        lambda: ((8.0,), {}),
        Bad("nonfinite", "T", NAN),
        Bad("size", "max_features", 2, match=r"max_features = 2"),
    ),
    Row(
        "mltheory.stats.ot.GammaSieveOTMap",
        _fit_sieve,
        lambda: ((_OX, _OY, _OG), {}),
        *_OT_SAMPLES,
        Bad("type", "gamma", [1.0], TypeError),
        Bad("rate", "T", -1.0),
        Bad("option", "T", "best"),
        Bad("nonfinite", "T", NAN),
        Bad("rate", "rho", -1.0),
        Bad("rate", "eps", 0.0),
        Bad("type", "include_quadratic", "yes", TypeError),
        Bad("option", "tail", "linear"),
        Bad("size", "cv", 1),
        Bad("size", "max_features", 0),
        Bad("size", "maxiter", 0),
        Bad("rate", "tol", -1.0),
        Bad("type", "random_state", "a", TypeError),
        Bad("range", "margin", -0.1),
        Bad("type", "convexify", "no", TypeError),
        Bad("option", "basis", "wavelet"),
        Bad("size", "n_basis", 0),
    ),
    Row(
        "mltheory.stats.ot.fit_gamma_sieve_map",
        ot.fit_gamma_sieve_map,
        lambda: ((_OX, _OY, _OG), {"T": 1.0}),
        *_OT_SAMPLES,
        Bad("none", "gamma", None, TypeError),
        Bad("size", "cv", 0),
        Bad("option", "tail", "linear"),
        Bad("rate", "eps", -1.0),
        Bad("type", "maxiter", 2.5, TypeError),
    ),
    Row(
        "mltheory.stats.ot.GaussianOTMap",
        _fit_gaussian,
        lambda: ((_OX, _OY), {}),
        *_OT_SAMPLES,
        Bad("size", "n_components", 0),
        Bad("range", "n_components", 4),
        Bad("rate", "reg", -1.0),
        Bad("nonfinite", "reg", NAN),
        Bad("option", "tail", "linear"),
    ),
    Row(
        "mltheory.stats.ot.ProjectedOTMap",
        _fit_projected,
        lambda: ((_OX, _OY), {}),
        *_OT_SAMPLES,
        Bad("option", "inner", "sinkhorn"),
        Bad("size", "n_components", 0),
        Bad("option", "n_components", "best"),
        Bad("rate", "epsilon", -1.0),
        Bad("option", "extension", "2nn"),
        Bad("size", "k", 0),
        Bad("size", "cv", 1),
        Bad("type", "gamma", [1.0], TypeError),
        Bad("rate", "reg", -1.0),
    ),
    Row(
        "mltheory.stats.ot.gaussian_ot_map",
        ot.gaussian_ot_map,
        lambda: ((_OM, _OS, _OM, 2.0 * _OS), {}),
        Bad("shape", "mean_src", np.zeros(2)),
        Bad("range", "cov_src", -_OS),
        Bad("range", "cov_tgt", _OS + np.triu(np.ones((3, 3)), 1)),
        Bad("nonfinite", "mean_tgt", _with(_OM, NAN)),
        Bad("complex", "cov_src", _cplx(_OS), TypeError),
        Bad("rate", "reg", -1.0),
        Bad("shape", "cov_tgt", np.eye(2), match="same dimension"),
    ),
    Row(
        "mltheory.stats.ot.gaussian_w2_squared",
        ot.gaussian_w2_squared,
        lambda: ((None, _OS, None, 2.0 * _OS), {}),
        Bad("range", "cov_src", -_OS),
        Bad("shape", "mean_src", np.zeros(2)),
        Bad("nonfinite", "cov_tgt", _with(_OS, NAN)),
        Bad("shape", "cov_tgt", np.ones(3), match="both be matrices"),
    ),
    Row(
        "mltheory.stats.ot.commuting_gaussian_map",
        ot.commuting_gaussian_map,
        lambda: (([1.0, 0.5], [2.0, 0.5]), {}),
        Bad("range", "lam_src", [0.0, 1.0]),
        Bad("shape", "lam_tgt", [1.0]),
        Bad("shape", "mean_src", [0.0]),
        Bad("nonfinite", "lam_src", [1.0, NAN]),
        Bad("complex", "lam_tgt", [1.0 + 1j, 1.0], TypeError),
    ),
    Row(
        "mltheory.stats.ot.truncation_bias",
        ot.truncation_bias,
        lambda: (([1.0, 0.5], [4.0, 1.0], 1), {}),
        Bad("range", "lam_src", [-1.0, 1.0]),
        Bad("range", "ratio", [-1.0, 1.0]),
        Bad("range", "D", 5),
        Bad("type", "D", 1.5, TypeError),
        Bad("shape", "ratio", [1.0]),
        Bad("nonfinite", "lam_src", [NAN, 1.0]),
    ),
    Row(
        "mltheory.stats.ot.l2_map_error",
        ot.l2_map_error,
        lambda: ((lambda x: x, lambda x: x + 1.0, _OX), {}),
        Bad("shape", "X_eval", np.ones(3)),
        Bad("nonfinite", "X_eval", _ON),
        Bad("none", "T_hat", None, TypeError),
        Bad("shape", "T_hat", lambda x: x[:, :2]),
        Bad("range", "weights", -np.ones(3)),
        Bad("shape", "weights", np.ones(2)),
    ),
    Row(
        "mltheory.stats.ot.empirical_ot_assignment",
        ot.empirical_ot_assignment,
        lambda: ((_OX, _OY), {}),
        Bad("shape", "X", np.ones(3)),
        Bad("shape", "Y", _OY[:4], match="same number of samples"),
        Bad("nonfinite", "X", _ON),
        Bad("complex", "Y", _cplx(_OY), TypeError),
    ),
    Row(
        "mltheory.stats.ot.entropic_map",
        ot.entropic_map,
        lambda: ((_OX, _OY), {}),
        Bad("shape", "X", np.ones(3)),
        Bad("nonfinite", "Y", _with(_OY, NAN)),
        Bad("rate", "epsilon", -1.0),
        Bad("nonfinite", "epsilon", NAN),
        Bad("size", "max_iter", 0),
        Bad("rate", "tol", 0.0),
    ),
    *[
        Row(
            f"mltheory.stats.ot.{name}",
            getattr(ot, name),
            lambda: ((100, _OG), {}),
            Bad("range", "n", 0),
            Bad("nonfinite", "n", NAN),
            Bad("none", "gamma", None, TypeError),
            Bad("type", "gamma", [1.0], TypeError),
        )
        for name in ("rate", "optimal_budget", "optimal_dim")
    ],
    Row(
        "mltheory.stats.ot.rate",
        ot.rate,
        lambda: ((100, _OG), {}),
        Bad("option", "kind", "minimax"),
    ),
    Row(
        "mltheory.stats.ot.datasets.make_gaussian_process_pair",
        ot.datasets.make_gaussian_process_pair,
        lambda: ((5,), {"n_coefficients": 3}),
        Bad("size", "n", 1),
        Bad("size", "n_coefficients", 0),
        Bad("range", "lam", [-1.0, 1.0, 1.0]),
        Bad("range", "ratio", [-1.0, 1.0, 1.0]),
        Bad("shape", "ratio", [1.0]),
        Bad("size", "n_grid", 3),
        Bad("option", "basis", "wavelet"),
        Bad("range", "random_state", -1),
        Bad("shape", "mean_src", [0.0]),
    ),
    Row(
        "mltheory.stats.ot.datasets.make_gamma_smooth_pair",
        ot.datasets.make_gamma_smooth_pair,
        lambda: ((5,), {}),
        Bad("size", "n", 0),
        Bad("rate", "alpha", 0.0),
        Bad("size", "J0", 0),
        Bad("range", "J0", 40),
        Bad("range", "c", 2.0, match="must be convex"),
        Bad("nonfinite", "eta", NAN),
        Bad("size", "n_coefficients", 0),
        Bad("option", "basis", "wavelet"),
        Bad("type", "random_state", 1.5, TypeError),
    ),
]

NO_INPUT: dict[str, str] = {
    "mltheory.numerics.FPCAResult": "result container made by fpca",
    "mltheory.stats.ot.EntropicMap": (
        "result container made (and validated) by entropic_map; its calls check "
        "their points (tests/stats/test_ot.py)"
    ),
    "mltheory.stats.ot.OTMapResult": (
        "result container made by fit_gamma_sieve_map; transform/potential check "
        "their points (tests/stats/test_ot.py)"
    ),
    "mltheory.stats.ot.datasets.OTPair": "result container made by the datasets",
    **{
        f"mltheory.generative.sona.{name}": (
            "parameter or state container (a pytree), validated by every function "
            "that takes it"
        )
        for name in (
            "SonaHeadParams",
            "ProjectionHeadParams",
            "SonaDiscriminatorParams",
            "ScalesState",
            "UncertaintyState",
        )
    },
    "mltheory.generative.sona.SonaOutput": "result container",
    "mltheory.generative.sona.SanOutput": "result container",
    "mltheory.generative.sona.LossWeighting": "a protocol (an interface), not called",
    "mltheory.generative.sona_toy.ToyGANResult": "result container made by train",
    "mltheory.generative.sona_toy.ToyGANMetrics": "result container made by evaluate",
    "mltheory.exceptions.ConvergenceWarning": "a warning class",
    "mltheory.stats.bandits.BanditInstance": (
        "instance container made (and validated) by make_instance and "
        "instance_from_arrays"
    ),
    "mltheory.stats.bandits.BanditRun": "result container",
    "mltheory.stats.bandits.BanditRunBatch": "result container",
    "mltheory.stats.bandits.RandomPolicy": "takes no arguments",
    "mltheory.exceptions.DivergenceError": "an exception class",
    "mltheory.exceptions.DivergenceWarning": "a warning class",
    "mltheory.exceptions.NotFittedError": "an exception class",
    **{
        f"mltheory.optim.phase_retrieval.{name}": "result container"
        for name in ("Comparison", "EscapeRates", "PRSummary", "PRTrajectory")
    },
    "mltheory.optim.phase_retrieval.SpikedCovariance": (
        "problem container made (and validated) by spiked_covariance"
    ),
    "mltheory.optim.sgf.SGFTrajectory": "result container",
    "mltheory.dynamics.dmft.DLNModel": (
        "model container made (and validated) by dln, also validated in "
        "__post_init__ as an SGFModel"
    ),
    "mltheory.dynamics.dmft.DLNTrajectory": "result container",
    "mltheory.dynamics.dmft.DLNPaths": "result container",
    "mltheory.generative.SampleResult": "result container",
    "mltheory.generative.PositionPolicy": "a typing.Protocol (an interface)",
    "mltheory.generative.TokenRule": "a typing.Protocol (an interface)",
    "mltheory.generative.CachedDenoiser": "a typing.Protocol (an interface)",
    **{
        f"mltheory.stats.shuffled.{name}": "result container"
        for name in (
            "CandidateSet",
            "CoefficientConfidenceSet",
            "LAPFit",
            "PermutationConfidenceSet",
            "PermutationTestResult",
            "ShuffledData",
        )
    },
    "mltheory.dynamics.dmft.DMFTDivergenceError": "an exception class",
    "mltheory.dynamics.dmft.DMFTNumericalError": "an exception class",
    "mltheory.dynamics.dmft.DMFTResult": "result container",
    **{
        f"mltheory.dynamics.fast_slow.{name}": "result container"
        for name in (
            "CriticalManifold",
            "Equilibria",
            "FastSlowTrajectory",
            "HermiteSums",
            "PhaseDiagram",
            "PopulationTrajectory",
            "PowerLawFit",
            "ScalingLaw",
            "UnlearningDiagnosis",
            "UnlearningStats",
        )
    },
    "mltheory.dynamics.tensor_programs.SGDTrajectory": "result container",
    "mltheory.dynamics.tensor_programs.WidthConvergence": "result container",
    "mltheory.dynamics.xor.XORParams": (
        "parameter container, validated by every function that takes it"
    ),
    **{
        f"mltheory.dynamics.xor.{name}": "result container"
        for name in (
            "BlockAssignment",
            "BlockSignals",
            "ClusterDiagnostics",
            "ErrorRegionReport",
            "XORTrajectory",
        )
    },
}


# --------------------------------------------------------------------------- #
# The sweep
# --------------------------------------------------------------------------- #

CASES = [
    pytest.param(
        row, case, id=f"{row.name.removeprefix('mltheory.')}-{case.kind}-{case.arg}"
    )
    for row in ROWS
    for case in row.bad
]


@pytest.mark.parametrize(("row", "case"), CASES)
def test_bad_input_gets_a_clear_error(row, case):
    assert case.kind in KINDS, case.kind
    if issubclass(case.error, Warning):
        with pytest.warns(case.error, match=case.pattern()):
            _invoke(row, case)
        return
    with pytest.raises(case.error, match=case.pattern()) as info:
        _invoke(row, case)
    # a library error, raised by mltheory code (not deep inside JAX/NumPy)
    tb = info.tb
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame.f_globals.get("__name__", ""))
        tb = tb.tb_next
    raised_by = frames[-1]
    assert raised_by.startswith("mltheory") or raised_by == __name__, (
        f"{row.name}: {case.kind} {case.arg!r} raised {info.type.__name__} from "
        f"{raised_by!r}, not from mltheory's validation: {info.value}"
    )


# --------------------------------------------------------------------------- #
# The guard: every public name has a row (or is listed in NO_INPUT)
# --------------------------------------------------------------------------- #


def _public_objects() -> dict[str, Any]:
    found = {}
    for info in pkgutil.walk_packages(mltheory.__path__, prefix="mltheory."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        mod = importlib.import_module(info.name)
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if not inspect.ismodule(obj):
                found[f"{info.name}.{name}"] = obj
    return found


def _public_names() -> list[str]:
    return sorted(_public_objects())


def test_every_public_name_has_a_row():
    objects = _public_objects()
    # a name re-exported elsewhere (numerics.sweep = numerics.parallel.sweep)
    # is covered by a row under either name
    named = {row.name for row in ROWS} | set(NO_INPUT)
    covered = {id(objects[n]) for n in named if n in objects}
    missing = [n for n, obj in objects.items() if id(obj) not in covered]
    assert not missing, (
        "public names without a row in tests/test_bad_inputs.py (add a Row with "
        f"its bad inputs, or a NO_INPUT entry with the reason): {sorted(missing)}"
    )


def test_rows_name_real_public_objects_and_arguments():
    public = set(_public_names())
    for row in ROWS:
        assert row.name in public, f"{row.name} is not a public name"
        assert row.bad, f"{row.name} has a row without bad inputs"
        params = inspect.signature(row.call).parameters
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
        for case in row.bad:
            assert case.arg in params or takes_kwargs, (row.name, case.arg)
    assert set(NO_INPUT) <= public
