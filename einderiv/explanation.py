"""Explanation: a step-by-step derivation as Markdown with LaTeX math.

Contract: :func:`explain` writes, for a gradient, vjp, full (e.g. 4-D) Jacobian or
Hessian, the function in index notation, each index rule applied from the outside in
(chain rule, sum rule, product rule with the leaf rule ``∂X_ij/∂X_kl = δ_ik δ_jl``),
each Kronecker delta eliminated and what a surviving delta means, the final index
form, the matrix form with how its order is read off the indices, and a numeric check
against central finite differences.  The text is deterministic: the same input gives
the same Markdown, so generated docs can be checked for staleness.

>>> import einderiv as ed
>>> f = ed.parse("W @ x", shapes="W[n,m] x[m]")
>>> print(ed.explain(f, "x").splitlines()[0])
# Derivation: ∂f/∂x for f = `W @ x`
>>> g = ed.parse("sum(softplus(-y * (X @ w)))", shapes="X[n,d] w[d] y[n]")
>>> print(ed.explain(g, "w", text="sum(softplus(-y * (X @ w)))").splitlines()[0])
# Derivation: ∂f/∂w for f = `sum(softplus(-y * (X @ w)))`
"""

from __future__ import annotations

from typing import Any

from einderiv.claims.context import substitute, with_names
from einderiv.claims.reasons import factor_name_wrapped, index_reason
from einderiv.derive.api import diff, grad, hessian, vjp
from einderiv.derive.arguments import resolve_wrt
from einderiv.derive.common import derivative_of, partials_of
from einderiv.errors import EinderivError
from einderiv.ir.nodes import Delta, Expr, Func, LogSumExp, MatFunc, Product, Sum, Symbol, unwrap
from einderiv.ir.traversal import topological
from einderiv.render.index import to_index
from einderiv.render.letters import OUT_LETTERS
from einderiv.rewrite.elementwise import make_func
from einderiv.rewrite.terms import make_product
from einderiv.sampling import numeric_check
from einderiv.testing import default_sizes


def _index_latex(expr: Expr, lhs: str = "F") -> str:
    """Index form of ``expr`` in LaTeX with ``lhs`` as the tensor's name."""
    return to_index(expr, latex=True, name=lhs)


def _render(expr: Expr, how: str) -> str:
    try:
        return expr.to_numpy() if how == "numpy" else expr.to_latex()
    except Exception:
        return expr.to_einsum() if how == "numpy" else _index_latex(expr)


def _dims_text(sym: Symbol) -> str:
    if not sym.dims:
        return "scalar"
    text = " × ".join(sym.dims)
    return text + (" (symmetric)" if sym.symmetric else "")


def _delta_meaning(result: Expr, x: Symbol, f: Expr) -> list[str]:
    """What each surviving delta of the result says, in words."""
    lines: list[str] = []
    result = unwrap(result)
    products = (
        [result]
        if isinstance(result, Product)
        else (
            [t for t in result.terms if isinstance(t, Product)] if isinstance(result, Sum) else []
        )
    )
    nf = len(f.dims)
    for term in products:
        position = {label: pos for pos, label in enumerate(term.out)}
        for factor, labels in term.factors:
            if not isinstance(factor, Delta):
                continue
            a, b = sorted(labels, key=lambda label: position.get(label, 99))
            pa, pb = position.get(a), position.get(b)
            if pa is None or pb is None or pa >= nf or pb < nf:
                continue
            la, lb = OUT_LETTERS[pa], OUT_LETTERS[pb]
            axis_f = {1: "entry", 2: "row" if pa == 0 else "column"}.get(nf, f"axis-{pa} entry")
            xaxis = pb - nf
            axis_x = (
                "row"
                if xaxis == 0 and len(x.dims) == 2
                else ("column" if len(x.dims) == 2 else f"index {xaxis}")
            )
            text = (
                f"- $\\delta_{{{la}{lb}}}$: entry ${lb}$ ({axis_x}) of {x.name} only reaches "
                f"{axis_f} ${lb}$ of f: the derivative is zero unless ${la} = {lb}$."
            )
            if text not in lines:
                lines.append(text)
    return lines


