"""The textbook suite's data: derivatives from public references, in the references' form.

Each :class:`Case` is plain data:

* ``f``: einderiv's numpy-like text, an expression or a program (``z = ...`` lines, the
  last line is the result), using only functions ``ed.parse`` supports today;
* ``shapes``: the symbol declarations (``"X[n,d] w[d] y[n]"``, ``:sym`` for symmetric,
  ``1`` for a size-1 axis);
* ``kind`` and ``wrt`` (with ``cotangent`` for a vjp, ``tangent`` for a jvp): the
  derivative asked for;
* ``textbook``: the reference's own form as a numpy program (``name = expr`` lines, the last
  line is the result), with the reference's intermediate names;
* sampling hints for the values (``positive``, ``spd``, ``invertible``, ``onehot``,
  ``binary``, and ``sizes`` where a dim must be larger than another, e.g. a tall matrix).

``ref`` names the reference (a key of :data:`REFERENCES`); ``source`` cites the section or
equation.  Equation numbers follow the editions named in :data:`REFERENCES`.
"""

from __future__ import annotations

from dataclasses import dataclass

REFERENCES = {
    "cookbook": "K. B. Petersen, M. S. Pedersen, The Matrix Cookbook (version Nov. 15, 2012)",
    "cs231n": "Stanford CS231n course notes and assignments (cs231n.github.io)",
    "prml": "C. M. Bishop, Pattern Recognition and Machine Learning (2006)",
    "goodfellow": "I. Goodfellow, Y. Bengio, A. Courville, Deep Learning (2016)",
    "d2l": "A. Zhang, Z. C. Lipton, M. Li, A. J. Smola, Dive into Deep Learning (d2l.ai)",
    "flashattention": "T. Dao et al., FlashAttention (NeurIPS 2022), appendix B",
    "batchnorm": "S. Ioffe, C. Szegedy, Batch Normalization (ICML 2015), and its compact "
                 "backward form",
    "forum": "Coursera Deep Learning Specialization, course 5 week 1, 'Building your RNN "
             "step by step' (rnn_cell_backward, the forum's BPTT question)",
    "lstm": "LSTM cell: D2L 10.1 forward; K. Greff et al., LSTM: A Search Space Odyssey "
            "(2017), appendix B backward",
    "gru": "GRU cell: K. Cho et al. (2014) eqs. 5-8, as in D2L 10.2; backward by the chain rule",
}

KINDS = ("grad", "vjp", "jvp", "hessian", "diff")


@dataclass(frozen=True)
class Case:
    """One textbook derivative."""

    id: str
    ref: str
    source: str
    f: str
    shapes: str
    wrt: str
    textbook: str
    kind: str = "grad"
    cotangent: str | None = None
    tangent: str | None = None
    positive: tuple[str, ...] = ()
    spd: tuple[str, ...] = ()
    invertible: tuple[str, ...] = ()
    onehot: tuple[str, ...] = ()
    binary: tuple[str, ...] = ()
    sizes: tuple[tuple[str, int], ...] = ()


CASES: list[Case] = []


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _program(text: str) -> str:
    """One statement a line, unindented: the programs here are flat (no blocks)."""
    return "\n".join(line.strip() for line in text.strip().splitlines() if line.strip())


def case(ref: str, id: str, source: str, f: str, shapes: str, wrt: str, textbook: str, *,
         kind: str = "grad", cotangent: str | None = None, tangent: str | None = None,
         positive: str = "", spd: str = "", invertible: str = "", onehot: str = "",
         binary: str = "", sizes: str = "") -> Case:
    """Add a case; name lists are space-separated, ``sizes`` like ``"n=7 k=3"``."""
    made = Case(
        id=id, ref=ref, source=source, f=_program(f), shapes=shapes, wrt=wrt,
        textbook=_program(textbook), kind=kind, cotangent=cotangent, tangent=tangent,
        positive=_names(positive), spd=_names(spd), invertible=_names(invertible),
        onehot=_names(onehot), binary=_names(binary),
        sizes=tuple((k, int(v)) for k, v in (item.split("=") for item in sizes.split())),
    )
    CASES.append(made)
    return made


# ======================================================================================
# The Matrix Cookbook (2012): differentials (sec. 2), determinants (2.1), inverses (2.2),
# scalar forms (2.4), traces (2.5), norms (2.6, 2.7).
# ======================================================================================


def cookbook(eq: str, id: str, f: str, shapes: str, wrt: str, textbook: str, **kw) -> Case:
    """A Matrix Cookbook case; ``eq`` is the equation number."""
    return case("cookbook", id, f"Matrix Cookbook (2012) eq. {eq}", f, shapes, wrt, textbook,
                **kw)


INV = "Xi = np.linalg.inv(X)\n"

# -- differentials, sec. 2 (as jvps: the tangent V is dX) -------------------------------
cookbook("36", "cb-dtrace", "trace(X)", "X[n,n]", "X", "np.trace(V)",
         kind="jvp", tangent="V")
cookbook("37", "cb-dproduct", "X @ X", "X[n,n]", "X", "V @ X + X @ V",
         kind="jvp", tangent="V")
cookbook("37", "cb-dproduct-rect", "A @ X @ B", "A[k,n] X[n,m] B[m,p]", "X", "A @ V @ B",
         kind="jvp", tangent="V")
cookbook("38", "cb-dhadamard", "X * X", "X[n,m]", "X", "V * X + X * V",
         kind="jvp", tangent="V")
cookbook("40", "cb-dinv", "inv(X)", "X[n,n]", "X", INV + "-Xi @ V @ Xi",
         kind="jvp", tangent="V", invertible="X")
cookbook("42", "cb-ddet", "det(X)", "X[n,n]", "X", INV + "np.linalg.det(X) * np.trace(Xi @ V)",
         kind="jvp", tangent="V", invertible="X")
cookbook("43", "cb-dlogdet", "logdet(X)", "X[n,n]", "X", "np.trace(np.linalg.inv(X) @ V)",
         kind="jvp", tangent="V", invertible="X")
cookbook("44", "cb-dtranspose", "X.T @ A", "X[n,m] A[n,k]", "X", "V.T @ A",
         kind="jvp", tangent="V")
cookbook("46", "cb-ddet-general", "det(A @ X @ B)", "A[n,n] X[n,n] B[n,n]", "X",
         """
         Y = A @ X @ B
         np.linalg.det(Y) * np.trace(np.linalg.inv(Y) @ A @ V @ B)
         """, kind="jvp", tangent="V", invertible="A X B")
cookbook("48", "cb-det-hessian", "det(X)", "X[n,n]", "X",
         INV + "np.linalg.det(X) * (np.einsum('ji,lk->ijkl', Xi, Xi) "
         "- np.einsum('jk,li->ijkl', Xi, Xi))",
         kind="hessian", invertible="X")

# -- determinants, sec. 2.1 -------------------------------------------------------------
cookbook("49", "cb-det", "det(X)", "X[n,n]", "X", "np.linalg.det(X) * np.linalg.inv(X).T",
         invertible="X")
cookbook("51", "cb-det-axb", "det(A @ X @ B)", "A[n,n] X[n,n] B[n,n]", "X",
         "np.linalg.det(A @ X @ B) * np.linalg.inv(X).T", invertible="A X B")
cookbook("52", "cb-det-xtax-square", "det(X.T @ A @ X)", "X[n,n] A[n,n]", "X",
         "2 * np.linalg.det(X.T @ A @ X) * np.linalg.inv(X).T", invertible="X A")
cookbook("53", "cb-det-xtax-sym", "det(X.T @ A @ X)", "X[n,k] A[n,n]:sym", "X",
         """
         M = X.T @ A @ X
         2 * np.linalg.det(M) * A @ X @ np.linalg.inv(M)
         """, spd="A", sizes="n=6 k=3")
cookbook("54", "cb-det-xtax", "det(X.T @ A @ X)", "X[n,k] A[n,n]", "X",
         """
         M = X.T @ A @ X
         np.linalg.det(M) * (A @ X @ np.linalg.inv(M) + A.T @ X @ np.linalg.inv(X.T @ A.T @ X))
         """, invertible="A", sizes="n=6 k=3")
cookbook("55", "cb-logdet-xtx", "logdet(X.T @ X)", "X[n,k]", "X", "2 * np.linalg.pinv(X).T",
         sizes="n=6 k=3")
cookbook("57", "cb-logdet", "logdet(X)", "X[n,n]", "X", "np.linalg.inv(X).T", invertible="X")
cookbook("58", "cb-det-power2", "det(X @ X)", "X[n,n]", "X",
         "2 * np.linalg.det(X @ X) * np.linalg.inv(X).T", invertible="X")
cookbook("58", "cb-det-power3", "det(X @ X @ X)", "X[n,n]", "X",
         "3 * np.linalg.det(X @ X @ X) * np.linalg.inv(X).T", invertible="X")

# -- inverses, sec. 2.2 -----------------------------------------------------------------
cookbook("59", "cb-inv-vjp", "inv(X)", "X[n,n]", "X", INV + "-Xi.T @ G @ Xi.T",
         kind="vjp", cotangent="G", invertible="X")
cookbook("60", "cb-inv-full", "inv(X)", "X[n,n]", "X", INV + "-np.einsum('ki,jl->klij', Xi, Xi)",
         kind="diff", invertible="X")
cookbook("61", "cb-bilinear-inv", "a @ inv(X) @ b", "X[n,n] a[n] b[n]", "X",
         INV + "-Xi.T @ np.outer(a, b) @ Xi.T", invertible="X")
cookbook("62", "cb-det-inv", "det(inv(X))", "X[n,n]", "X",
         INV + "-np.linalg.det(Xi) * Xi.T", invertible="X")
cookbook("63", "cb-trace-ainvb", "trace(A @ inv(X) @ B)", "A[k,n] X[n,n] B[n,k]", "X",
         INV + "-(Xi @ B @ A @ Xi).T", invertible="X")
cookbook("64", "cb-trace-inv-sum", "trace(inv(X + A))", "X[n,n] A[n,n]", "X",
         """
         Y = np.linalg.inv(X + A)
         -(Y @ Y).T
         """, invertible="X A")

