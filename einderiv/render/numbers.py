r"""Printing numbers exactly and short: integers, small fractions, pi, square roots.

Contract: :func:`exact` reads a float as ``sign * p/q * sqrt(s)**(+-1) * pi**k`` (``p``,
``q`` small integers, ``s`` a small non-square, ``k`` in -1, 0, 1) when such a form equals
it to within a few units in the last place, and picks the shortest such spelling (fewest
characters, then fewest syntax nodes); a short decimal (``0.5``, ``0.001``) and a float
with no such reading keep the float's own ``repr``.  The printers use it for coefficients
(``x / 3``, ``x / np.sqrt(8)``, ``np.pi * x``) and lone numbers; the spellings are numpy
text that ``ed.parse`` reads back (``np.pi``, ``np.sqrt(8)``) and LaTeX
(``\frac{1}{\sqrt{8}}``, ``\pi``).  The choice is made on the value, never on printed text.

>>> import math
>>> scaled_text(1 / math.sqrt(8), "x")
'x / np.sqrt(8)'
>>> scaled_text(1 / 3, "x"), scaled_text(2 / 3, "x"), scaled_text(0.5, "x")
('x / 3', '2 * x / 3', '0.5 * x')
>>> number_text(math.pi), number_text(math.pi / 2), number_text(0.1)
('np.pi', 'np.pi / 2', '0.1')
>>> number_latex(1 / math.sqrt(8)), number_latex(-math.pi)
('\\frac{1}{\\sqrt{8}}', '-\\pi')
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

# Precedence levels of printed numpy text (as in render.tree, repeated: tree imports nothing
# from here and here nothing from tree).
_ADD, _MUL, _UNARY, _ATOM = 1, 2, 3, 5

_ROOTS = tuple(s for s in range(2, 51) if math.isqrt(s) ** 2 != s)
_MAX_DEN = 720
_MAX_NUM = 1000
_REL = 1e-15  # a few ulps: 1/sqrt(8) folded one way or another rounds differently
_SHORT_DECIMAL = 6  # a decimal this short reads as well as any exact spelling


def format_number(c: float) -> str:
    """A number as plain text: integers without a decimal point, others by ``repr``."""
    if c == int(c) and abs(c) < 1e15:
        return str(int(c))
    return repr(c)


@dataclass(frozen=True)
class Exact:
    """``p/q * sqrt(root)**(1 if root_up else -1) * pi**pi`` (a positive number)."""

    p: int
    q: int
    root: int = 1
    root_up: bool = True
    pi: int = 0

    def spelled(self, root: Callable[[int], str], pi: str) -> tuple[list[str], list[str]]:
        """The factors above and below the line, ``sqrt(s)`` spelled ``root(s)`` and pi ``pi``."""
        up: list[str] = [str(self.p)] if self.p != 1 else []
        down: list[str] = [str(self.q)] if self.q != 1 else []
        if self.root != 1:
            (up if self.root_up else down).append(root(self.root))
        if self.pi:
            (up if self.pi > 0 else down).append(pi)
        return up, down

    def factors(self, plain: bool = False) -> tuple[list[str], list[str]]:
        """The numpy factors above and below the line (``plain``: no ``np.sqrt``, for torch)."""
        return self.spelled(lambda s: repr(math.sqrt(s)) if plain else f"np.sqrt({s})", "np.pi")

    def latex(self) -> str:
        r"""``\frac{..}{..}`` with ``\sqrt{s}`` and ``\pi`` where they belong."""
        up, down = self.spelled(lambda s: f"\\sqrt{{{s}}}", "\\pi")
        top = " ".join(up) or "1"
        return f"\\frac{{{top}}}{{{' '.join(down)}}}" if down else top


def _candidates(value: float) -> Iterator[Exact]:
    """Every exact reading of a positive ``value`` (with its float's repr as the fallback)."""
    for k in (0, 1, -1):
        base = value / math.pi**k
        for root in (1, *_ROOTS):
            for up in ((True,) if root == 1 else (True, False)):
                r = base / math.sqrt(root) if up else base * math.sqrt(root)
                f = Fraction(r).limit_denominator(_MAX_DEN)
                if 0 < f.numerator <= _MAX_NUM and math.isclose(float(f), r, rel_tol=_REL):
                    yield Exact(f.numerator, f.denominator, root, up, k)


def _spelling(up: list[str], down: list[str], arg: str | None) -> str:
    top = up + ([arg] if arg is not None else [])
    text = " * ".join(top) if top else "1"
    if len(down) == 1:
        text += f" / {down[0]}"
    elif down:
        text += f" / ({' * '.join(down)})"
    return text


def _cost(text: str) -> tuple[int, int]:
    """Characters, then syntax nodes: a 17-digit decimal is one node but not short."""
    nodes = sum(1 for n in ast.walk(ast.parse(text, mode="eval"))
                if not isinstance(n, ast.expr_context | ast.Expression))
    return len(text), nodes


@functools.lru_cache(maxsize=4096)
def exact(value: float) -> Exact | None:
    """The shortest exact reading of ``abs(value)``, or None when its ``repr`` is shortest.

    Integers and short decimals (``0.5``, ``0.25``, ``0.001``) stay as they are; a long
    decimal (``0.3333333333333333``) gives way to any exact reading, the shortest one.
    """
    value = abs(value)
    if not math.isfinite(value) or value == 0 or (value == int(value) and value < 1e15):
        return None
    if len(repr(value)) <= _SHORT_DECIMAL:  # 0.5, 0.25, 0.001: as short and as exact
        return None
    best: tuple[tuple[float, float], Exact | None] = ((math.inf, math.inf), None)
    for candidate in _candidates(value):
        cost = _cost(_spelling(*candidate.factors(), "x"))
        if cost < best[0]:
            best = (cost, candidate)
    return best[1]


def number_text(value: float, plain: bool = False) -> str:
    """A lone number as numpy text (``np.pi / 2``, ``1 / 3``, ``-np.sqrt(2)``)."""
    return number_text_prec(value, plain)[0]


def number_text_prec(value: float, plain: bool = False) -> tuple[str, int]:
    """A lone number as numpy text, with its precedence (``MUL`` for ``1 / 3``)."""
    form = exact(value)
    sign = "-" if value < 0 else ""
    if form is None:
        text = format_number(value)
        return text, (_UNARY if value < 0 else _ATOM)
    up, down = form.factors(plain)
    text = _spelling(up, down, None)
    single = len(up) <= 1 and not down
    return sign + text, (_UNARY if sign and single else _ATOM if single else _MUL)


def scaled_text(value: float, arg: str, plain: bool = False) -> str:
    """``value * arg`` as numpy text; ``arg`` is already wrapped for a product (MUL level).

    The sign is the caller's (``value`` should be positive; a negative one prints its
    minus in front).
    """
    form = exact(value)
    sign = "-" if value < 0 else ""
    if form is None:
        return f"{format_number(value)} * {arg}"
    up, down = form.factors(plain)
    return sign + _spelling(up, down, arg)


def number_latex(value: float) -> str:
    r"""A number in LaTeX: ``\frac{1}{3}``, ``\pi``, ``\frac{1}{\sqrt{8}}``, ``0.1``."""
    form = exact(value)
    sign = "-" if value < 0 else ""
    return sign + (form.latex() if form is not None else format_number(abs(value)))


def number_plain(value: float, factor: bool = False) -> str:
    """A number for the index form (plain text): ``1/3``, ``π/4``, ``1/√8``, ``0.1``.

    ``factor``: the number multiplies what follows, so a fraction is parenthesized
    (``(1/3) x_a``).
    """
    form = exact(value)
    if form is None:
        return format_number(value)
    up, down = form.spelled(lambda s: f"√{s}", "π")
    text = "·".join(up) or "1"
    if down:
        text += "/" + (down[0] if len(down) == 1 else "(" + "·".join(down) + ")")
        text = f"({text})" if factor else text
    return ("-" if value < 0 else "") + text