def _rule_steps(f: Expr, x: Symbol, named=lambda e: e) -> list[str]:
    """One line per index rule on the way from ``f`` down to ``x``."""
    order = topological(f)
    depends: set[str] = set()
    for node in order:
        if node == x or any(c.key in depends for c in node.children):
            depends.add(node.key)
    steps: list[str] = []
    r = len(x.dims)
    xlabels = "".join(OUT_LETTERS[len(OUT_LETTERS) - r + k] for k in range(r)) if r else ""
    leaf = (
        f"$\\partial {x.name}_{{ij}} / \\partial {x.name}_{{kl}} = \\delta_{{ik}} \\delta_{{jl}}$"
        if r == 2
        else f"$\\partial {x.name}_{{i}} / \\partial {x.name}_{{k}} = \\delta_{{ik}}$"
        if r == 1
        else f"$\\partial {x.name} / \\partial {x.name} = 1$"
    )
    del xlabels
    for node in reversed(order):
        if node.key not in depends or node == x:
            continue
        if isinstance(node, Func) and len(node.args) > 1:
            name = f"\\operatorname{{{node.name}}}"
            args = ", ".join(f"E_{k + 1}" for k in range(len(node.args)))
            terms = [
                f"\\left({_render(named(partial), 'latex')}\\right)_I\\, \\partial (E_{k + 1})_I"
                for k, (arg, partial) in enumerate(zip(node.args, partials_of(node), strict=True))
                if arg.key in depends
            ]
            steps.append(
                f"**Chain rule** through `{node.name}`, one partial derivative per argument: "
                f"$\\partial\\, {name}({args})_I = {' + '.join(terms)}$ (elementwise)."
            )
        elif isinstance(node, Func):
            deriv = named(derivative_of(node))
            arg = named(node.arg)
            here = f", here E = {arg.name}" if isinstance(arg, Symbol) and arg != node.arg else ""
            if node.name == "pow":
                p = f"{node.param:g}"
                steps.append(
                    f"**Chain rule** through the power `**{p}`: $\\partial\\, (E^{{{p}}})_I "
                    f"= g'(E)_I\\, \\partial E_I$ with $g'(E) = {_render(deriv, 'latex')}$ "
                    f"(elementwise{here})."
                )
                continue
            name = f"\\operatorname{{{node.name}}}"
            note = here
            steps.append(
                f"**Chain rule** through `{node.name}`: $\\partial\\, {name}(E)_I = "
                f"{name}'(E)_I\\, \\partial E_I$ with "
                f"${name}'(E) = {_render(deriv, 'latex')}$ (elementwise{note})."
            )
        elif isinstance(node, Sum):
            kept = [t for t in node.terms if t.key in depends]
            dropped = len(node.terms) - len(kept)
            note = f"; {dropped} term(s) do not contain {x.name} and vanish" if dropped else ""
            steps.append(
                f"**Sum rule**: differentiate each term of `{_render(node, 'numpy')}`{note}."
            )
        elif isinstance(node, Product):
            steps.extend(_product_step(node, x, depends))
        elif isinstance(node, MatFunc):
            formula = {
                "inv": "\\partial (X^{-1})_{ij} = "
                "-(X^{-1})_{ia}\\, \\partial X_{ab}\\, (X^{-1})_{bj}",
                "det": "\\partial \\det X = \\det X\\, (X^{-1})_{ji}\\, \\partial X_{ij}",
                "logdet": "\\partial \\log\\det X = (X^{-1})_{ji}\\, \\partial X_{ij}",
                "solve": "\\partial\\, \\mathrm{solve}(A, B) = "
                "\\mathrm{solve}(A, \\partial B - \\partial A\\, \\mathrm{solve}(A, B))",
            }[node.name]
            steps.append(f"**{node.name} rule**: ${formula}$.")
        elif isinstance(node, LogSumExp):
            steps.append(
                "**logsumexp rule**: $\\partial\\, \\mathrm{lse}(E) = "
                "\\sum \\mathrm{softmax}(E)\\, "
                "\\partial E$ over the reduced axes."
            )
    steps.append(f"**Leaf rule**: {leaf}.")
    return steps