# -- first-order scalar forms, sec. 2.4.1 ------------------------------------------------
cookbook("69", "cb-linear", "a @ x", "x[n] a[n]", "x", "a")
cookbook("69", "cb-linear-xta", "x @ a", "x[n] a[n]", "x", "a")
cookbook("70", "cb-bilinear", "a @ X @ b", "a[n] X[n,m] b[m]", "X", "np.outer(a, b)")
cookbook("71", "cb-bilinear-t", "a @ X.T @ b", "X[n,m] a[m] b[n]", "X", "np.outer(b, a)")
cookbook("72", "cb-quadratic-x", "a @ X @ a", "X[n,n] a[n]", "X", "np.outer(a, a)")
cookbook("72", "cb-quadratic-xt", "a @ X.T @ a", "X[n,n] a[n]", "X", "np.outer(a, a)")
cookbook("74", "cb-xa-full", "X @ A", "X[p,n] A[n,q]", "X",
         "np.einsum('im,nj->ijmn', np.eye(X.shape[0]), A)", kind="diff")
cookbook("75", "cb-xta-full", "X.T @ A", "X[p,q] A[p,r]", "X",
         "np.einsum('in,mj->ijmn', np.eye(X.shape[1]), A)", kind="diff")

# -- second-order scalar forms, sec. 2.4.2 -----------------------------------------------
cookbook("77", "cb-btxtxc", "b @ X.T @ X @ c", "X[n,m] b[m] c[m]", "X",
         "X @ (np.outer(b, c) + np.outer(c, b))")
cookbook("78", "cb-bilinear-affine", "(B @ x + b) @ C @ (D @ x + d)",
         "x[n] B[p,n] b[p] C[p,q] D[q,n] d[q]", "x",
         "B.T @ C @ (D @ x + d) + D.T @ C.T @ (B @ x + b)")
cookbook("81", "cb-quadratic", "x @ B @ x", "x[n] B[n,n]", "x", "(B + B.T) @ x")
cookbook("82", "cb-btxtdxc", "b @ X.T @ D @ X @ c", "X[n,m] D[n,n] b[m] c[m]", "X",
         "D.T @ X @ np.outer(b, c) + D @ X @ np.outer(c, b)")
cookbook("83", "cb-affine-quadratic", "(X @ b + c) @ D @ (X @ b + c)", "X[n,m] b[m] c[n] D[n,n]",
         "X", "(D + D.T) @ np.outer(X @ b + c, b)")
cookbook("84", "cb-weighted-ls-s", "(x - A @ s) @ W @ (x - A @ s)", "x[n] A[n,k] s[k] W[n,n]:sym",
         "s", "-2 * A.T @ W @ (x - A @ s)")
cookbook("85", "cb-weighted-dx", "(x - s) @ W @ (x - s)", "x[n] s[n] W[n,n]:sym", "x",
         "2 * W @ (x - s)")
cookbook("86", "cb-weighted-ds", "(x - s) @ W @ (x - s)", "x[n] s[n] W[n,n]:sym", "s",
         "-2 * W @ (x - s)")
cookbook("87", "cb-weighted-ls-x", "(x - A @ s) @ W @ (x - A @ s)", "x[n] A[n,k] s[k] W[n,n]:sym",
         "x", "2 * W @ (x - A @ s)")
cookbook("88", "cb-weighted-ls-a", "(x - A @ s) @ W @ (x - A @ s)", "x[n] A[n,k] s[k] W[n,n]:sym",
         "A", "-2 * W @ np.outer(x - A @ s, s)")

# -- higher order, sec. 2.4.3, and gradient / Hessian, sec. 2.4.4 -------------------------
cookbook("89", "cb-square-full", "X @ X", "X[n,n]", "X",
         """
         I = np.eye(X.shape[0])
         np.einsum('ki,jl->klij', I, X) + np.einsum('ki,jl->klij', X, I)
         """, kind="diff")
cookbook("90", "cb-power-bilinear", "a @ X @ X @ X @ b", "X[n,n] a[n] b[n]", "X",
         """
         ab = np.outer(a, b)
         ab @ (X @ X).T + X.T @ ab @ X.T + (X @ X).T @ ab
         """)
cookbook("2.4.4", "cb-quadratic-gradient", "x @ A @ x + b @ x", "x[n] A[n,n] b[n]", "x",
         "(A + A.T) @ x + b")
cookbook("2.4.4", "cb-quadratic-hessian", "x @ A @ x + b @ x", "x[n] A[n,n] b[n]", "x",
         "A + A.T", kind="hessian")
cookbook("2.4.4", "cb-quadratic-sym-gradient", "x @ A @ x + b @ x", "x[n] A[n,n]:sym b[n]", "x",
         "2 * A @ x + b")

# -- traces, sec. 2.5 --------------------------------------------------------------------
cookbook("99", "cb-trace", "trace(X)", "X[n,n]", "X", "np.eye(X.shape[0])")
cookbook("100", "cb-trace-xa", "trace(X @ A)", "X[n,m] A[m,n]", "X", "A.T")
cookbook("101", "cb-trace-axb", "trace(A @ X @ B)", "A[k,n] X[n,m] B[m,k]", "X", "A.T @ B.T")
cookbook("102", "cb-trace-axtb", "trace(A @ X.T @ B)", "A[k,m] X[n,m] B[n,k]", "X", "B @ A")
cookbook("103", "cb-trace-xta", "trace(X.T @ A)", "X[n,m] A[n,m]", "X", "A")
cookbook("104", "cb-trace-axt", "trace(A @ X.T)", "A[n,m] X[n,m]", "X", "A")
cookbook("106", "cb-trace-x2", "trace(X @ X)", "X[n,n]", "X", "2 * X.T")
cookbook("107", "cb-trace-x2b", "trace(X @ X @ B)", "X[n,n] B[n,n]", "X", "(X @ B + B @ X).T")
cookbook("108", "cb-trace-xtbx", "trace(X.T @ B @ X)", "X[n,m] B[n,n]", "X", "B @ X + B.T @ X")
cookbook("109", "cb-trace-bxxt", "trace(B @ X @ X.T)", "X[n,m] B[n,n]", "X", "B @ X + B.T @ X")
cookbook("110", "cb-trace-xxtb", "trace(X @ X.T @ B)", "X[n,m] B[n,n]", "X", "B @ X + B.T @ X")
cookbook("111", "cb-trace-xbxt", "trace(X @ B @ X.T)", "X[n,m] B[m,m]", "X", "X @ B.T + X @ B")
cookbook("112", "cb-trace-bxtx", "trace(B @ X.T @ X)", "X[n,m] B[m,m]", "X", "X @ B.T + X @ B")
cookbook("113", "cb-trace-xtxb", "trace(X.T @ X @ B)", "X[n,m] B[m,m]", "X", "X @ B.T + X @ B")
cookbook("114", "cb-trace-axbx", "trace(A @ X @ B @ X)", "A[m,n] X[n,m] B[m,n]", "X",
         "A.T @ X.T @ B.T + B.T @ X.T @ A.T")
cookbook("115", "cb-trace-xtx", "trace(X.T @ X)", "X[n,m]", "X", "2 * X")
cookbook("115", "cb-trace-xxt", "trace(X @ X.T)", "X[n,m]", "X", "2 * X")
cookbook("116", "cb-trace-btxtcxb", "trace(B.T @ X.T @ C @ X @ B)", "X[n,m] C[n,n] B[m,k]", "X",
         "C.T @ X @ B @ B.T + C @ X @ B @ B.T")
cookbook("117", "cb-trace-xtbxc", "trace(X.T @ B @ X @ C)", "X[n,m] B[n,n] C[m,m]", "X",
         "B @ X @ C + B.T @ X @ C.T")
cookbook("118", "cb-trace-axbxtc", "trace(A @ X @ B @ X.T @ C)",
         "A[k,n] X[n,m] B[m,m] C[n,k]", "X", "A.T @ C.T @ X @ B.T + C @ A @ X @ B")
cookbook("119", "cb-trace-residual", "trace((A @ X @ B + C) @ (A @ X @ B + C).T)",
         "A[k,n] X[n,m] B[m,p] C[k,p]", "X", "2 * A.T @ (A @ X @ B + C) @ B.T")
cookbook("121", "cb-trace-x4", "trace(X @ X @ X @ X)", "X[n,n]", "X", "4 * (X @ X @ X).T")
cookbook("122", "cb-trace-ax3", "trace(A @ X @ X @ X)", "A[n,n] X[n,n]", "X",
         "(A @ X @ X).T + (X @ A @ X).T + (X @ X @ A).T")
cookbook("124", "cb-trace-ainvb-t", "trace(A @ inv(X) @ B)", "A[k,n] X[n,n] B[n,k]", "X",
         INV + "-Xi.T @ A.T @ B.T @ Xi.T", invertible="X")
cookbook("125", "cb-trace-inv-xtcx-a", "trace(inv(X.T @ C @ X) @ A)", "X[n,k] C[n,n]:sym A[k,k]",
         "X",
         """
         M = np.linalg.inv(X.T @ C @ X)
         -(C @ X @ M) @ (A + A.T) @ M
         """, spd="C", sizes="n=6 k=3")
cookbook("126", "cb-trace-ratio", "trace(inv(X.T @ C @ X) @ (X.T @ B @ X))",
         "X[n,k] C[n,n]:sym B[n,n]:sym", "X",
         """
         M = np.linalg.inv(X.T @ C @ X)
         -2 * C @ X @ M @ X.T @ B @ X @ M + 2 * B @ X @ M
         """, spd="C", sizes="n=6 k=3")
cookbook("127", "cb-trace-ratio-reg", "trace(inv(A + X.T @ C @ X) @ (X.T @ B @ X))",
         "X[n,k] A[k,k]:sym C[n,n]:sym B[n,n]:sym", "X",
         """
         N = np.linalg.inv(A + X.T @ C @ X)
         -2 * C @ X @ N @ X.T @ B @ X @ N + 2 * B @ X @ N
         """, spd="A C", sizes="n=6 k=3")

# -- norms, secs. 2.6 and 2.7 -------------------------------------------------------------
cookbook("129", "cb-norm", "norm(x - a)", "x[n] a[n]", "x",
         "(x - a) / np.linalg.norm(x - a)")
cookbook("130", "cb-unit-vector-jacobian", "(x - a) / norm(x - a)", "x[n] a[n]", "x",
         """
         r = x - a
         np.eye(len(x)) / np.linalg.norm(r) - np.outer(r, r) / np.linalg.norm(r)**3
         """, kind="diff")
cookbook("130", "cb-norm-hessian", "norm(x - a)", "x[n] a[n]", "x",
         """
         r = x - a
         np.eye(len(x)) / np.linalg.norm(r) - np.outer(r, r) / np.linalg.norm(r)**3
         """, kind="hessian")
