"""Printing matrix-form trees as LaTeX."""

from __future__ import annotations

import re
from dataclasses import replace

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


GREEK = frozenset(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma "
    "tau upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi "
    "Omega".split()
)
_ALIASES = {"eps": "\\varepsilon"}
_HEAD = re.compile(r"([A-Za-z]+)([0-9]*)")


def is_word(name: str) -> bool:
    """Whether ``name``'s base is a word written upright (``Waa``, ``dz3``; not ``W``, ``mu``)."""
    match = _HEAD.match(name)
    letters = match.group(1) if match else name
    return len(letters) > 1 and letters not in GREEK and letters not in _ALIASES


def latex_parts(name: str) -> tuple[str, str]:
    r"""``(base, subscript)`` of a name in LaTeX; the subscript is ``""`` when there is none.

    One letter stays italic, a Greek letter's name is its letter, a longer word is upright
    (``\mathrm{Waa}``); trailing digits and what follows ``_`` are the subscript, a word
    there upright too: ``a_prev`` -> ``a``, ``\mathrm{prev}``; ``h1`` -> ``h``, ``1``.

    >>> latex_parts("Waa"), latex_parts("a_prev"), latex_parts("dz3"), latex_parts("gamma")
    (('\\mathrm{Waa}', ''), ('a', '\\mathrm{prev}'), ('\\mathrm{dz}', '3'), ('\\gamma', ''))
    """
    head, _, tail = name.partition("_")
    match = _HEAD.fullmatch(head)
    if match is None:  # digits first or in the middle: the whole head, upright
        letters, digits = head, ""
    else:
        letters, digits = match.groups()
    if letters in GREEK:
        base = "\\" + letters
    elif letters in _ALIASES:
        base = _ALIASES[letters]
    elif len(letters) == 1:
        base = letters
    else:
        base = "\\mathrm{" + letters + "}"
    subs = [digits] if digits else []
    if tail:
        word = len(tail) > 1 and not tail.isdigit()
        subs.append("\\mathrm{" + tail.replace("_", "\\_") + "}" if word else tail)
    return base, ",".join(subs)


def latex_name(name: str) -> str:
    r"""A name in LaTeX (``a_prev`` -> ``a_{\mathrm{prev}}``, ``Waa`` -> ``\mathrm{Waa}``)."""
    base, sub = latex_parts(name)
    return f"{base}_{{{sub}}}" if sub else base


def indexed(name: str, indices: str) -> str:
    r"""A name with index subscripts, merged with its own (``h1``, ``c`` -> ``h_{1,c}``)."""
    base, sub = latex_parts(name)
    if not indices:
        return latex_name(name)
    return f"{base}_{{{sub + ',' if sub else ''}{indices}}}"


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
        edges = [_edges(i, CHAIN) for i in node.items]
        if len(parts) > 1 and node.items[0].rank == 1:  # a leading vector is a row
            parts[0] = _sup_base(node.items[0]) + r"^\top"
            edges[0] = (edges[0][0], False)
        return _juxtapose(parts, edges), MUL
    if isinstance(node, Mul):
        if len(node.items) == 2 and isinstance(vec := node.items[0], Expand) and node.rank == 2:
            other = node.items[1]
            diag = r"\mathrm{diag}" + _paren(tex(vec.arg)[0])
            mat = tex_wrapped(tex(other), POW)
            text = f"{diag} {mat}" if vec.axis == 0 else f"{mat} {diag}"
            return text, CHAIN
        parts = [tex_wrapped(tex(i), POW) for i in node.items]
        scalars = [(p, _edges(i, POW)) for p, i in zip(parts, node.items) if i.rank == 0]
        rest = [(p, _edges(i, POW)) for p, i in zip(parts, node.items) if i.rank != 0]
        if rest:
            joined = r" \odot ".join(p for p, _ in rest)
            scalars.append((joined, (rest[0][1][0], rest[-1][1][1])))
        return _juxtapose([p for p, _ in scalars], [e for _, e in scalars]), MUL
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
    if isinstance(node, ReduceSum) and node.mean is not None:  # 1/n times the sum
        total = tex(replace(node, mean=None))
        return tex_wrapped(tex(node.mean), MUL) + " " + tex_wrapped(total, MUL), MUL
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


def _edges(node: MNode, need: float) -> tuple[bool, bool]:
    r"""Whether ``node``'s LaTeX begins and ends with an upright word (``\mathrm{Waa}``).

    ``need`` is the precedence its place wants (a parenthesized factor has no word at its
    ends); next to another factor, a word needs a thin space.
    """
    if tex(node)[1] < need:
        return False, False  # parenthesized
    cached = node.__dict__.get("edges")
    if cached is None:
        cached = _word_edges(node)
        object.__setattr__(node, "edges", cached)
    return cached


def _word_edges(node: MNode) -> tuple[bool, bool]:
    if isinstance(node, Leaf):
        word = node.kind == "name" and is_word(node.text)
        return word, word
    if isinstance(node, Transpose) or (isinstance(node, Call) and node.fn == "inv"):
        arg = node.arg if isinstance(node, Transpose) else node.args[0]
        return _edges(arg, ATOM)[0], False  # a superscript ends it
    if isinstance(node, MatMul) and node.items:
        first = _edges(node.items[0], CHAIN)
        if len(node.items) > 1 and node.items[0].rank == 1:
            first = (first[0], False)
        return first[0], _edges(node.items[-1], CHAIN)[1]
    if isinstance(node, Scale):
        return False, _edges(node.arg, MUL)[1]
    return False, False


def _juxtapose(parts: list[str], edges: list[tuple[bool, bool]]) -> str:
    r"""Factors side by side: a thin space where a word meets a factor (``\mathrm{Waa}\, x``)."""
    out = parts[0] if parts else ""
    for k in range(1, len(parts)):
        out += r"\, " if edges[k - 1][1] or edges[k][0] else " "
        out += parts[k]
    return out


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
        edges = [_edges(node.args[0], POW), (_edges(node.args[1], ATOM)[0], False)]
        return _juxtapose([a, b + "^\\top"], edges), MUL
    if node.fn == "logsumexp":
        return r"\log\sum\exp" + _paren(inner), ATOM
    if node.fn == "softmax":
        return r"\mathrm{softmax}" + _paren(inner), ATOM
    if node.fn == "softmax_exp":  # the exponential a softmax normalizes, shifted by its max
        return r"\exp" + _paren(inner + r" - \max " + tex_wrapped(tex(arg), ATOM)), ATOM
    if node.fn == "softmax_normalize":
        return r"\frac{" + inner + r"}{\sum " + tex_wrapped(tex(arg), ATOM) + "}", ATOM
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
