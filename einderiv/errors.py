"""Errors: the one exception family einderiv raises for bad input.

Every error a user can trigger is an :class:`EinderivError`; subclasses say which
kind.  Low-level code raises a short fact; public entry points re-raise once with
context.  A :class:`ParseError` carries the text and column and prints the line with
a caret under the offending position.

>>> try:
...     raise ParseError("unknown name 'q'", text="W @ q", column=4, hint="declare q in shapes")
... except EinderivError as err:
...     print(err)
unknown name 'q'
  W @ q
      ^
hint: declare q in shapes
"""

from __future__ import annotations


class EinderivError(Exception):
    """Root of every error einderiv raises for bad input."""


class ShapeError(EinderivError):
    """Dimensions do not fit: a contraction of different dims, a rank mismatch."""


class SubscriptError(EinderivError):
    """An einsum subscript string is malformed or does not match its operands."""


class SymbolError(EinderivError):
    """A symbol declaration is malformed, or a name is unknown or ambiguous."""


class DerivativeError(EinderivError):
    """A derivative was asked that does not exist (non-scalar grad, unknown wrt)."""


class EvaluationError(EinderivError):
    """Numeric values passed to ``evaluate`` do not fit the declared symbols."""


class ParseError(EinderivError):
    """Text could not be parsed; carries the text and the column of the problem."""

    def __init__(
        self,
        message: str,
        *,
        text: str | None = None,
        column: int | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.text = text
        self.column = column
        self.line = line
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        if self.text is not None and self.column is not None:
            lines = self.text.splitlines() or [""]
            index = (self.line or 1) - 1
            shown = lines[index] if 0 <= index < len(lines) else lines[-1]
            if len(shown) > 120:
                start = max(0, min(self.column - 60, len(shown) - 120))
                shown = shown[start : start + 120]
                col = self.column - start
            else:
                col = self.column
            where = f" (line {self.line})" if self.line and len(lines) > 1 else ""
            parts.append(f"  {shown}{where}")
            parts.append("  " + " " * max(col, 0) + "^")
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)

__all__ = [
    "DerivativeError",
    "EinderivError",
    "EvaluationError",
    "ParseError",
    "ShapeError",
    "SubscriptError",
    "SymbolError",
]