cookbook("131", "cb-norm2", "norm(x) ** 2", "x[n]", "x", "2 * x")
cookbook("131", "cb-xtx", "x @ x", "x[n]", "x", "2 * x")
cookbook("132", "cb-frobenius", "norm(X) ** 2", "X[n,m]", "X", "2 * X")
cookbook("132", "cb-frobenius-trace", "trace(X @ X.T)", "X[n,m]", "X", "2 * X")


# ======================================================================================
# CS231n (Stanford): the backprop notes, the neural-network case study, the assignments.
# ======================================================================================


def cs231n(where: str, id: str, f: str, shapes: str, wrt: str, textbook: str, **kw) -> Case:
    """A CS231n case; ``where`` names the notes page or the assignment function."""
    return case("cs231n", id, f"CS231n {where}", f, shapes, wrt, textbook, **kw)


MATMUL_NOTES = "notes: Backpropagation, Intuitions, 'Gradients for vectorized operations'"
cs231n(MATMUL_NOTES, "cs-matmul-dW", "W @ X", "W[n,k] X[k,m]", "W", "dD.dot(X.T)",
       kind="vjp", cotangent="dD")
cs231n(MATMUL_NOTES, "cs-matmul-dX", "W @ X", "W[n,k] X[k,m]", "X", "W.T.dot(dD)",
       kind="vjp", cotangent="dD")

AFFINE = "assignment 2: layers.py affine_backward"
AFFINE_SHAPES = "x[n,d] w[d,m] b[m]"
cs231n(AFFINE, "cs-affine-dx", "x @ w + b", AFFINE_SHAPES, "x", "dout.dot(w.T)",
       kind="vjp", cotangent="dout")
cs231n(AFFINE, "cs-affine-dw", "x @ w + b", AFFINE_SHAPES, "w", "x.T.dot(dout)",
       kind="vjp", cotangent="dout")
cs231n(AFFINE, "cs-affine-db", "x @ w + b", AFFINE_SHAPES, "b", "np.sum(dout, axis=0)",
       kind="vjp", cotangent="dout")
cs231n("assignment 2: layers.py relu_backward", "cs-relu", "relu(x)", "x[n,m]", "x",
       "(x > 0) * dout", kind="vjp", cotangent="dout")

AFFINE_RELU = "assignment 2: layer_utils.py affine_relu_backward"
AFFINE_RELU_BACKWARD = """
    a = x.dot(w) + b
    da = (a > 0) * dout
    """
cs231n(AFFINE_RELU, "cs-affine-relu-dx", "relu(x @ w + b)", AFFINE_SHAPES, "x",
       AFFINE_RELU_BACKWARD + "da.dot(w.T)", kind="vjp", cotangent="dout")
cs231n(AFFINE_RELU, "cs-affine-relu-dw", "relu(x @ w + b)", AFFINE_SHAPES, "w",
       AFFINE_RELU_BACKWARD + "x.T.dot(da)", kind="vjp", cotangent="dout")
cs231n(AFFINE_RELU, "cs-affine-relu-db", "relu(x @ w + b)", AFFINE_SHAPES, "b",
       AFFINE_RELU_BACKWARD + "np.sum(da, axis=0)", kind="vjp", cotangent="dout")

NEURON = "notes: Backpropagation, Intuitions, 'Example: 2-D sigmoid neuron' (vectorized)"
NEURON_FORWARD = """
    dot = w.dot(x) + b
    f = 1.0 / (1 + np.exp(-dot))
    ddot = (1 - f) * f
    """
cs231n(NEURON, "cs-neuron-dw", "sigmoid(w @ x + b)", "w[d] x[d] b", "w",
       NEURON_FORWARD + "x * ddot")
cs231n(NEURON, "cs-neuron-dx", "sigmoid(w @ x + b)", "w[d] x[d] b", "x",
       NEURON_FORWARD + "w * ddot")
cs231n(NEURON, "cs-neuron-db", "sigmoid(w @ x + b)", "w[d] x[d] b", "b",
       NEURON_FORWARD + "1.0 * ddot")

STAGED = "notes: Backpropagation, Intuitions, 'Backprop in practice: staged computation'"
STAGED_F = "(x + sigmoid(y)) / (sigmoid(x) + (x + y) ** 2)"
STAGED_FORWARD = """
    sigy = 1.0 / (1 + np.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + np.exp(-x))
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr
    invden = 1.0 / den
    dnum = invden
    dinvden = num
    dden = (-1.0 / (den**2)) * dinvden
    dsigx = (1) * dden
    dxpysqr = (1) * dden
    dxpy = (2 * xpy) * dxpysqr
    """
cs231n(STAGED, "cs-staged-dx", STAGED_F, "x y", "x",
       STAGED_FORWARD + """
       dx = (1) * dxpy
       dx += ((1 - sigx) * sigx) * dsigx
       dx += (1) * dnum
       """)
cs231n(STAGED, "cs-staged-dy", STAGED_F, "x y", "y",
       STAGED_FORWARD + """
       dy = (1) * dxpy
       dsigy = (1) * dnum
       dy += ((1 - sigy) * sigy) * dsigy
       """)

SVM = "assignment 1: linear_svm.py svm_loss_vectorized (labels one-hot)"
SVM_F = """
    S = X @ W
    margins = relu(S - (S * Y).sum(axis=1, keepdims=True) + 1) * (1 - Y)
    """
SVM_BACKWARD = """
    S = X.dot(W)
    margins = np.maximum(0, S - (S * Y).sum(axis=1, keepdims=True) + 1) * (1 - Y)
    binary = (margins > 0) * 1.0
    binary -= Y * binary.sum(axis=1, keepdims=True)
    """
cs231n(SVM, "cs-svm-dW", SVM_F + "L = sum(margins) / X.shape[0]", "X[n,d] W[d,c] Y[n,c]", "W",
       SVM_BACKWARD + "X.T.dot(binary) / X.shape[0]", onehot="Y")
cs231n(SVM, "cs-svm-dW-reg", SVM_F + "L = sum(margins) / X.shape[0] + reg * sum(W * W)",
       "X[n,d] W[d,c] Y[n,c] reg", "W",
       SVM_BACKWARD + "X.T.dot(binary) / X.shape[0] + reg * 2 * W", onehot="Y", positive="reg")

SOFTMAX = "assignment 1: softmax.py softmax_loss_vectorized (labels one-hot)"
SOFTMAX_BACKWARD = """
    S = X.dot(W)
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    """
cs231n(SOFTMAX, "cs-softmax-dW", "-sum(Y * log(softmax(X @ W))) / X.shape[0]",
       "X[n,d] W[d,c] Y[n,c]", "W", SOFTMAX_BACKWARD + "X.T.dot(P - Y) / X.shape[0]",
       onehot="Y")
cs231n(SOFTMAX, "cs-softmax-dW-reg",
       "-sum(Y * log(softmax(X @ W))) / X.shape[0] + reg * sum(W * W)",
       "X[n,d] W[d,c] Y[n,c] reg", "W",
       SOFTMAX_BACKWARD + "X.T.dot(P - Y) / X.shape[0] + reg * 2 * W", onehot="Y",
       positive="reg")

CASE_STUDY = "notes: 'Putting it together: minimal neural network case study' (labels one-hot)"
CASE_STUDY_F = """
    hidden_layer = relu(X @ W + b)
    scores = hidden_layer @ W2 + b2
    probs = softmax(scores)
    L = -sum(Y * log(probs)) / X.shape[0] + 0.5 * reg * sum(W * W) + 0.5 * reg * sum(W2 * W2)
    """
CASE_STUDY_SHAPES = "X[n,d] W[d,h] b[1,h] W2[h,c] b2[1,c] Y[n,c] reg"
CASE_STUDY_BACKWARD = """
    hidden_layer = np.maximum(0, np.dot(X, W) + b)
    scores = np.dot(hidden_layer, W2) + b2
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    dscores = (probs - Y) / X.shape[0]
    """
CASE_STUDY_HIDDEN = """
    dhidden = np.dot(dscores, W2.T)
    dhidden[hidden_layer <= 0] = 0
    """
cs231n(CASE_STUDY, "cs-nn-dW2", CASE_STUDY_F, CASE_STUDY_SHAPES, "W2",
       CASE_STUDY_BACKWARD + """
       dW2 = np.dot(hidden_layer.T, dscores)
       dW2 += reg * W2
       """, onehot="Y", positive="reg")
cs231n(CASE_STUDY, "cs-nn-db2", CASE_STUDY_F, CASE_STUDY_SHAPES, "b2",
       CASE_STUDY_BACKWARD + "np.sum(dscores, axis=0, keepdims=True)", onehot="Y",
       positive="reg")
cs231n(CASE_STUDY, "cs-nn-dW", CASE_STUDY_F, CASE_STUDY_SHAPES, "W",
       CASE_STUDY_BACKWARD + CASE_STUDY_HIDDEN + """
       dW = np.dot(X.T, dhidden)
       dW += reg * W
       """, onehot="Y", positive="reg")
cs231n(CASE_STUDY, "cs-nn-db", CASE_STUDY_F, CASE_STUDY_SHAPES, "b",
       CASE_STUDY_BACKWARD + CASE_STUDY_HIDDEN + "np.sum(dhidden, axis=0, keepdims=True)",
       onehot="Y", positive="reg")

cs231n("assignment 2: layers.py dropout_backward (inverted dropout)", "cs-dropout",
       "x * mask / p", "x[n,d] mask[n,d] p", "x", "dout * mask / p",
       kind="vjp", cotangent="dout", binary="mask", positive="p")
cs231n("notes: Backpropagation, Intuitions, sigmoid gate (vectorized layer)", "cs-sigmoid-layer",
       "sigmoid(X @ W)", "X[n,d] W[d,m]", "W",
       """
       s = 1.0 / (1 + np.exp(-X.dot(W)))
       X.T.dot(dout * (1 - s) * s)
       """, kind="vjp", cotangent="dout")
cs231n("notes: Neural Networks Part 2, 'Regression' (L2 loss)", "cs-l2-regression",
       "sum((X @ W - Y) ** 2)", "X[n,d] W[d,m] Y[n,m]", "W", "2 * X.T.dot(X.dot(W) - Y)")

RNN_STEP = "assignment 3: rnn_layers.py rnn_step_backward"
RNN_STEP_F = "tanh(x @ Wx + prev_h @ Wh + b)"
RNN_STEP_SHAPES = "x[n,d] prev_h[n,h] Wx[d,h] Wh[h,h] b[h]"
RNN_STEP_BACKWARD = """
    next_h = np.tanh(x.dot(Wx) + prev_h.dot(Wh) + b)
    dtanh = dnext_h * (1 - next_h**2)
    """
