"""Generate the derivation gallery in docs/gallery/ by running ``einderiv explain``.

Usage: ``python docs/generate.py`` (writes the pages) or ``python docs/generate.py --check``
(exit 1 when a page is stale).  ``tests/docs/test_docs.py`` runs the check, so a change to
einderiv that changes a derivation fails the tests until the gallery is regenerated.
Each page is the output of the CLI for the commands listed in ``GALLERY``, so the docs
show exactly what a user gets: an ``explain`` command (or one with ``--format markdown``)
gives a derivation; one with ``--format program`` gives the readable form (numpy lines with
named intermediates) and, from the same command with ``--format json``, its LaTeX twin
(``e.to_latex(where=True)``).
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GALLERY_DIR = HERE / "gallery"

RNN_SHAPES = "Waa[n,n] Wax[n,k] a_prev[n,m] x[k,m] ba[n,1]"
RNN = "tanh(Waa @ a_prev + Wax @ x + ba)"
RNN_PROGRAM = "z = Waa @ a_prev + Wax @ x + ba; a = tanh(z)"

# The cases below are the textbook suite's (tests/textbook/cases.py), written one line each.
BPTT3 = ("a1 = tanh(Waa @ a0 + Wax @ x1 + ba); a2 = tanh(Waa @ a1 + Wax @ x2 + ba); "
         "a3 = tanh(Waa @ a2 + Wax @ x3 + ba)")
BPTT3_SHAPES = "Waa[n,n] Wax[n,k] ba[n,1] a0[n,m] x1[k,m] x2[k,m] x3[k,m]"
LSTM = ("I = sigmoid(X @ Wxi + H @ Whi + bi); F = sigmoid(X @ Wxf + H @ Whf + bf); "
        "O = sigmoid(X @ Wxo + H @ Who + bo); C_tilde = tanh(X @ Wxc + H @ Whc + bc); "
        "C_new = F * C + I * C_tilde; H_new = O * tanh(C_new); "
        "L = sum(dH * H_new) + sum(dC * C_new)")
LSTM_SHAPES = ("X[n,d] H[n,h] C[n,h] Wxi[d,h] Whi[h,h] bi[h] Wxf[d,h] Whf[h,h] bf[h] "
               "Wxo[d,h] Who[h,h] bo[h] Wxc[d,h] Whc[h,h] bc[h] dH[n,h] dC[n,h]")
ATTENTION = "S = Q @ K.T / sqrt(Q.shape[1]); P = softmax(S); O = P @ V"
ATTENTION_SHAPES = "Q[n,d] K[m,d] V[m,e]"
BCE = "-sum(y * log(sigmoid(X @ w)) + (1 - y) * log(1 - sigmoid(X @ w)))"
BCE_SHAPES = "X[n,d] w[d] y[n]"
BN = ("mu = mean(X, axis=0); var = mean((X - mu) ** 2, axis=0); "
      "xhat = (X - mu) / sqrt(var + eps); gamma * xhat + beta")
BN_SHAPES = "X[m,d] gamma[d] beta[d] eps"

# page name -> (title, introduction, [(section title, einderiv command line)])
GALLERY: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "rnn-step": (
        "RNN step: all five gradients",
        "One step of a vanilla RNN, `a = tanh(Waa @ a_prev + Wax @ x + ba)`, with upstream "
        "gradient `da`. The classic question: why is `dWax = dz @ x.T` but `dx = Wax.T @ dz`, "
        "and what fixes the order of `dWaa` when `Waa` is square?",
        [
            (
                "the backward pass as a program",
                f'vjp "{RNN_PROGRAM}" --shapes "{RNN_SHAPES}" --wrt Waa --cotangent da '
                "--format program",
            ),
            *[
                (f"d{w}", f'explain "{RNN}" --shapes "{RNN_SHAPES}" --wrt {w} --cotangent da')
                for w in ("Waa", "Wax", "a_prev", "x", "ba")
            ],
        ],
    ),
    "bptt-3-steps": (
        "BPTT through 3 RNN steps: dz3, dz2, dz1",
        "The forum question: three steps of a vanilla RNN, `a_t = tanh(Waa @ a_{t-1} + "
        "Wax @ x_t + ba)`, with the loss on the last step (upstream gradient `da3` at `a3`). "
        "The readable form is the hand-written backward pass: one `dz_t` line per step, "
        "`dz2 = (1 - a2**2) * (Waa.T @ dz3)`, and `dWaa = dz1 @ a0.T + dz2 @ a1.T + dz3 @ a2.T`.",
        [
            *[
                (
                    f"d{w} as a program",
                    f'vjp "{BPTT3}" --shapes "{BPTT3_SHAPES}" --wrt {w} --cotangent da3 '
                    "--format program",
                )
                for w in ("Waa", "Wax", "ba", "a0")
            ],
            (
                "dWaa, derived",
                f'explain "{BPTT3}" --shapes "{BPTT3_SHAPES}" --wrt Waa --cotangent da3',
            ),
        ],
    ),
    "lstm-cell": (
        "LSTM cell: the gradients of its weights",
        "One LSTM cell on a minibatch (rows are examples; D2L 10.1, no peepholes), with upstream "
        "gradients `dH` and `dC` at the new hidden and cell states, written as the loss "
        "`L = sum(dH * H_new) + sum(dC * C_new)`. The programs read as the deltas of Greff et "
        "al. (2017): each gate's delta, then `X.T @ delta` or `H.T @ delta`.",
        [
            *[
                (f"d{w} as a program",
                 f'grad "{LSTM}" --shapes "{LSTM_SHAPES}" --wrt {w} --format program')
                for w in ("Wxi", "Wxf", "Wxo", "Wxc", "Whi", "bo")
            ],
            *[
                (f"d{w}, derived", f'explain "{LSTM}" --shapes "{LSTM_SHAPES}" --wrt {w}')
                for w in ("Wxo", "Wxi")
            ],
        ],
    ),
    "attention": (
        "Attention: softmax(Q K^T / sqrt(d)) V",
        "Scaled dot-product attention, `O = softmax(Q @ K.T / sqrt(d)) @ V` with the softmax "
        "over each row, backpropagated from an upstream gradient `dO`. The programs follow the "
        "standard attention backward of the FlashAttention paper (appendix B.2): `dP = dO @ "
        "V.T`, then the softmax's `dS = P * (dP - rowsum(P * dP))`, then `dQ = dS @ K / sqrt(d)`.",
        [
            *[
                (f"d{w} as a program",
                 f'vjp "{ATTENTION}" --shapes "{ATTENTION_SHAPES}" --wrt {w} --cotangent dO '
                 "--format program")
                for w in ("Q", "K", "V")
            ],
            *[
                (f"d{w}, derived",
                 f'explain "{ATTENTION}" --shapes "{ATTENTION_SHAPES}" --wrt {w} --cotangent dO')
                for w in ("Q", "V")
            ],
        ],
    ),
    "logistic-cross-entropy": (
        "Logistic regression as cross-entropy: X.T @ (s - y)",
        "The loss as courses write it, `-sum(y * log(sigmoid(X @ w)) + (1 - y) * log(1 - "
        "sigmoid(X @ w)))` with labels `y` in {0, 1}. Its gradient is `X.T @ (s - y)` and its "
        "Hessian `X.T @ np.diag(s * (1 - s)) @ X`, with `s = sigmoid(X @ w)` (PRML 4.3.2-4.3.3).",
        [
            ("the gradient as a program",
             f'grad "{BCE}" --shapes "{BCE_SHAPES}" --wrt w --format program'),
            ("the Hessian as a program",
             f'hessian "{BCE}" --shapes "{BCE_SHAPES}" --wrt w --format program'),
            ("the gradient, derived", f'explain "{BCE}" --shapes "{BCE_SHAPES}" --wrt w'),
            ("the Hessian, derived",
             f'hessian "{BCE}" --shapes "{BCE_SHAPES}" --wrt w --format markdown'),
        ],
    ),
    "batch-norm": (
        "Batch norm: the gradient in the input",
        "Batch normalization over the rows of `X` (m examples, d features; Ioffe & Szegedy "
        "2015): `mu` and `var` per feature, `xhat = (X - mu) / sqrt(var + eps)`, output "
        "`gamma * xhat + beta`, backpropagated from an upstream gradient `dout`.",
        [
            *[
                (f"d{w} as a program",
                 f'vjp "{BN}" --shapes "{BN_SHAPES}" --wrt {w} --cotangent dout '
                 "--format program")
                for w in ("X", "gamma", "beta")
            ],
            ("dX, derived",
             f'explain "{BN}" --shapes "{BN_SHAPES}" --wrt X --cotangent dout'),
        ],
    ),
    "affine-layer": (
        "Affine layer X @ W + b",
        "A dense layer on a batch: `X` is n×d (rows are examples), `W` is d×k, `b` is a bias "
        "broadcast over the rows.",
        [
            (f"d{w}", f'explain "X @ W + b" --shapes "X[n,d] W[d,k] b[k]" --wrt {w} --cotangent g')
            for w in ("W", "X", "b")
        ],
    ),
    "softmax-cross-entropy": (
        "Softmax cross-entropy",
        "The loss `-sum(y * log(softmax(z)))` of logits `z` against a target distribution `y`.",
        [
            (
                "gradient in the logits as a program",
                'grad "-sum(y * log(softmax(z)))" --shapes "z[c] y[c]" --wrt z --format program',
            ),
            (
                "gradient in the logits",
                'explain "-sum(y * log(softmax(z)))" --shapes "z[c] y[c]" --wrt z',
            ),
            (
                "gradient in the weights",
                'explain "-sum(y * log(softmax(W @ x)))" --shapes "W[c,d] x[d] y[c]" --wrt W',
            ),
        ],
    ),
    "jacobian-matvec": (
        "The Jacobian of W @ x is W",
        "For `f(x) = W @ x` the Jacobian is `W` itself; pulling a gradient back through `f` "
        "multiplies by its transpose, `W.T @ g`.",
        [
            ("the Jacobian", 'explain "W @ x" --shapes "W[n,m] x[m]" --wrt x'),
            ("the vjp", 'explain "W @ x" --shapes "W[n,m] x[m]" --wrt x --cotangent g'),
        ],
    ),
    "jacobian-matmul": (
        "The 4-D Jacobian of X @ W",
        "A matrix-by-matrix derivative is a 4-D tensor `F_abcd = ∂Y_ab/∂X_cd`; Kronecker deltas "
        "carry the structure.",
        [("∂(X @ W)/∂X", 'explain "X @ W" --shapes "X[p,q] W[q,r]" --wrt X')],
    ),
    "logistic-regression": (
        "Logistic regression: gradient and Hessian",
        "The loss `sum(softplus(-y * (X @ w)))` with labels `y` in {-1, +1}.",
        [
            (
                "the gradient as a program",
                'grad "sum(softplus(-y * (X @ w)))" --shapes "X[n,d] w[d] y[n]" --wrt w '
                "--format program",
            ),
            (
                "the Hessian as a program",
                'hessian "sum(softplus(-y * (X @ w)))" --shapes "X[n,d] w[d] y[n]" --wrt w '
                "--format program",
            ),
            (
                "gradient",
                'explain "sum(softplus(-y * (X @ w)))" --shapes "X[n,d] w[d] y[n]" --wrt w',
            ),
            (
                "Hessian",
                'hessian "sum(softplus(-y * (X @ w)))" --shapes "X[n,d] w[d] y[n]" --wrt w '
                "--format markdown",
            ),
        ],
    ),
    "logdet": (
        "log det",
        "The gradient of `logdet(X)` is `inv(X).T`; of a Gaussian log-likelihood term "
        "`logdet(X) - trace(inv(X) @ S)` too.",
        [
            ("∂ logdet(X)", 'explain "logdet(X)" --shapes "X[n,n]" --wrt X'),
            (
                "∂ (logdet(X) - trace(inv(X) @ S))",
                'explain "logdet(X) - trace(inv(X) @ S)" --shapes "X[n,n] S[n,n]" --wrt X',
            ),
            (
                "∂ (logdet(X) - trace(inv(X) @ S)) as a program",
                'grad "logdet(X) - trace(inv(X) @ S)" --shapes "X[n,n] S[n,n]" --wrt X '
                "--format program",
            ),
        ],
    ),
}


def is_derivation(command: str) -> bool:
    """Whether ``einderiv COMMAND`` writes a Markdown derivation (``explain``, ``markdown``)."""
    words = shlex.split(command)
    return words[0] == "explain" or "markdown" in words


def run_cli(command: str) -> str:
    """Output of ``einderiv COMMAND`` (run in-process through the CLI's ``main``)."""
    from einderiv.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(shlex.split(command))
    if code != 0:
        raise RuntimeError(f"einderiv {command} exited with {code}")
    return buffer.getvalue()


def _demote(markdown: str) -> str:
    """Shift headings down two levels so a derivation nests under a section."""
    lines = []
    for line in markdown.splitlines():
        if line.startswith("#"):
            line = "##" + line
        lines.append(line)
    return "\n".join(lines).rstrip() + "\n"


def render_page(name: str) -> str:
    """The Markdown of one gallery page."""
    title, intro, sections = GALLERY[name]
    parts = [
        f"# {title}",
        "",
        intro,
        "",
        "_Generated by `python docs/generate.py` from the commands shown; do not edit._",
        "",
    ]
    for section, command in sections:
        parts += [f"## {section}", "", "```bash", f"einderiv {command}", "```", ""]
        if is_derivation(command):
            parts.append(_demote(run_cli(command)))
        else:
            parts += _program_section(command)
    return "\n".join(parts).rstrip() + "\n"


def _program_section(command: str) -> list[str]:
    """The readable form a ``--format program`` command prints, then its LaTeX twin."""
    if "--format program" not in command:
        raise ValueError(f"a gallery command is explain, markdown or program: {command!r}")
    program = run_cli(command).rstrip("\n")
    payload = json.loads(run_cli(command.replace("--format program", "--format json")))
    return [
        "```python",
        program,
        "```",
        "",
        "The same lines in LaTeX (`e.to_latex(where=True)`, the `latex_where` field of "
        "`--format json`):",
        "",
        f"$${payload['latex_where']}$$",
        "",
    ]


def render_index() -> str:
    """The gallery's index page."""
    lines = [
        "# Gallery",
        "",
        "Derivations written by `einderiv explain`, and the readable form of each result "
        "(`einderiv ... --format program`: numpy lines with named intermediates, as a person "
        "writes a backward pass), regenerated by `python docs/generate.py` and checked by "
        "the tests.",
        "",
    ]
    for name, (title, intro, _) in GALLERY.items():
        lines.append(f"- [{title}]({name}.md): {intro.split('. ')[0].rstrip('.')}.")
    return "\n".join(lines) + "\n"


def render_all() -> dict[Path, str]:
    """Every generated page by path."""
    pages = {GALLERY_DIR / "index.md": render_index()}
    for name in GALLERY:
        pages[GALLERY_DIR / f"{name}.md"] = render_page(name)
    return pages


def main(argv: list[str]) -> int:
    """Write (or with ``--check``, compare) the gallery pages."""
    pages = render_all()
    if "--check" in argv:
        stale = [p for p, text in pages.items() if not p.exists() or p.read_text() != text]
        for path in stale:
            print(f"stale: {path.relative_to(HERE.parent)}")
        return 1 if stale else 0
    GALLERY_DIR.mkdir(exist_ok=True)
    for path, text in pages.items():
        path.write_text(text)
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