def _product_step(node: Product, x: Symbol, depends: set[str]) -> list[str]:
    """The product rule on one einsum term, with deltas substituted and eliminated."""
    lines = [
        f"**Product rule** on ${_index_latex(node)}$ "
        f"(one term per factor that depends on {x.name}):"
    ]
    for index, (factor, labels) in enumerate(node.factors):
        if factor.key not in depends:
            continue
        if factor != x:
            lines.append(
                f"  - the factor `{_render(factor, 'numpy')}` is differentiated by the rules below."
            )
            continue
        base = len(node.ldims)
        new = tuple(range(base, base + len(labels)))
        ldims = dict(enumerate(node.ldims))
        ldims.update({n: d for n, d in zip(new, x.dims, strict=True)})
        deltas = [(Delta.make(d), (labels[k], new[k])) for k, d in enumerate(x.dims)]
        others = [pair for k, pair in enumerate(node.factors) if k != index]
        raw = Product.make(node.coeff, [*others, *deltas], node.out + new, ldims)
        simplified = make_product(node.coeff, [*others, *deltas], node.out + new, ldims)
        raw_text = _index_latex(raw)
        done_text = _index_latex(simplified)
        lines.append(f"  - replacing {x.name} by its deltas: ${raw_text}$")
        if raw_text != done_text:
            lines.append(
                f"  - **delta elimination** (a delta summed against another index renames it): "
                f"${done_text}$"
            )
    return lines