for _name, _grad in [("x", "dtanh.dot(Wx.T)"), ("prev_h", "dtanh.dot(Wh.T)"),
                     ("Wx", "x.T.dot(dtanh)"), ("Wh", "prev_h.T.dot(dtanh)"),
                     ("b", "np.sum(dtanh, axis=0)")]:
    cs231n(RNN_STEP, f"cs-rnn-step-d{_name}", RNN_STEP_F, RNN_STEP_SHAPES, _name,
           RNN_STEP_BACKWARD + _grad, kind="vjp", cotangent="dnext_h")


# ======================================================================================
# Bishop, Pattern Recognition and Machine Learning (2006).
# ======================================================================================


def prml(where: str, id: str, f: str, shapes: str, wrt: str, textbook: str, **kw) -> Case:
    """A PRML case; ``where`` is the section and equation."""
    return case("prml", id, f"PRML {where}", f, shapes, wrt, textbook, **kw)


LIKELIHOOD = ("t.shape[0] / 2 * log(beta) - t.shape[0] / 2 * log(2 * np.pi) "
              "- beta * 0.5 * sum((t - Phi @ w) ** 2)")
LS_SHAPES = "Phi[n,m] w[m] t[n]"
prml("3.1.1 eq. 3.13", "prml-loglik-w", LIKELIHOOD, LS_SHAPES + " beta", "w",
     "beta * Phi.T @ (t - Phi @ w)", positive="beta")
prml("3.1.1 eqs. 3.11-3.12 (the derivative behind 3.21)", "prml-loglik-beta", LIKELIHOOD,
     LS_SHAPES + " beta", "beta",
     """
     N = t.shape[0]
     E_D = 0.5 * np.sum((t - Phi @ w)**2)
     N / (2 * beta) - E_D
     """, positive="beta")
SUM_OF_SQUARES = "0.5 * sum((t - Phi @ w) ** 2)"
prml("4.3.3 eq. 4.93", "prml-sos-grad", SUM_OF_SQUARES, LS_SHAPES, "w",
     "Phi.T @ Phi @ w - Phi.T @ t")
prml("4.3.3 eq. 4.94", "prml-sos-hessian", SUM_OF_SQUARES, LS_SHAPES, "w", "Phi.T @ Phi",
     kind="hessian")
RIDGE = "0.5 * sum((t - Phi @ w) ** 2) + lam / 2 * w @ w"
prml("3.1.4 eqs. 3.27-3.28", "prml-ridge-grad", RIDGE, LS_SHAPES + " lam", "w",
     "Phi.T @ (Phi @ w - t) + lam * w", positive="lam")
prml("3.1.4 eq. 3.27 (its Hessian)", "prml-ridge-hessian", RIDGE, LS_SHAPES + " lam", "w",
     "Phi.T @ Phi + lam * np.eye(w.shape[0])", kind="hessian", positive="lam")

LOGISTIC = """
    y = sigmoid(Phi @ w)
    E = -sum(t * log(y) + (1 - t) * log(1 - y))
    """
LOGISTIC_Y = "y = 1 / (1 + np.exp(-(Phi @ w)))\n"
prml("4.3.2 eqs. 4.90-4.91, 4.96", "prml-logistic-grad", LOGISTIC, LS_SHAPES, "w",
     LOGISTIC_Y + "Phi.T @ (y - t)")
prml("4.3.3 eqs. 4.97-4.98", "prml-logistic-hessian", LOGISTIC, LS_SHAPES, "w",
     LOGISTIC_Y + """
     R = np.diag(y * (1 - y))
     Phi.T @ R @ Phi
     """, kind="hessian")
INLINE_BCE = "-sum(y * log(sigmoid(X @ w)) + (1 - y) * log(1 - sigmoid(X @ w)))"
prml("4.3.2 eq. 4.96 (cross-entropy written inline, as in issue 10)", "prml-bce-grad-inline",
     INLINE_BCE, "X[n,d] w[d] y[n]", "w",
     """
     s = 1 / (1 + np.exp(-(X @ w)))
     X.T @ (s - y)
     """)
prml("4.3.3 eq. 4.97 (cross-entropy written inline, as in issue 10)",
     "prml-bce-hessian-inline", INLINE_BCE, "X[n,d] w[d] y[n]", "w",
     """
     s = 1 / (1 + np.exp(-(X @ w)))
     X.T @ np.diag(s * (1 - s)) @ X
     """, kind="hessian")
LAPLACE = """
    y = sigmoid(Phi @ w)
    E = 0.5 * (w - m0) @ S0inv @ (w - m0) - sum(t * log(y) + (1 - t) * log(1 - y))
    """
prml("4.5.1 eq. 4.142 (the gradient of the negative log posterior)", "prml-laplace-grad",
     LAPLACE, LS_SHAPES + " m0[m] S0inv[m,m]:sym", "w",
     LOGISTIC_Y + "S0inv @ (w - m0) + Phi.T @ (y - t)", spd="S0inv")
prml("4.5.1 eq. 4.143", "prml-laplace-hessian", LAPLACE, LS_SHAPES + " m0[m] S0inv[m,m]:sym",
     "w", LOGISTIC_Y + "S0inv + Phi.T @ np.diag(y * (1 - y)) @ Phi", kind="hessian",
     spd="S0inv")

MULTICLASS = """
    Y = softmax(Phi @ W)
    E = -sum(T * log(Y))
    """
MULTICLASS_Y = """
    A = Phi @ W
    Y = np.exp(A) / np.exp(A).sum(axis=1, keepdims=True)
    """
prml("4.3.4 eqs. 4.108-4.109 (targets one-hot)", "prml-multiclass-grad", MULTICLASS,
     "Phi[n,m] W[m,k] T[n,k]", "W", MULTICLASS_Y + "Phi.T @ (Y - T)", onehot="T")
prml("4.3.4 eq. 4.110 (targets one-hot)", "prml-multiclass-hessian", MULTICLASS,
     "Phi[n,m] W[m,k] T[n,k]", "W",
     MULTICLASS_Y + """
     I = np.eye(W.shape[1])
     np.einsum('nk,kj,na,nb->akbj', Y, I, Phi, Phi) - np.einsum('nk,nj,na,nb->akbj', Y, Y, Phi, Phi)
     """, kind="hessian", onehot="T")
prml("4.3.4 eq. 4.106", "prml-softmax-jacobian", "softmax(a)", "a[k]", "a",
     """
     y = np.exp(a) / np.exp(a).sum()
     np.diag(y) - np.outer(y, y)
     """, kind="diff")
prml("4.3.2 eq. 4.88", "prml-sigmoid-derivative", "sigmoid(a)", "a[n]", "a",
     """
     s = 1 / (1 + np.exp(-a))
     np.diag(s * (1 - s))
     """, kind="diff")

GAUSSIAN = ("-0.5 * X.shape[0] * logdet(Sigma) "
            "- 0.5 * sum(((X - mu) @ inv(Sigma)) * (X - mu))")
GAUSSIAN_SHAPES = "X[n,d] mu[d] Sigma[d,d]:sym"
prml("2.3.4 eqs. 2.118-2.120", "prml-gaussian-mu", GAUSSIAN, GAUSSIAN_SHAPES, "mu",
     "np.linalg.inv(Sigma) @ (X - mu).sum(axis=0)", spd="Sigma")
prml("2.3.4 eq. 2.118 (its Hessian in mu)", "prml-gaussian-mu-hessian", GAUSSIAN,
     GAUSSIAN_SHAPES, "mu", "-X.shape[0] * np.linalg.inv(Sigma)", kind="hessian", spd="Sigma")
prml("2.3.4 eqs. 2.118, 2.122 (exercise 2.34)", "prml-gaussian-sigma", GAUSSIAN,
     GAUSSIAN_SHAPES, "Sigma",
     """
     Si = np.linalg.inv(Sigma)
     S = (X - mu).T @ (X - mu)
     -X.shape[0] / 2 * Si + 0.5 * Si @ S @ Si
     """, spd="Sigma")
PRECISION = "0.5 * X.shape[0] * logdet(Lam) - 0.5 * sum(((X - mu) @ Lam) * (X - mu))"
PRECISION_SHAPES = "X[n,d] mu[d] Lam[d,d]:sym"
prml("2.3.4 eq. 2.118 in the precision Lam = inv(Sigma) of eq. 2.68", "prml-gaussian-lambda",
     PRECISION, PRECISION_SHAPES, "Lam",
     """
     Xc = X - mu
     X.shape[0] / 2 * np.linalg.inv(Lam) - 0.5 * Xc.T @ Xc
     """, spd="Lam")
prml("2.3.4 eq. 2.120 in the precision Lam of eq. 2.68", "prml-gaussian-mu-precision",
     PRECISION, PRECISION_SHAPES, "mu", "Lam @ (X - mu).sum(axis=0)", spd="Lam")

BACKPROP = """
    z = tanh(X @ W1.T)
    y = z @ W2.T
    E = 0.5 * sum((y - T) ** 2)
    """
BACKPROP_SHAPES = "X[n,i] W1[j,i] W2[k,j] T[n,k]"
BACKPROP_DELTAS = """
    z = np.tanh(X @ W1.T)
    y = z @ W2.T
    delta_k = y - T
    """
prml("5.3.2 eqs. 5.63-5.67", "prml-backprop-dW1", BACKPROP, BACKPROP_SHAPES, "W1",
     BACKPROP_DELTAS + """
     delta_j = (1 - z**2) * (delta_k @ W2)
     delta_j.T @ X
     """)
prml("5.3.2 eqs. 5.65, 5.67", "prml-backprop-dW2", BACKPROP, BACKPROP_SHAPES, "W2",
     BACKPROP_DELTAS + "delta_k.T @ z")
prml("5.3.4 eqs. 5.73-5.75", "prml-network-jacobian", "W2 @ tanh(W1 @ x)",
     "x[i] W1[j,i] W2[k,j]", "x",
     """
     z = np.tanh(W1 @ x)
     W2 @ np.diag(1 - z**2) @ W1
     """, kind="diff")
GP = "-0.5 * logdet(C) - 0.5 * t @ inv(C) @ t - t.shape[0] / 2 * log(2 * np.pi)"
prml("6.4.3 eqs. 6.69-6.70 (dC/dtheta is the tangent V)", "prml-gp-evidence-jvp", GP,
     "C[n,n] t[n]", "C",
     """
     Ci = np.linalg.inv(C)
     -0.5 * np.trace(Ci @ V) + 0.5 * t @ Ci @ V @ Ci @ t
     """, kind="jvp", tangent="V", spd="C")
