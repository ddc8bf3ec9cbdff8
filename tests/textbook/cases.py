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

import textwrap
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
    return textwrap.dedent(text).strip()


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