def explain(
    f: Expr, wrt: Any, cotangent: Any = None, *, kind: str | None = None, text: str | None = None
) -> str:
    """A Markdown derivation of the derivative of ``f`` w.r.t. ``wrt``.

    With ``cotangent`` it explains the vjp; for a scalar ``f`` the gradient (or the
    Hessian with ``kind="hessian"``); otherwise the full derivative tensor.  ``text`` is
    the user's own text of ``f`` (what was parsed); the heading shows it instead of f's
    rendering, which may spell internal rewrites (``np.logaddexp(0, ...)``).
    """
    _check_options(kind, text, cotangent)
    x = resolve_wrt(f, wrt)
    if kind is None:
        kind = "vjp" if cotangent is not None else ("grad" if not f.dims else "diff")
    f_text = f"`{_one_line(text) if text and text.strip() else _render(f, 'numpy')}`"
    names = _intermediates(f, x, cotangent if kind == "vjp" else None)
    shown_defs: dict[str, str] = {}
    for pname, (node, spelled) in _softmax_nodes(f, x).items():
        if all(n != node for n in names.values()):
            names[pname] = node
            shown_defs[pname] = spelled

    def named(e: Expr) -> Expr:
        return with_names(e, names) if names else e

    title = {
        "vjp": f"# Derivation: backprop of f = {f_text} to {x.name}",
        "grad": f"# Derivation: ∂f/∂{x.name} for f = {f_text}",
        "diff": f"# Derivation: ∂f/∂{x.name} for f = {f_text}",
        "hessian": f"# Derivation: the Hessian of f = {f_text} in {x.name}",
    }[kind]
    out = [title, "", "## The function", ""]
    for name, sym in sorted(f.symbols().items()):
        out.append(f"- `{name}`: {_dims_text(sym)}")
    out += ["", f"$$f = {_render(f, 'latex')}$$", ""]
    if names:
        out += ["Naming the intermediates:", ""]
        for name, definition in names.items():
            others = {k: v for k, v in names.items() if k != name}
            shown = with_names(definition, others) if others else definition
            note = f" (the gradient arriving at {name[1:]})" if name.startswith("d") else ""
            text = shown_defs.get(name) or _render(shown, "numpy")
            if name in shown_defs:
                note = " (a softmax)"
            out.append(f"- `{name} = {text}`{note}")
        out.append("")
    if isinstance(unwrap(f), Func) and names:
        zname = next(iter(names))
        idx = "".join(OUT_LETTERS[: len(f.dims)])
        sub = f"_{{{idx}}}" if idx else ""
        out += [
            "In index notation:",
            "",
            f"$$f{sub} = \\{unwrap(f).name}\\left({zname}{sub}\\right), \\qquad "
            f"{_index_latex(unwrap(f).arg, zname)}$$",
            "",
        ]
    else:
        out += ["In index notation:", "", f"$${_index_latex(f, 'f')}$$", ""]
    full = diff(f, x)
    nf, nx = len(f.dims), len(x.dims)
    fl = "".join(OUT_LETTERS[:nf])
    xl = "".join(OUT_LETTERS[nf : nf + nx])
    out += [
        "## The derivative tensor",
        "",
        f"$$F_{{{fl}{xl}}} = \\frac{{\\partial f{'_{' + fl + '}' if fl else ''}}}"
        f"{{\\partial {x.name}_{{{xl}}}}}$$"
        if fl or xl
        else f"$$F = \\partial f / \\partial {x.name}$$",
        "",
        f"has f's indices ({', '.join(fl) or 'none'}) then {x.name}'s ({', '.join(xl) or 'none'}). "
        "The rules, from the outside in:",
        "",
    ]
    number = 0
    for step in _rule_steps(f, x, named):
        if step.startswith("  -"):
            out.append("    " + step[2:])  # 4 spaces: Python-Markdown nests only at 4
        else:
            number += 1
            out.append(f"{number}. {step}")
    out += [
        "",
        "Putting them together and simplifying:",
        "",
        f"$${_index_latex(named(full))}$$",
        "",
    ]
    meanings = _delta_meaning(full, x, f)
    if meanings:
        out += ["The deltas that survive are real structure, not noise:", "", *meanings, ""]
    if kind == "vjp":
        g = cotangent if isinstance(cotangent, str) else getattr(cotangent, "name", "g")
        result = vjp(f, x, cotangent)
        out += [
            "## Pulling back the cotangent",
            "",
            f"Backprop contracts the upstream gradient `{g}` (shaped like f) "
            "with F over f's indices:",
            "",
            f"$$d{x.name}_{{{xl}}} = \\sum_{{{fl}}} {g}_{{{fl}}} F_{{{fl}{xl}}}$$"
            if fl
            else f"$$d{x.name} = {g} F$$",
            "",
            "and every delta in F renames a summed index of the cotangent:",
            "",
            f"$${_index_latex(named(result), 'd' + x.name)}$$",
            "",
        ]
        name = f"d{x.name}"
    elif kind == "grad":
        result = grad(f, x)
        name = f"d{x.name}"
    elif kind == "hessian":
        result = hessian(f, x)
        out += [
            "## Differentiating again",
            "",
            "The Hessian is the derivative of the gradient:",
            "",
            f"$${_index_latex(result, 'H')}$$",
            "",
        ]
        name = "H"
    else:
        result = full
        name = "F"
    shown = named(result)
    name_latex = "\\mathrm{" + name.replace("_", "\\_") + "}"
    out += [
        "## Matrix form",
        "",
        "```python",
        f"{name} = {_render(shown, 'numpy')}",
        "```",
        "",
        f"$${name_latex} = {_render(shown, 'latex')}$$",
        "",
    ]
    if names and shown != result:
        out += [
            "or, written out in the original symbols:",
            "",
            "```python",
            f"{name} = {_render(result, 'numpy')}",
            "```",
            "",
        ]
    if len(result.dims) in (1, 2):
        formula, _, reading = index_reason(shown, name).partition("\n")
        out += [f"Reading the order off the indices, `{formula}`. {reading}", ""]
    if len(result.dims) == 4 and len(f.dims) == 2 and len(x.dims) == 2:
        kron = result.to_kronecker(y="f", x=x.name)
        if kron:
            out += [
                "Under the column-major vec convention (Magnus–Neudecker), the same tensor is "
                "one matrix acting on vec(d" + x.name + "):",
                "",
                "```text",
                kron,
                "```",
                "",
            ]
    target = f if kind != "hessian" else grad(f, x)
    sizes_text = ", ".join(f"{d}={n}" for d, n in _sizes(target, x).items())
    check = numeric_check(target, x, seed=0, full=kind != "vjp")
    if check.report is None:  # not finite in the domain tried, or too big to evaluate
        out += ["## Numeric check", "", f"Not completed: {check.note}.", ""]
        return "\n".join(out)
    if check.values_note:
        sizes_text += f"; {check.values_note}"
    sym_fwd, num_fwd = check.report["forward"]
    out += [
        "## Numeric check",
        "",
        f"At random values (sizes {sizes_text}), the "
        f"directional derivative along a random direction is {sym_fwd:.8g} symbolically and "
        f"{num_fwd:.8g} by central differences; the reverse (vjp) check agrees too.",
        "",
    ]
    return "\n".join(out)


KINDS = ("grad", "vjp", "diff", "hessian")