prml("6.4.3 eq. 6.70 (as a gradient in C)", "prml-gp-evidence-grad", GP, "C[n,n] t[n]", "C",
     """
     Ci = np.linalg.inv(C)
     -0.5 * Ci + 0.5 * Ci @ np.outer(t, t) @ Ci
     """, spd="C")


# ======================================================================================
# Goodfellow, Bengio, Courville, Deep Learning (2016).
# ======================================================================================


def goodfellow(where: str, id: str, f: str, shapes: str, wrt: str, textbook: str,
               **kw) -> Case:
    """A Deep Learning book case; ``where`` is the section (and equation)."""
    return case("goodfellow", id, f"Goodfellow et al. {where}", f, shapes, wrt, textbook, **kw)


goodfellow("3.10 (d softplus / dx = sigmoid)", "gf-softplus-derivative", "sum(softplus(x))",
           "x[n]", "x", "1 / (1 + np.exp(-x))")
goodfellow("3.10 (d sigmoid / dx = sigmoid (1 - sigmoid))", "gf-sigmoid-derivative",
           "sigmoid(x)", "x[n]", "x",
           """
           s = 1 / (1 + np.exp(-x))
           s * (1 - s) * v
           """, kind="jvp", tangent="v")
LSQ = "0.5 * norm(A @ x - b) ** 2"
goodfellow("4.5 (linear least squares), eq. 4.22", "gf-lsq-grad", LSQ, "A[m,n] x[n] b[m]", "x",
           "A.T @ A @ x - A.T @ b")
goodfellow("4.5 (linear least squares, its Hessian)", "gf-lsq-hessian", LSQ, "A[m,n] x[n] b[m]",
           "x", "A.T @ A", kind="hessian")
goodfellow("5.1.4 eqs. 5.7-5.11 (normal equations)", "gf-normal-equations",
           "(X @ w - y) @ (X @ w - y)", "X[m,n] w[n] y[m]", "w", "2 * X.T @ X @ w - 2 * X.T @ y")
goodfellow("7.1.1 eqs. 7.2-7.3 (L2 parameter regularization)", "gf-weight-decay",
           "alpha / 2 * w @ w + 0.5 * sum((X @ w - y) ** 2)", "X[m,n] w[n] y[m] alpha", "w",
           "alpha * w + X.T @ (X @ w - y)", positive="alpha")
goodfellow("7.1.2 eqs. 7.19-7.20 (L1 regularization)", "gf-l1",
           "alpha * sum(abs(w)) + 0.5 * sum((X @ w - y) ** 2)", "X[m,n] w[n] y[m] alpha", "w",
           "alpha * np.sign(w) + X.T @ (X @ w - y)", positive="alpha")
goodfellow("6.2.2.3 eq. 6.30 (softmax cross-entropy, label one-hot)", "gf-softmax-ce",
           "-sum(y * log(softmax(z)))", "z[k] y[k]", "z", "np.exp(z) / np.exp(z).sum() - y",
           onehot="y")
goodfellow("6.2.2.2 (Bernoulli output: J = softplus((1 - 2y) z), labels 0/1)",
           "gf-bernoulli-softplus", "sum(softplus((1 - 2 * y) * z))", "z[n] y[n]", "z",
           "1 / (1 + np.exp(-z)) - y", binary="y")
goodfellow("6.3.2 (tanh hidden units, d tanh = 1 - tanh^2)", "gf-tanh-unit", "tanh(W @ x + b)",
           "W[n,m] x[m] b[n]", "W",
           """
           h = np.tanh(W @ x + b)
           np.outer(g * (1 - h**2), x)
           """, kind="vjp", cotangent="g")

MLP_657 = """
    U1 = X @ W1
    H = relu(U1)
    U2 = H @ W2
    J = -sum(Y * log(softmax(U2))) + lam * (sum(W1 ** 2) + sum(W2 ** 2))
    """
MLP_657_SHAPES = "X[m,n] W1[n,h] W2[h,k] Y[m,k] lam"
MLP_657_G = """
    U1 = X @ W1
    H = np.maximum(0, U1)
    U2 = H @ W2
    G = np.exp(U2) / np.exp(U2).sum(axis=1, keepdims=True) - Y
    """
goodfellow("6.5.7 (Example: back-propagation for MLP training), gradient on W2",
           "gf-mlp-dW2", MLP_657, MLP_657_SHAPES, "W2",
           MLP_657_G + "H.T @ G + 2 * lam * W2", onehot="Y", positive="lam")
goodfellow("6.5.7 (Example: back-propagation for MLP training), gradient on W1",
           "gf-mlp-dW1", MLP_657, MLP_657_SHAPES, "W1",
           MLP_657_G + """
           G = G @ W2.T
           G = G * (U1 > 0)
           X.T @ G + 2 * lam * W1
           """, onehot="Y", positive="lam")

ALG_64 = """
    a1 = b1 + W1 @ x
    h1 = tanh(a1)
    a2 = b2 + W2 @ h1
    h2 = tanh(a2)
    J = 0.5 * sum((h2 - y) ** 2) + lam * (sum(W1 ** 2) + sum(W2 ** 2))
    """
ALG_64_SHAPES = "x[i] W1[j,i] b1[j] W2[k,j] b2[k] y[k] lam"
ALG_64_TOP = """
    a1 = b1 + W1 @ x
    h1 = np.tanh(a1)
    a2 = b2 + W2 @ h1
    h2 = np.tanh(a2)
    g = h2 - y
    g = g * (1 - np.tanh(a2)**2)
    """
ALG_64_DOWN = """
    g = W2.T @ g
    g = g * (1 - np.tanh(a1)**2)
    """
ALG_64_SOURCE = "6.5.4 Algorithm 6.4 (backward pass of a fully connected MLP)"
goodfellow(ALG_64_SOURCE, "gf-alg64-dW2", ALG_64, ALG_64_SHAPES, "W2",
           ALG_64_TOP + "np.outer(g, h1) + lam * 2 * W2", positive="lam")
goodfellow(ALG_64_SOURCE, "gf-alg64-db2", ALG_64, ALG_64_SHAPES, "b2", ALG_64_TOP + "g",
           positive="lam")
goodfellow(ALG_64_SOURCE, "gf-alg64-dW1", ALG_64, ALG_64_SHAPES, "W1",
           ALG_64_TOP + ALG_64_DOWN + "np.outer(g, x) + lam * 2 * W1", positive="lam")
goodfellow(ALG_64_SOURCE, "gf-alg64-db1", ALG_64, ALG_64_SHAPES, "b1",
           ALG_64_TOP + ALG_64_DOWN + "g", positive="lam")

RNN_1022 = """
    h1 = tanh(b + W @ h0 + U @ x1)
    o1 = c + V @ h1
    h2 = tanh(b + W @ h1 + U @ x2)
    o2 = c + V @ h2
    L = -sum(y1 * log(softmax(o1))) - sum(y2 * log(softmax(o2)))
    """
RNN_1022_SHAPES = "W[h,h] U[h,x] V[o,h] b[h] c[o] h0[h] x1[x] x2[x] y1[o] y2[o]"
RNN_1022_BACKWARD = """
    h1 = np.tanh(b + W @ h0 + U @ x1)
    o1 = c + V @ h1
    h2 = np.tanh(b + W @ h1 + U @ x2)
    o2 = c + V @ h2
    do1 = np.exp(o1) / np.exp(o1).sum() - y1
    do2 = np.exp(o2) / np.exp(o2).sum() - y2
    dh2 = V.T @ do2
    dh1 = W.T @ np.diag(1 - h2**2) @ dh2 + V.T @ do1
    """
for _name, _eq, _grad in [
    ("c", "10.22", "do1 + do2"),
    ("b", "10.23", "np.diag(1 - h1**2) @ dh1 + np.diag(1 - h2**2) @ dh2"),
    ("V", "10.24", "np.outer(do1, h1) + np.outer(do2, h2)"),
    ("W", "10.25", "np.diag(1 - h1**2) @ np.outer(dh1, h0) "
                   "+ np.diag(1 - h2**2) @ np.outer(dh2, h1)"),
    ("U", "10.26", "np.diag(1 - h1**2) @ np.outer(dh1, x1) "
                   "+ np.diag(1 - h2**2) @ np.outer(dh2, x2)"),
]:
    goodfellow(f"10.2.2 eqs. 10.18-10.21, {_eq} (a 2-step RNN, labels one-hot)",
               f"gf-rnn-d{_name}", RNN_1022, RNN_1022_SHAPES, _name, RNN_1022_BACKWARD + _grad,
               onehot="y1 y2")


# ======================================================================================
# Dive into Deep Learning (d2l.ai, PyTorch edition).
# ======================================================================================


def d2l(where: str, id: str, f: str, shapes: str, wrt: str, textbook: str, **kw) -> Case:
    """A Dive into Deep Learning case; ``where`` is the section (and equation)."""
    return case("d2l", id, f"D2L {where}", f, shapes, wrt, textbook, **kw)


d2l("2.4.3 (gradient rules: x^T A x)", "d2l-quadratic-rule", "x @ A @ x", "x[n] A[n,n]", "x",
    "(A + A.T) @ x")
d2l("2.4.3 (gradient rules: ||x||^2)", "d2l-norm-rule", "x @ x", "x[n]", "x", "2 * x")
d2l("2.4.3 (gradient rules: ||X||_F^2)", "d2l-frobenius-rule", "norm(X) ** 2", "X[n,m]", "X",
    "2 * X")
d2l("2.5.1 (autograd: y = 2 x^T x)", "d2l-autograd-2xtx", "2 * x @ x", "x[n]", "x", "4 * x")
d2l("2.5.2 (backward for non-scalar variables: y = x * x, y.sum())", "d2l-autograd-sum",
    "sum(x * x)", "x[n]", "x", "2 * x")
d2l("22.4 (multivariable calculus, matrix calculus: ||X - U V||^2)", "d2l-low-rank",
    "norm(X - U @ V) ** 2", "X[n,m] U[n,r] V[r,m]", "V", "-2 * U.T @ (X - U @ V)")

LINREG = "0.5 * mean((X @ w + b - y) ** 2)"
LINREG_SHAPES = "X[n,d] w[d] b y[n]"
d2l("3.1.1 eq. 3.1.11 (minibatch SGD: the gradient in w)", "d2l-linreg-w", LINREG,
    LINREG_SHAPES, "w", "X.T @ (X @ w + b - y) / X.shape[0]")
d2l("3.1.1 eq. 3.1.11 (minibatch SGD: the gradient in b)", "d2l-linreg-b", LINREG,
    LINREG_SHAPES, "b", "np.mean(X @ w + b - y)")
