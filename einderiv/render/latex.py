"""Printing matrix-form trees as LaTeX."""

from __future__ import annotations

from einderiv.functions import FUNCTIONS, Elementwise, Matrix
from einderiv.render.numbers import number_latex
from einderiv.render.tree import (
    ADD,
    ATOM,
    CHAIN,
    MUL,
    POW,
    Add,
    Call,
    Einsum,
    Expand,
    Leaf,
    MatMul,
    MNode,
    Mul,
    Num,
    ReduceSum,
    Scale,
    Tensor,
    Transpose,
    post_order,
)

# -- LaTeX ------------------------------------------------------------------------------


def latex_name(name: str) -> str:
    r"""A symbol name in LaTeX (``a_prev`` -> ``a_{\mathrm{prev}}``, ``h1`` -> ``h_{1}``)."""
    if "_" in name:
        head, tail = name.split("_", 1)
        return f"{head}_{{\\mathrm{{{tail.replace('_', ' ')}}}}}"
    if len(name) > 1 and name[-1].isdigit() and name[:-1].isalpha():
        return f"{name[:-1]}_{{{name[-1]}}}"
    return name


def _paren(text: str) -> str:
    return r"\left(" + text + r"\right)"


def _ends_with_superscript(node: MNode) -> bool:
    """True when ``node``'s LaTeX ends with a superscript (a transpose, inverse, power)."""
    if isinstance(node, Transpose):
        return True
    if isinstance(node, Call):
        return node.fn == "inv" or (node.fn == "pow" and node.param not in (-1.0, 0.5))
    return False


def _sup_base(node: MNode) -> str:
    r"""``node``'s LaTeX ready for a superscript: ``{B^\top}^{2}`` (TeX rejects ``B^\top^{2}``)."""
    text = tex_wrapped(tex(node), ATOM)
    return "{" + text + "}" if _ends_with_superscript(node) and tex(node)[1] >= ATOM else text


def tex(node: MNode) -> tuple[str, float]:
    """LaTeX of a matrix tree and its precedence (cached on the node)."""
    cached = node.__dict__.get("tex")
    if cached is None:
        # children first: one level of recursion at most (an einsum is its index form)
        for part in post_order(node, (Einsum, Tensor)):
            if "tex" not in part.__dict__:
                object.__setattr__(part, "tex", _tex_uncached(part))
        cached = node.__dict__["tex"]
    return cached


def _tex_uncached(node: MNode) -> tuple[str, float]:
    if isinstance(node, (Leaf, Einsum, Tensor)):
        return node.latex, ATOM
    if isinstance(node, Num):
        return number_latex(node.value), (MUL if node.value < 0 else ATOM)
    if isinstance(node, Transpose):
        if isinstance(node.arg, Call) and node.arg.fn == "inv":  # inv(X).T is X^{-T}
            return _sup_base(node.arg.args[0]) + r"^{-\top}", ATOM
        return _sup_base(node.arg) + r"^\top", ATOM
    if isinstance(node, MatMul):
        parts = [tex_wrapped(tex(i), CHAIN) for i in node.items]
        if len(parts) > 1 and node.items[0].rank == 1:  # a leading vector is a row
            parts[0] = _sup_base(node.items[0]) + r"^\top"
        return " ".join(parts), MUL
    if isinstance(node, Mul):
        if len(node.items) == 2 and isinstance(node.items[0], Expand) and node.rank == 2:
            vec, other = node.items
            diag = r"\mathrm{diag}" + _paren(tex(vec.arg)[0])  # type: ignore[attr-defined]
            mat = tex_wrapped(tex(other), POW)
            text = f"{diag} {mat}" if vec.axis == 0 else f"{mat} {diag}"  # type: ignore
            return text, CHAIN
        parts = [tex_wrapped(tex(i), POW) for i in node.items]
        scalars = [p for p, i in zip(parts, node.items) if i.rank == 0]
        rest = [p for p, i in zip(parts, node.items) if i.rank != 0]
        return " ".join(scalars + [r" \odot ".join(rest)]).strip(), MUL
    if isinstance(node, Scale):
        inner = tex_wrapped(tex(node.arg), MUL)
        if node.coeff == -1.0:
            return "-" + inner, MUL
        return f"{number_latex(node.coeff)} {inner}", MUL
    if isinstance(node, Add):
        out = ""
        for index, (sign, term) in enumerate(node.terms):
            text = tex_wrapped(tex(term), MUL)
            if index == 0:
                out = text if sign > 0 else "-" + text
            else:
                out += (" + " if sign > 0 else " - ") + text
        return out, ADD
    if isinstance(node, ReduceSum):
        arg = tex_wrapped(tex(node.arg), POW)
        if node.axis is None:
            if node.arg.rank == 1:
                return r"\mathbf{1}^\top " + arg, MUL
            return r"\mathbf{1}^\top " + arg + r" \mathbf{1}", MUL
        if node.axis == 1:
            return arg + r" \mathbf{1}", MUL
        return _sup_base(node.arg) + r"^\top \mathbf{1}", MUL
    if isinstance(node, Expand):
        arg = tex_wrapped(tex(node.arg), POW)
        if node.axis == 0:
            return arg + r" \mathbf{1}^\top", MUL
        return r"\mathbf{1} " + _sup_base(node.arg) + r"^\top", MUL
    if isinstance(node, Call):
        return _tex_call(node)
    raise AssertionError(node)  # pragma: no cover


def tex_wrapped(text_prec: tuple[str, float], need: float) -> str:
    """LaTeX text, parenthesized when its precedence is below ``need``."""
    text, prec = text_prec
    return text if prec >= need else _paren(text)


def _tex_call(node: Call) -> tuple[str, float]:
    arg = node.args[0]
    inner = tex(arg)[0]
    if node.fn == "trace":
        return r"\mathrm{tr}" + _paren(inner), ATOM
    if node.fn == "inv":
        if isinstance(arg, Transpose):  # inv(A.T) = A^{-T}
            return _sup_base(arg.arg) + r"^{-\top}", ATOM
        return _sup_base(arg) + "^{-1}", ATOM
    if node.fn == "solve":  # A^{-1} B, read as a chain (transposes fold into ^{-\top})
        return tex(MatMul(node.rank, (Call(2, "inv", (arg,)), node.args[1])))
    if node.fn in ("diag", "diagonal"):
        return r"\mathrm{diag}" + _paren(inner), ATOM
    if node.fn == "outer":
        a = tex_wrapped(tex(node.args[0]), POW)
        b = _sup_base(node.args[1])
        return f"{a} {b}^\\top", MUL
    if node.fn == "logsumexp":
        return r"\log\sum\exp" + _paren(inner), ATOM
    if node.fn == "pow":
        p = node.param
        assert isinstance(p, float)
        if p == -1.0:
            return r"\frac{1}{" + inner + "}", ATOM
        if p == 0.5:
            return r"\sqrt{" + inner + "}", ATOM
        return _sup_base(arg) + "^{" + number_latex(p) + "}", POW
    entry = FUNCTIONS[node.fn]
    assert isinstance(entry, Elementwise | Matrix), node.fn
    args = [tex(a)[0] for a in node.args]
    if "#1" in entry.latex:  # a template: arguments inserted as they are
        text = entry.latex
        for k, value in enumerate(args):
            text = text.replace(f"#{k + 1}", value)
        return text, ATOM
    return entry.latex + _paren(", ".join(args)), ATOM
