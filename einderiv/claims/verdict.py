"""The verdict of a claim: ok, message, the correct form and the named mistakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from einderiv.ir.nodes import Expr

MISTAKES = (
    "shape mismatch",
    "transposed",
    "wrong order",
    "missing transpose",
    "extra transpose",
    "wrong sign",
    "wrong factor",
    "missing term",
    "extra term",
    "wrong sign in a term",
    "wrong factor in a term",
    "elementwise vs matrix product",
    "assumes symmetric",
    "assumes normalized",
)


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify`: ``ok``, a message, and the correct form.

    ``expected`` is the correct result in numpy matrix form (with the user's
    intermediate names where they fit), ``mistakes`` the diagnosed mistakes (names from
    :data:`MISTAKES`), ``reason`` the index-notation explanation, ``fix`` a corrected
    version of the claim when a single edit repairs it.
    """

    ok: bool
    message: str
    expected: str
    mistakes: tuple[str, ...] = ()
    reason: str = ""
    fix: str | None = None
    claim_shape: tuple[str, ...] = ()
    expected_shape: tuple[str, ...] = ()
    max_error: float = 0.0
    expected_expr: Expr | None = field(default=None, repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        """What the CLI prints: ``✓ correct`` or ``✗ wrong``, then the message."""
        return ("✓ correct" if self.ok else "✗ wrong") + "\n" + self.message

    def __repr__(self) -> str:
        mistakes = f", mistakes={self.mistakes!r}" if self.mistakes else ""
        fix = f", fix={self.fix!r}" if self.fix else ""
        return f"Verdict(ok={self.ok}{mistakes}, expected={self.expected!r}{fix})"

    def _repr_markdown_(self) -> str:
        head = "**✓ correct**" if self.ok else "**✗ wrong**"
        lines = [head, ""]
        for line in self.message.splitlines():  # the formulas as code, so _ and * stay
            label, sep, rest = line.partition(": ")
            if sep and label in ("Correct", "Fix", "Why") and rest:
                lines.append(f"{label}: `{rest.rstrip('.')}`" + ("." if rest.endswith(".") else "")
                             + "  ")
            else:
                lines.append(line + "  ")
        return "\n".join(lines).rstrip()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the verdict."""
        return {
            "ok": self.ok,
            "message": self.message,
            "expected": self.expected,
            "mistakes": list(self.mistakes),
            "reason": self.reason,
            "fix": self.fix,
            "claim_shape": list(self.claim_shape),
            "expected_shape": list(self.expected_shape),
            "max_error": self.max_error,
        }