d2l("3.1.1 (analytic solution: the derivative of ||y - X w||^2)", "d2l-linreg-analytic",
    "sum((y - X @ w) ** 2)", "X[n,d] w[d] y[n]", "w", "2 * X.T @ (X @ w - y)")
d2l("3.7 eqs. 3.7.4-3.7.5 (weight decay)", "d2l-weight-decay", LINREG + " + lam / 2 * w @ w",
    LINREG_SHAPES + " lam", "w", "X.T @ (X @ w + b - y) / X.shape[0] + lam * w",
    positive="lam")

d2l("4.1.2 eq. 4.1.10 (softmax cross-entropy, label one-hot)", "d2l-softmax-ce",
    "-sum(y * log(softmax(o)))", "o[q] y[q]", "o", "np.exp(o) / np.exp(o).sum() - y",
    onehot="y")
d2l("4.1.2 eq. 4.1.10 (a minibatch, labels one-hot)", "d2l-softmax-ce-batch",
    "-sum(Y * log(softmax(O)))", "O[n,q] Y[n,q]", "O",
    """
    O_exp = np.exp(O)
    partition = O_exp.sum(1, keepdims=True)
    O_exp / partition - Y
    """, onehot="Y")
d2l("4.1.2 (the derivative before using sum(y) = 1; issue 10's p * y.sum() - y)",
    "d2l-softmax-ce-general", "-sum(y * log(exp(o) / sum(exp(o))))", "o[q] y[q]", "o",
    """
    p = np.exp(o) / np.exp(o).sum()
    p * y.sum() - y
    """)
d2l("4.1.2 (the second derivative is the variance of the softmax)", "d2l-softmax-ce-hessian",
    "-sum(y * log(softmax(o)))", "o[q] y[q]", "o",
    """
    p = np.exp(o) / np.exp(o).sum()
    np.diag(p) - np.outer(p, p)
    """, kind="hessian", onehot="y")
SOFTMAX_REG = "-mean(sum(Y * log(softmax(X @ W + b)), axis=1))"
SOFTMAX_REG_SHAPES = "X[n,d] W[d,q] b[q] Y[n,q]"
SOFTMAX_REG_P = """
    O = X @ W + b
    P = np.exp(O) / np.exp(O).sum(axis=1, keepdims=True)
    """
d2l("4.1 (softmax regression: the gradient in W, labels one-hot)", "d2l-softmax-reg-W",
    SOFTMAX_REG, SOFTMAX_REG_SHAPES, "W", SOFTMAX_REG_P + "X.T @ (P - Y) / X.shape[0]",
    onehot="Y")
d2l("4.1 (softmax regression: the gradient in b, labels one-hot)", "d2l-softmax-reg-b",
    SOFTMAX_REG, SOFTMAX_REG_SHAPES, "b", SOFTMAX_REG_P + "(P - Y).mean(axis=0)", onehot="Y")

d2l("5.1.2 (derivative of the ReLU)", "d2l-relu-derivative", "sum(relu(x))", "x[n]", "x",
    "(x > 0).astype(float)")
d2l("5.1.2 eq. 5.1.5 (derivative of the sigmoid)", "d2l-sigmoid-derivative",
    "sum(sigmoid(x))", "x[n]", "x",
    """
    s = 1 / (1 + np.exp(-x))
    s * (1 - s)
    """)
d2l("5.1.2 eq. 5.1.7 (derivative of tanh)", "d2l-tanh-derivative", "sum(tanh(x))", "x[n]", "x",
    "1 - np.tanh(x)**2")

MLP_53 = """
    z = W1 @ x
    h = relu(z)
    o = W2 @ h
    J = 0.5 * sum((o - y) ** 2) + lam / 2 * (sum(W1 ** 2) + sum(W2 ** 2))
    """
MLP_53_SHAPES = "x[d] W1[h,d] W2[q,h] y[q] lam"
MLP_53_BACKWARD = """
    z = W1 @ x
    h = np.maximum(z, 0)
    o = W2 @ h
    dJ_do = o - y
    """
d2l("5.3.2 eqs. 5.3.8-5.3.10 (backpropagation, squared loss)", "d2l-mlp-dW2", MLP_53,
    MLP_53_SHAPES, "W2", MLP_53_BACKWARD + "np.outer(dJ_do, h) + lam * W2", positive="lam")
d2l("5.3.2 eqs. 5.3.11-5.3.13 (backpropagation, squared loss)", "d2l-mlp-dW1", MLP_53,
    MLP_53_SHAPES, "W1",
    MLP_53_BACKWARD + """
    dJ_dh = W2.T @ dJ_do
    dJ_dz = dJ_dh * (z > 0)
    np.outer(dJ_dz, x) + lam * W1
    """, positive="lam")

BPTT_LINEAR = """
    h1 = Whx @ x1 + Whh @ h0
    h2 = Whx @ x2 + Whh @ h1
    h3 = Whx @ x3 + Whh @ h2
    L = (sum((Wqh @ h1 - y1) ** 2) + sum((Wqh @ h2 - y2) ** 2) + sum((Wqh @ h3 - y3) ** 2)) / 6
    """
BPTT_LINEAR_SHAPES = "Whx[h,d] Whh[h,h] Wqh[q,h] h0[h] x1[d] x2[d] x3[d] y1[q] y2[q] y3[q]"
BPTT_LINEAR_BACKWARD = """
    h1 = Whx @ x1 + Whh @ h0
    h2 = Whx @ x2 + Whh @ h1
    h3 = Whx @ x3 + Whh @ h2
    do1 = (Wqh @ h1 - y1) / 3
    do2 = (Wqh @ h2 - y2) / 3
    do3 = (Wqh @ h3 - y3) / 3
    dh3 = Wqh.T @ do3
    dh2 = Whh.T @ dh3 + Wqh.T @ do2
    dh1 = Whh.T @ dh2 + Wqh.T @ do1
    """
for _name, _eq, _grad in [
    ("Whx", "9.7.15", "np.outer(dh1, x1) + np.outer(dh2, x2) + np.outer(dh3, x3)"),
    ("Whh", "9.7.15", "np.outer(dh1, h0) + np.outer(dh2, h1) + np.outer(dh3, h2)"),
    ("Wqh", "9.7.11", "np.outer(do1, h1) + np.outer(do2, h2) + np.outer(do3, h3)"),
]:
    d2l(f"9.7.2 eqs. 9.7.12-9.7.14, {_eq} (BPTT, a 3-step linear RNN)", f"d2l-bptt-d{_name}",
        BPTT_LINEAR, BPTT_LINEAR_SHAPES, _name, BPTT_LINEAR_BACKWARD + _grad)

RNN_94 = """
    H1 = tanh(X1 @ Wxh + H0 @ Whh + bh)
    H2 = tanh(X2 @ Wxh + H1 @ Whh + bh)
    O2 = H2 @ Whq + bq
    L = 0.5 * sum((O2 - Y) ** 2)
    """
RNN_94_SHAPES = "X1[n,d] X2[n,d] H0[n,h] Wxh[d,h] Whh[h,h] bh[h] Whq[h,q] bq[q] Y[n,q]"
RNN_94_BACKWARD = """
    H1 = np.tanh(X1 @ Wxh + H0 @ Whh + bh)
    H2 = np.tanh(X2 @ Wxh + H1 @ Whh + bh)
    O2 = H2 @ Whq + bq
    dO2 = O2 - Y
    dZ2 = (dO2 @ Whq.T) * (1 - H2**2)
    dZ1 = (dZ2 @ Whh.T) * (1 - H1**2)
    """
for _name, _grad in [("Whq", "H2.T @ dO2"), ("Whh", "H1.T @ dZ2 + H0.T @ dZ1"),
                     ("Wxh", "X2.T @ dZ2 + X1.T @ dZ1"),
                     ("bh", "dZ2.sum(axis=0) + dZ1.sum(axis=0)")]:
    d2l("9.4.2 eqs. 9.4.5-9.4.6 (a 2-step RNN, minibatch rows), backward by BPTT (9.7)",
        f"d2l-rnn-d{_name}", RNN_94, RNN_94_SHAPES, _name, RNN_94_BACKWARD + _grad)


# ======================================================================================
# FlashAttention (Dao et al. 2022): standard attention backward (appendix B.2,
# Algorithm 3) and FlashAttention's backward (Algorithm 4), one case per output.
# ======================================================================================


def flash(where: str, id: str, f: str, shapes: str, wrt: str, textbook: str, **kw) -> Case:
    """A FlashAttention case."""
    return case("flashattention", id, f"FlashAttention (Dao et al. 2022) {where}", f, shapes,
                wrt, textbook, **kw)


ATTENTION_SHAPES = "Q[n,d] K[m,d] V[m,e]"
STANDARD = """
    S = Q @ K.T
    P = softmax(S)
    O = P @ V
    """
STANDARD_BACKWARD = """
    S = Q @ K.T
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    dP = dO @ V.T
    dS = P * (dP - (P * dP).sum(axis=1, keepdims=True))
    """
ALG_3 = "Alg. 3 / appendix B.2 (standard attention backward)"
flash(ALG_3, "fa-std-dV", STANDARD, ATTENTION_SHAPES, "V",
      """
      S = Q @ K.T
      P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
      P.T @ dO
      """, kind="vjp", cotangent="dO")
flash(ALG_3, "fa-std-dQ", STANDARD, ATTENTION_SHAPES, "Q", STANDARD_BACKWARD + "dS @ K",
      kind="vjp", cotangent="dO")
flash(ALG_3, "fa-std-dK", STANDARD, ATTENTION_SHAPES, "K", STANDARD_BACKWARD + "dS.T @ Q",
      kind="vjp", cotangent="dO")
flash("appendix B.2 (the softmax backward: dS = P * (dP - D))", "fa-softmax-dS", "softmax(S)",
      "S[n,m]", "S",
      """
      P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
      D = (P * dP).sum(axis=1, keepdims=True)
      P * (dP - D)
      """, kind="vjp", cotangent="dP")

SCALED = """
    S = Q @ K.T / sqrt(Q.shape[1])
    P = softmax(S)
    O = P @ V
    """
ALG_4 = "Alg. 4 (FlashAttention backward: tau = 1/sqrt(d), D = rowsum(dO * O))"
ALG_4_BACKWARD = """
    tau = 1 / np.sqrt(Q.shape[1])
    S = tau * Q @ K.T
    m = S.max(axis=1, keepdims=True)
    l = np.exp(S - m).sum(axis=1, keepdims=True)
    P = np.exp(S - m) / l
    """
