"""Claims: judge a claimed derivative formula, diagnose the mistake, say why.

See :func:`einderiv.claims.verify.verify` for the contract.
"""

from __future__ import annotations

from einderiv.claims.verdict import MISTAKES, Verdict
from einderiv.claims.verify import verify

__all__ = ["MISTAKES", "Verdict", "verify"]
