r"""Writing the command line's text: ASCII fallbacks, and streams that are closed or full.

Contract: :func:`write` prints text to a stream and reports what happened, so that the
CLI never mistakes the user's environment for a bug in einderiv.  A stream that cannot
encode the text (``PYTHONIOENCODING=ascii``, a C locale) gets the ASCII spelling of
einderiv's symbols (``∂`` → ``d``, ``δ`` → ``delta``, ``Σ`` → ``sum``, ``✓`` → ``[ok]``, see
:data:`ASCII`) and a backslash escape for any other character (``\u03bb``); a closed
stream, a full disk (``>/dev/full``) or a reader that went away (``| head``) is a
:class:`WriteProblem`, never an exception.

>>> to_ascii("F_abcd = δ_ac W_db")
'F_abcd = delta_ac W_db'
>>> to_ascii("✓ correct: ∂f/∂W = Σ_i x_i")
'[ok] correct: df/dW = sum_i x_i'
>>> to_ascii("λ")
'\\u03bb'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TextIO

#: ASCII spellings of the non-ASCII characters einderiv itself prints
ASCII: dict[str, str] = {
    "∂": "d",
    "δ": "delta",
    "Σ": "sum",
    "Π": "prod",
    "⊗": "(x)",
    "✓": "[ok]",
    "✗": "[x]",
    "…": "...",
    "⟨": "<",
    "⟩": ">",
    "⋅": "*",
    "·": "*",
    "×": "x",
    "–": "-",
    "—": "--",
    "½": "1/2",
    "²": "^2",
    "³": "^3",
    "⁴": "^4",
    "⁻": "^-",
    "¹": "1",
    "σ": "sigmoid",
    "√": "sqrt",
    "ᵀ": "^T",
    "→": "->",
    "≈": "~=",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
}

_TABLE = str.maketrans(ASCII)


def to_ascii(text: str) -> str:
    """``text`` in ASCII: einderiv's symbols spelled out, anything else backslash-escaped."""
    return text.translate(_TABLE).encode("ascii", "backslashreplace").decode("ascii")


def encodable(text: str, stream: TextIO) -> str:
    """``text`` as ``stream`` can encode it: unchanged when it can, else its ASCII fallback."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        text = to_ascii(text)
        try:
            text.encode(encoding)
        except (UnicodeEncodeError, LookupError):  # an encoding without ASCII (UTF-16 ...)
            pass
    return text


@dataclass(frozen=True)
class WriteProblem:
    """Why output could not be written, and the system's reason.

    ``closed``: the reader went away early (``| head``); ``failed``: no stream, a closed
    descriptor, a full disk.
    """

    kind: str
    reason: str


def write(text: str, stream: TextIO | None) -> WriteProblem | None:
    """Print ``text`` and a newline to ``stream`` and flush; the problem, if any.

    After a problem the stream's descriptor is pointed at ``os.devnull``, so that the
    interpreter's final flush at exit finds nothing left to fail on.
    """
    if stream is None:
        return WriteProblem("failed", "the output stream is closed")
    return _guarded(stream, lambda: stream.write(encodable(text, stream) + "\n"))


def _guarded(stream: TextIO, action) -> WriteProblem | None:
    """Run ``action`` then flush ``stream``, turning write failures into a WriteProblem."""
    try:
        action()
        stream.flush()
    except BrokenPipeError:
        _silence(stream)
        return WriteProblem("closed", "the reader closed the pipe")
    except (OSError, ValueError) as err:  # EBADF, ENOSPC, EIO; ValueError: closed file
        _silence(stream)
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        return WriteProblem("failed", reason)
    return None


def _silence(stream: TextIO) -> None:
    """Point ``stream``'s descriptor at devnull (what is still buffered goes nowhere)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # pragma: no cover - no devnull
        return
    try:
        os.dup2(devnull, stream.fileno())
    except (AttributeError, OSError, ValueError):
        pass
    finally:
        os.close(devnull)