ALG_4_DS = """
    O = P @ V
    dP = dO @ V.T
    D = (dO * O).sum(axis=1, keepdims=True)
    dS = P * (dP - D)
    """
flash(ALG_4, "fa-dV", SCALED, ATTENTION_SHAPES, "V", ALG_4_BACKWARD + "P.T @ dO",
      kind="vjp", cotangent="dO")
flash(ALG_4, "fa-dQ", SCALED, ATTENTION_SHAPES, "Q", ALG_4_BACKWARD + ALG_4_DS + "tau * dS @ K",
      kind="vjp", cotangent="dO")
flash(ALG_4, "fa-dK", SCALED, ATTENTION_SHAPES, "K",
      ALG_4_BACKWARD + ALG_4_DS + "tau * dS.T @ Q", kind="vjp", cotangent="dO")
SCALED_BACKWARD = """
    d = Q.shape[1]
    S = Q @ K.T / np.sqrt(d)
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    dP = dO @ V.T
    dS = P * (dP - (dP * P).sum(axis=1, keepdims=True))
    """
SCALED_SOURCE = "appendix B.2 with the 1/sqrt(d) scaling (the form issue 10 quotes)"
flash(SCALED_SOURCE, "fa-scaled-dQ", SCALED, ATTENTION_SHAPES, "Q",
      SCALED_BACKWARD + "dS @ K / np.sqrt(d)", kind="vjp", cotangent="dO")
flash(SCALED_SOURCE, "fa-scaled-dK", SCALED, ATTENTION_SHAPES, "K",
      SCALED_BACKWARD + "dS.T @ Q / np.sqrt(d)", kind="vjp", cotangent="dO")
TAU = """
    S = tau * Q @ K.T
    P = softmax(S)
    O = P @ V
    """
TAU_BACKWARD = """
    S = tau * Q @ K.T
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    dP = dO @ V.T
    dS = P * (dP - (P * dP).sum(axis=1, keepdims=True))
    """
ALG_4_TAU = "Alg. 4 (softmax scaling tau as a symbol)"
flash(ALG_4_TAU, "fa-tau-dQ", TAU, ATTENTION_SHAPES + " tau", "Q", TAU_BACKWARD + "tau * dS @ K",
      kind="vjp", cotangent="dO", positive="tau")
flash(ALG_4_TAU, "fa-tau-dK", TAU, ATTENTION_SHAPES + " tau", "K",
      TAU_BACKWARD + "tau * dS.T @ Q", kind="vjp", cotangent="dO", positive="tau")
flash(ALG_4_TAU + ", the gradient in tau itself", "fa-tau-dtau", TAU,
      ATTENTION_SHAPES + " tau", "tau", TAU_BACKWARD + "np.sum(dS * (Q @ K.T))",
      kind="vjp", cotangent="dO", positive="tau")


# ======================================================================================
# Batch normalization (Ioffe & Szegedy 2015) and its well-known compact backward; layer
# normalization (Ba et al. 2016) is the same formula over the other axis.
# ======================================================================================


def batchnorm(where: str, id: str, f: str, shapes: str, wrt: str, textbook: str,
              **kw) -> Case:
    """A batch / layer normalization case."""
    return case("batchnorm", id, where, f, shapes, wrt, textbook, **kw)


BN = """
    mu = mean(X, axis=0)
    var = mean((X - mu) ** 2, axis=0)
    xhat = (X - mu) / sqrt(var + eps)
    gamma * xhat + beta
    """
BN_SHAPES = "X[m,d] gamma[d] beta[d] eps"
BN_STATS = """
    mu = X.mean(axis=0)
    var = X.var(axis=0)
    xhat = (X - mu) / np.sqrt(var + eps)
    """
PAPER = "Ioffe & Szegedy (2015) sec. 3, the backward equations after Alg. 1"
batchnorm(PAPER, "bn-paper-dx", BN, BN_SHAPES, "X",
          """
          m = X.shape[0]
          mu = X.mean(axis=0)
          var = ((X - mu)**2).mean(axis=0)
          dxhat = dout * gamma
          dvar = (dxhat * (X - mu)).sum(axis=0) * -0.5 * (var + eps)**(-1.5)
          dmu = ((dxhat * -1 / np.sqrt(var + eps)).sum(axis=0)
                 + dvar * (-2 * (X - mu)).sum(axis=0) / m)
          dxhat / np.sqrt(var + eps) + dvar * 2 * (X - mu) / m + dmu / m
          """, kind="vjp", cotangent="dout", positive="eps")
batchnorm(PAPER, "bn-paper-dgamma", BN, BN_SHAPES, "gamma",
          BN_STATS + "(dout * xhat).sum(axis=0)", kind="vjp", cotangent="dout", positive="eps")
batchnorm(PAPER, "bn-paper-dbeta", BN, BN_SHAPES, "beta", "dout.sum(axis=0)",
          kind="vjp", cotangent="dout", positive="eps")
COMPACT = ("Batch norm backward, the compact form (CS231n assignment 2 batchnorm_backward_alt; "
           "Kratzert 2016)")
COMPACT_DX = """
    N = X.shape[0]
    (gamma / (N * np.sqrt(var + eps))
     * (N * dout - dout.sum(axis=0) - xhat * (dout * xhat).sum(axis=0)))
    """
batchnorm(COMPACT, "bn-compact-dx", BN, BN_SHAPES, "X", BN_STATS + COMPACT_DX,
          kind="vjp", cotangent="dout", positive="eps")
batchnorm(COMPACT + ", variance written as E[x^2] - E[x]^2", "bn-compact-dx-moments",
          """
          mu = mean(X, axis=0)
          var = mean(X ** 2, axis=0) - mu ** 2
          xhat = (X - mu) / sqrt(var + eps)
          gamma * xhat + beta
          """, BN_SHAPES, "X", BN_STATS + COMPACT_DX, kind="vjp", cotangent="dout",
          positive="eps")
batchnorm("Kratzert (2016), 'Understanding the backward pass through Batch Normalization "
          "Layer' (the staged computational graph)", "bn-staged-dx", BN, BN_SHAPES, "X",
          """
          N, D = X.shape
          mu = 1. / N * np.sum(X, axis=0)
          xmu = X - mu
          sq = xmu ** 2
          var = 1. / N * np.sum(sq, axis=0)
          sqrtvar = np.sqrt(var + eps)
          ivar = 1. / sqrtvar
          xhat = xmu * ivar
          dxhat = dout * gamma
          divar = np.sum(dxhat * xmu, axis=0)
          dxmu1 = dxhat * ivar
          dsqrtvar = -1. / (sqrtvar**2) * divar
          dvar = 0.5 * 1. / np.sqrt(var + eps) * dsqrtvar
          dsq = 1. / N * np.ones((N, D)) * dvar
          dxmu2 = 2 * xmu * dsq
          dx1 = (dxmu1 + dxmu2)
          dmu = -1 * np.sum(dxmu1 + dxmu2, axis=0)
          dx2 = 1. / N * np.ones((N, D)) * dmu
          dx = dx1 + dx2
          """, kind="vjp", cotangent="dout", positive="eps")
batchnorm("Batch norm without the affine step, compact backward", "bn-normalize-dx",
          """
          mu = mean(X, axis=0)
          var = mean((X - mu) ** 2, axis=0)
          (X - mu) / sqrt(var + eps)
          """, "X[m,d] eps", "X",
          BN_STATS + """
          (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / np.sqrt(var + eps)
          """, kind="vjp", cotangent="dxhat", positive="eps")
LN = """
    mu = mean(X, axis=1, keepdims=True)
    var = mean((X - mu) ** 2, axis=1, keepdims=True)
    xhat = (X - mu) / sqrt(var + eps)
    gamma * xhat + beta
    """
LN_STATS = """
    mu = X.mean(axis=1, keepdims=True)
    var = X.var(axis=1, keepdims=True)
    xhat = (X - mu) / np.sqrt(var + eps)
    """
LAYER_NORM = "Layer norm (Ba et al. 2016), the batch-norm backward over the feature axis"
batchnorm(LAYER_NORM, "ln-dx", LN, BN_SHAPES, "X",
          LN_STATS + """
          dxhat = dout * gamma
          ((dxhat - dxhat.mean(axis=1, keepdims=True)
            - xhat * (dxhat * xhat).mean(axis=1, keepdims=True)) / np.sqrt(var + eps))
          """, kind="vjp", cotangent="dout", positive="eps")
batchnorm(LAYER_NORM, "ln-dgamma", LN, BN_SHAPES, "gamma",
          LN_STATS + "(dout * xhat).sum(axis=0)", kind="vjp", cotangent="dout", positive="eps")


# ======================================================================================
# The forum question: one vanilla RNN step (Coursera DLS rnn_cell_backward, column-major:
# Waa is square, so only the index reading fixes dz @ a_prev.T), and BPTT through 2 and 3
# steps with the dz3, dz2, dz1 lines.
# ======================================================================================


def forum(where: str, id: str, f: str, shapes: str, wrt: str, textbook: str, **kw) -> Case:
    """A case from the forum's RNN question."""
    return case("forum", id, f"Coursera DLS C5W1 {where}", f, shapes, wrt, textbook, **kw)


CELL = "tanh(Wax @ xt + Waa @ a_prev + ba)"
CELL_SHAPES = "xt[nx,m] a_prev[na,m] Wax[na,nx] Waa[na,na] ba[na,1]"
CELL_BACKWARD = """
    a_next = np.tanh(np.dot(Wax, xt) + np.dot(Waa, a_prev) + ba)
    dtanh = (1 - a_next**2) * da_next
    """
for _name, _grad in [("xt", "np.dot(Wax.T, dtanh)"), ("Wax", "np.dot(dtanh, xt.T)"),
                     ("a_prev", "np.dot(Waa.T, dtanh)"), ("Waa", "np.dot(dtanh, a_prev.T)"),
                     ("ba", "np.sum(dtanh, axis=1, keepdims=True)")]:
    forum("'Building your RNN step by step', rnn_cell_backward", f"forum-cell-d{_name}", CELL,
          CELL_SHAPES, _name, CELL_BACKWARD + _grad, kind="vjp", cotangent="da_next")

BPTT3 = """
    a1 = tanh(Waa @ a0 + Wax @ x1 + ba)
    a2 = tanh(Waa @ a1 + Wax @ x2 + ba)
    a3 = tanh(Waa @ a2 + Wax @ x3 + ba)
    """
