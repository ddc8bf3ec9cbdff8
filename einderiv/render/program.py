r"""The readable form: numpy lines with named intermediates, as a person writes them.

Contract: :func:`to_program` returns Python source made of assignment lines
``NAME = EXPR``, each EXPR following :func:`~einderiv.render.to_numpy`'s rules and free
to use the names of the lines above it; the last line assigns the result to ``name``, so
``exec(src, {"np": numpy, **values}, ns)`` leaves the result in ``ns[name]``.  Which parts
get a line and what they are called is :mod:`einderiv.render.naming`'s plan (the user's
program names, ``d`` + name for adjoints, ``s``/``p`` for sigmoids and softmaxes, parts
used twice).  Every part is rendered once, so the size of the program grows linearly
with the expression DAG (a T-step BPTT gradient is O(T) lines).  :func:`to_latex_where`
writes the same lines in LaTeX.

>>> import einderiv as ed
>>> f = ed.parse("z = W @ x + b; a = tanh(z)", shapes="W[n,m] x[m] b[n]")
>>> print(ed.vjp(f, "W", "da").to_program())
z = W @ x + b
a = np.tanh(z)
dz = (1 - a**2) * da
dW = np.outer(dz, x)
"""

from __future__ import annotations

from einderiv.ir.nodes import Expr, inputs_of, unwrap
from einderiv.render.api import deep_recursion
from einderiv.render.latex import latex_name, tex
from einderiv.render.naming import plan_names, result_name
from einderiv.render.numpytext import to_text
from einderiv.render.reader import Renderer
from einderiv.render.tree import Call, Leaf, MNode


def program_trees(expr: Expr, name: str | None = None) -> list[tuple[str, MNode]]:
    """``(name, matrix tree)`` for every line of the readable form; the result is last.

    A line that is a softmax becomes two, as a hand-written stable softmax reads: the
    exponential shifted by the max (``S_exp = np.exp(S - S.max(...))``), then it normalized
    (``P = S_exp / S_exp.sum(...)``).
    """
    body = unwrap(expr)
    renderer = Renderer(expr)
    lines: list[tuple[str, MNode]] = []
    with deep_recursion():
        for node, line_name in plan_names(expr):
            lines.append((line_name, renderer.full(node)))
            renderer.name(node, line_name)
        final = name if name is not None else result_name(expr)
        lines.append((final, renderer.full(body)))
    return _split_softmaxes(lines, {sym.name for sym in inputs_of(expr)})


def _split_softmaxes(lines: list[tuple[str, MNode]], inputs: set[str]) -> list[tuple[str, MNode]]:
    """Every line ``p = softmax(z)`` as ``z_exp = exp(z - max z)`` and ``p = z_exp / sum``."""
    taken = inputs | {n for n, _ in lines}
    out: list[tuple[str, MNode]] = []
    for line_name, tree in lines:
        if not (isinstance(tree, Call) and tree.fn == "softmax"):
            out.append((line_name, tree))
            continue
        arg = tree.args[0]
        base = f"{arg.text}_exp" if isinstance(arg, Leaf) and arg.kind == "name" else (
            "E" if tree.rank >= 2 else "e")
        exp_name, k = base, 1
        while exp_name in taken or not exp_name.isidentifier():
            k += 1
            exp_name = f"{base}{k}"
        taken.add(exp_name)
        out.append((exp_name, Call(tree.rank, "softmax_exp", tree.args, tree.param)))
        named = Leaf(tree.rank, exp_name, latex_name(exp_name))
        out.append((line_name, Call(tree.rank, "softmax_normalize", (named,), tree.param)))
    return out


def to_program(expr: Expr, name: str | None = None) -> str:
    """The readable form of ``expr``: numpy lines with named intermediates.

    ``name`` names the result (default: ``d`` + the input a derivative is taken in,
    e.g. ``dW``; ``result`` otherwise).

    >>> import einderiv as ed
    >>> x, A = ed.symbols("x[n] A[n,n]")
    >>> print(ed.grad(x @ A @ x, "x").to_program())
    dx = (A + A.T) @ x
    """
    with deep_recursion():
        return "\n".join(f"{n} = {to_text(tree)}" for n, tree in program_trees(expr, name))


def to_latex_where(expr: Expr, name: str | None = None) -> str:
    r"""The readable form in LaTeX: the result, then ``where`` and the named parts.

    >>> import einderiv as ed
    >>> X, w, y = ed.symbols("X[n,d] w[d] y[n]")
    >>> s = ed.sigmoid(X @ w)
    >>> to_latex_where(s * y + s)
    '\\mathrm{result} = s + s \\odot y \\quad \\text{where}\\quad s = \\sigma\\left(X w\\right)'
    """
    lines = program_trees(expr, name)
    (final, tree), defs = lines[-1], lines[:-1]
    with deep_recursion():
        head = f"{latex_name(final)} = {tex(tree)[0]}"
        if not defs:
            return head
        parts = [f"{latex_name(n)} = {tex(t)[0]}" for n, t in defs]
        if len(parts) <= 2:
            return head + r" \quad \text{where}\quad " + r",\; ".join(parts)
        rows = [f"{latex_name(final)} &= {tex(tree)[0]}"]
        rows += [
            (r"\text{where}\quad " if k == 0 else "")
            + f"{latex_name(n)} &= {tex(t)[0]}"
            for k, (n, t) in enumerate(defs)
        ]
        return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"