def _check_options(kind: Any, text: Any, cotangent: Any) -> None:
    """``kind``, ``text`` and ``cotangent`` as :func:`explain` accepts them."""
    if cotangent is not None and not isinstance(cotangent, (str, Expr)):
        raise EinderivError(
            f"explain: cotangent must be a name such as 'g' or an expression, got "
            f"{type(cotangent).__name__}"
        )
    if kind is not None and kind not in KINDS:
        jvp = "; a jvp's derivation is the full derivative's: kind='diff'" if kind == "jvp" else ""
        raise EinderivError(
            f"explain: kind must be one of {', '.join(map(repr, KINDS))} (or None to choose "
            f"from f and cotangent), got {kind!r}{jvp}"
        )
    if text is not None and not isinstance(text, str):
        raise EinderivError(
            f"explain: text is the user's text of f (a string), got {type(text).__name__}"
        )


def _one_line(text: str) -> str:
    """The user's text of f on one line: its statements joined by ``; ``."""
    return "; ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def _softmax_nodes(f: Expr, x: Symbol) -> dict[str, tuple[Expr, str]]:
    """Name each softmax ``exp(E - logsumexp(E))`` in f or its derivative ``p``.

    A softmax is built as ``exp(E - lse(E))``; naming it keeps the matrix form textbook
    (``(g * p - (g * p).sum(axis=1)[:, None] * p) @ K``).  Maps a name to the node and
    the numpy text of its definition (``np.exp(z) / np.exp(z).sum()``).
    """
    found: dict[str, tuple[Expr, str]] = {}
    taken = set(f.symbols())
    seen: set[str] = set()
    for root in (f, diff(f, x)):
        for node in topological(root):
            if not (isinstance(node, Func) and node.name == "exp") or node.key in seen:
                continue
            lse = next((n for n in topological(node.arg) if isinstance(n, LogSumExp)), None)
            if lse is None or not isinstance(node.arg, Sum):
                continue
            if all(t.key != lse.arg.key for t in node.arg.terms):
                continue
            seen.add(node.key)
            name = next(n for n in ("p", "p1", "p2", "p3", "P") if n not in taken)
            taken.add(name)
            e = _render(lse.arg, "numpy")
            if e.startswith("(") and factor_name_wrapped(e):
                e = e[1:-1]  # it only ever appears inside np.exp(...)
            if len(lse.axes) == len(lse.arg.dims):
                text = f"np.exp({e}) / np.exp({e}).sum()"
            else:
                axes = lse.axes[0] if len(lse.axes) == 1 else lse.axes
                text = f"np.exp({e}) / np.exp({e}).sum(axis={axes}, keepdims=True)"
            found[name] = (node, text)
    return found


def _intermediates(f: Expr, x: Symbol, cotangent: Any) -> dict[str, Expr]:
    """Names for the pieces of ``f = func(z)``: ``z``, and ``dz`` for a vjp."""
    f = unwrap(f)
    outer_func = None
    order = topological(f)
    depends: set[str] = set()
    for node in order:
        if node == x or any(c.key in depends for c in node.children):
            depends.add(node.key)
    for node in reversed(order):  # the outermost elementwise function on the way to x
        if isinstance(node, Func) and node.key in depends:
            outer_func = node
            break
        if not isinstance(node, (Product, Sum)) and node.key in depends and node != f:
            break
    if (outer_func is None or len(outer_func.args) > 1 or isinstance(outer_func.arg, Symbol)
            or outer_func.arg == x):
        return {}
    if outer_func.name == "exp" and any(
        isinstance(n, LogSumExp) for n in topological(outer_func.arg)
    ):
        return {}  # a softmax: named p by _softmax_nodes instead
    taken = set(f.symbols())
    if isinstance(cotangent, (str, Symbol)):  # an intermediate never takes its name
        taken.add(getattr(cotangent, "name", cotangent))
    zname = next(n for n in ("z", "u", "s", "z1", "z2") if n not in taken)
    names: dict[str, Expr] = {zname: outer_func.arg}
    if cotangent is not None and outer_func == f:
        inner = Symbol.make(zname, f.arg.dims)
        outer = make_func(f.name, inner, f.param)
        adjoint = vjp(outer, inner, cotangent)
        dname = f"d{zname}"
        if dname not in taken:
            names[dname] = substitute(adjoint, inner, f.arg)
    return names


def _sizes(f: Expr, x: Symbol) -> dict[str, int]:
    return default_sizes(f, x)
