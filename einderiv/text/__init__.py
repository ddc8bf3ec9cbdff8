"""Text front end: numpy-like expressions and small programs, parsed with :mod:`ast`.

See :func:`einderiv.text.parser.parse` for the contract.
"""

from __future__ import annotations

from einderiv.text.parser import parse
from einderiv.text.tables import FUNCTIONS, MAX_DEPTH, MAX_LENGTH

__all__ = ["FUNCTIONS", "MAX_DEPTH", "MAX_LENGTH", "parse"]