BPTT_SHAPES = "Waa[n,n] Wax[n,k] ba[n,1] a0[n,m] x1[k,m] x2[k,m] x3[k,m]"
BPTT3_BACKWARD = """
    a1 = np.tanh(Waa @ a0 + Wax @ x1 + ba)
    a2 = np.tanh(Waa @ a1 + Wax @ x2 + ba)
    a3 = np.tanh(Waa @ a2 + Wax @ x3 + ba)
    dz3 = da3 * (1 - a3**2)
    dz2 = (Waa.T @ dz3) * (1 - a2**2)
    dz1 = (Waa.T @ dz2) * (1 - a1**2)
    """
BPTT3_SOURCE = "forum: BPTT through 3 steps of the RNN cell (upstream gradient da3)"
for _name, _grad in [("Waa", "dz3 @ a2.T + dz2 @ a1.T + dz1 @ a0.T"),
                     ("Wax", "dz3 @ x3.T + dz2 @ x2.T + dz1 @ x1.T"),
                     ("ba", "(dz3 + dz2 + dz1).sum(axis=1, keepdims=True)"),
                     ("a0", "Waa.T @ dz1"), ("x1", "Wax.T @ dz1")]:
    forum(BPTT3_SOURCE, f"forum-bptt3-d{_name}", BPTT3, BPTT_SHAPES, _name,
          BPTT3_BACKWARD + _grad, kind="vjp", cotangent="da3")

BPTT2 = """
    a1 = tanh(Waa @ a0 + Wax @ x1 + ba)
    a2 = tanh(Waa @ a1 + Wax @ x2 + ba)
    """
BPTT2_BACKWARD = """
    a1 = np.tanh(Waa @ a0 + Wax @ x1 + ba)
    a2 = np.tanh(Waa @ a1 + Wax @ x2 + ba)
    dz2 = da2 * (1 - a2**2)
    dz1 = (Waa.T @ dz2) * (1 - a1**2)
    """
BPTT2_SOURCE = "forum: BPTT through 2 steps of the RNN cell (upstream gradient da2)"
forum(BPTT2_SOURCE, "forum-bptt2-dWaa", BPTT2, BPTT_SHAPES.replace(" x3[k,m]", ""), "Waa",
      BPTT2_BACKWARD + "dz2 @ a1.T + dz1 @ a0.T", kind="vjp", cotangent="da2")
forum(BPTT2_SOURCE, "forum-bptt2-dWax", BPTT2, BPTT_SHAPES.replace(" x3[k,m]", ""), "Wax",
      BPTT2_BACKWARD + "dz2 @ x2.T + dz1 @ x1.T", kind="vjp", cotangent="da2")

BPTT3_LOSS = BPTT3 + "\nL = sum(da1 * a1) + sum(da2 * a2) + sum(da3 * a3)"
BPTT3_LOSS_BACKWARD = """
    a1 = np.tanh(Waa @ a0 + Wax @ x1 + ba)
    a2 = np.tanh(Waa @ a1 + Wax @ x2 + ba)
    a3 = np.tanh(Waa @ a2 + Wax @ x3 + ba)
    dz3 = da3 * (1 - a3**2)
    dz2 = (da2 + Waa.T @ dz3) * (1 - a2**2)
    dz1 = (da1 + Waa.T @ dz2) * (1 - a1**2)
    """
BPTT3_LOSS_SHAPES = BPTT_SHAPES + " da1[n,m] da2[n,m] da3[n,m]"
BPTT3_LOSS_SOURCE = "forum: BPTT through 3 steps with a gradient arriving at every step"
forum(BPTT3_LOSS_SOURCE, "forum-bptt3-loss-dWaa", BPTT3_LOSS, BPTT3_LOSS_SHAPES, "Waa",
      BPTT3_LOSS_BACKWARD + "dz3 @ a2.T + dz2 @ a1.T + dz1 @ a0.T")
forum(BPTT3_LOSS_SOURCE, "forum-bptt3-loss-dba", BPTT3_LOSS, BPTT3_LOSS_SHAPES, "ba",
      BPTT3_LOSS_BACKWARD + "(dz3 + dz2 + dz1).sum(axis=1, keepdims=True)")


# ======================================================================================
# An LSTM cell (D2L 10.1 eqs. 10.1.1-10.1.3, minibatch rows) and its backward pass in the
# deltas of Greff et al. (2017) appendix B (no peepholes). The upstream gradients dH and dC
# arrive at the new hidden and cell states.
# ======================================================================================


def lstm(id: str, wrt: str, textbook: str) -> Case:
    """An LSTM cell case: the gradient in ``wrt`` of the upstream-weighted outputs."""
    return case("lstm", id, "LSTM cell: D2L 10.1.1 (forward), Greff et al. (2017) appendix B "
                "(backward deltas)", LSTM, LSTM_SHAPES, wrt, LSTM_FORWARD + textbook)


LSTM = """
    I = sigmoid(X @ Wxi + H @ Whi + bi)
    F = sigmoid(X @ Wxf + H @ Whf + bf)
    O = sigmoid(X @ Wxo + H @ Who + bo)
    C_tilde = tanh(X @ Wxc + H @ Whc + bc)
    C_new = F * C + I * C_tilde
    H_new = O * tanh(C_new)
    L = sum(dH * H_new) + sum(dC * C_new)
    """
LSTM_SHAPES = ("X[n,d] H[n,h] C[n,h] Wxi[d,h] Whi[h,h] bi[h] Wxf[d,h] Whf[h,h] bf[h] "
               "Wxo[d,h] Who[h,h] bo[h] Wxc[d,h] Whc[h,h] bc[h] dH[n,h] dC[n,h]")
LSTM_FORWARD = """
    I = 1 / (1 + np.exp(-(X @ Wxi + H @ Whi + bi)))
    F = 1 / (1 + np.exp(-(X @ Wxf + H @ Whf + bf)))
    O = 1 / (1 + np.exp(-(X @ Wxo + H @ Who + bo)))
    C_tilde = np.tanh(X @ Wxc + H @ Whc + bc)
    C_new = F * C + I * C_tilde
    """
DELTA_O = "delta_o = dH * np.tanh(C_new) * O * (1 - O)\n"
DELTA_C = "delta_c = dH * O * (1 - np.tanh(C_new)**2) + dC\n"
DELTA_I = "delta_i = delta_c * C_tilde * I * (1 - I)\n"
DELTA_F = "delta_f = delta_c * C * F * (1 - F)\n"
DELTA_Z = "delta_z = delta_c * I * (1 - C_tilde**2)\n"
DELTAS = DELTA_O + DELTA_C + DELTA_I + DELTA_F + DELTA_Z

lstm("lstm-dWxo", "Wxo", DELTA_O + "X.T @ delta_o")
lstm("lstm-dbo", "bo", DELTA_O + "delta_o.sum(axis=0)")
lstm("lstm-dWxi", "Wxi", DELTA_C + DELTA_I + "X.T @ delta_i")
lstm("lstm-dWhi", "Whi", DELTA_C + DELTA_I + "H.T @ delta_i")
lstm("lstm-dWxf", "Wxf", DELTA_C + DELTA_F + "X.T @ delta_f")
lstm("lstm-dWhf", "Whf", DELTA_C + DELTA_F + "H.T @ delta_f")
lstm("lstm-dWxc", "Wxc", DELTA_C + DELTA_Z + "X.T @ delta_z")
lstm("lstm-dX", "X", DELTAS + "delta_i @ Wxi.T + delta_f @ Wxf.T + delta_o @ Wxo.T "
     "+ delta_z @ Wxc.T")
lstm("lstm-dH", "H", DELTAS + "delta_i @ Whi.T + delta_f @ Whf.T + delta_o @ Who.T "
     "+ delta_z @ Whc.T")
lstm("lstm-dC", "C", DELTA_C + "delta_c * F")


# ======================================================================================
# A GRU cell (Cho et al. 2014 eqs. 5-8, in D2L 10.2's minibatch-row form), backward by the
# chain rule with upstream gradient dHn at the new hidden state.
# ======================================================================================


def gru(id: str, wrt: str, textbook: str) -> Case:
    """A GRU cell case: the vjp in ``wrt`` with upstream gradient ``dHn``."""
    return case("gru", id, "GRU cell: Cho et al. (2014) eqs. 5-8, D2L 10.2 eqs. 10.2.1-10.2.3 "
                "(backward by the chain rule)", GRU, GRU_SHAPES, wrt, GRU_FORWARD + textbook,
                kind="vjp", cotangent="dHn")


GRU = """
    R = sigmoid(X @ Wxr + H @ Whr + br)
    Z = sigmoid(X @ Wxz + H @ Whz + bz)
    H_tilde = tanh(X @ Wxh + (R * H) @ Whh + bh)
    Z * H + (1 - Z) * H_tilde
    """
GRU_SHAPES = ("X[n,d] H[n,h] Wxr[d,h] Whr[h,h] br[h] Wxz[d,h] Whz[h,h] bz[h] "
              "Wxh[d,h] Whh[h,h] bh[h]")
GRU_FORWARD = """
    R = 1 / (1 + np.exp(-(X @ Wxr + H @ Whr + br)))
    Z = 1 / (1 + np.exp(-(X @ Wxz + H @ Whz + bz)))
    H_tilde = np.tanh(X @ Wxh + (R * H) @ Whh + bh)
    """
DA_H = "da_h = dHn * (1 - Z) * (1 - H_tilde**2)\n"
DA_Z = "da_z = dHn * (H - H_tilde) * Z * (1 - Z)\n"
DRH = "dRH = da_h @ Whh.T\n"
DA_R = "da_r = dRH * H * R * (1 - R)\n"

gru("gru-dWxh", "Wxh", DA_H + "X.T @ da_h")
gru("gru-dWhh", "Whh", DA_H + "(R * H).T @ da_h")
gru("gru-dbh", "bh", DA_H + "da_h.sum(axis=0)")
gru("gru-dWxz", "Wxz", DA_Z + "X.T @ da_z")
gru("gru-dWhz", "Whz", DA_Z + "H.T @ da_z")
gru("gru-dWxr", "Wxr", DA_H + DRH + DA_R + "X.T @ da_r")
gru("gru-dWhr", "Whr", DA_H + DRH + DA_R + "H.T @ da_r")
gru("gru-dX", "X", DA_H + DA_Z + DRH + DA_R + "da_h @ Wxh.T + da_z @ Wxz.T + da_r @ Wxr.T")
gru("gru-dH", "H", DA_H + DA_Z + DRH + DA_R
    + "dHn * Z + dRH * R + da_z @ Whz.T + da_r @ Whr.T")
