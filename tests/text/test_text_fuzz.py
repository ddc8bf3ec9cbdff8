"""Fuzzing ed.parse: random strings, random token soups and random mutations of valid
expressions either parse or raise an EinderivError -- never another exception, and never
the parser's "internal error" safety net."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import einderiv as ed
from einderiv.errors import EinderivError

SHAPES = {
    "W": "n m", "x": "m", "b": "n", "y": "n", "A": "n n", "S": "n n:sym", "c": "",
    "ba": "n 1", "k": "k", "X": "k m",
}

VALID = [
    "tanh(W @ x + b)",
    "x @ W.T @ A @ W @ x",
    "sum(log(1 + exp(-y * (W @ x))))",
    "logdet(S) - trace(inv(S) @ A)",
    "einsum('ij,j->i', W, x)",
    "np.einsum('ij,ik->jk', W, W)",
    "softmax(W, axis=0) * W",
    "logsumexp(W, axis=1, keepdims=True) + ba",
    "W.sum(axis=0, keepdims=True).T",
    "np.linalg.inv(A) @ y / c ** 2",
    "z = W @ x + b\na = tanh(z)\nL = sum(a * y)",
    "h = tanh(A @ y); h = sigmoid(A @ h + b); mean(h)",
    "outer(y, x) - diag(y) @ W + det(A) * norm(W)",
    "W.transpose(1, 0) @ (A + A.T) @ y",
    "sqrt(abs(x)) ** -1.5 + relu(x) - softplus(x) * sin(x) + cos(x) + square(x)",
]

ALPHABET = "Wxbyc AS_kX0123456789.+-*/@()[],=:;'\"\n\t#eijTnp_sumtanhlogdetrv!<>%&|^~{}\\`?$"

TOKENS = [
    "W", "x", "b", "y", "A", "S", "c", "ba", "k", "X", "z", "np.", "np.linalg.", ".T",
    ".sum(", ".mean(", ".transpose(", "tanh(", "exp(", "log(", "sum(", "mean(", "trace(",
    "diag(", "outer(", "norm(", "softmax(", "logsumexp(", "inv(", "det(", "logdet(",
    "einsum(", "'ij,j->i'", "'ii'", "'i,i'", "axis=", "keepdims=", "True", "None",
    "0", "1", "-1", "2", "0.5", "1e308", "(", ")", ",", " + ", " - ", " * ", " / ", " ** ",
    " @ ", "-", "=", "\n", ";", " ", "[", "]", "lambda", ":", "(0, 1)", "(1,)", "z = ",
    "L = ", "+= ", "#",
]


def _check(text: str) -> None:
    try:
        ed.parse(text, shapes=SHAPES)
    except EinderivError as err:
        assert "internal error" not in str(err), str(err)


def fuzz(examples: int) -> settings:
    """Settings for one fuzz test; the examples of all tests add up to 3,000."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@fuzz(600)
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_random_strings_over_expression_alphabet(text):
    _check(text)


@fuzz(300)
@given(st.text(max_size=40))
def test_random_unicode_strings(text):
    _check(text)


@fuzz(600)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_random_token_soups(text):
    _check(text)


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "swap"]))
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        j = draw(st.integers(i, min(len(text), i + 8)))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        elif kind == "replace":
            text = text[:i] + draw(st.text(alphabet=ALPHABET, max_size=3)) + text[j:]
        elif kind == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + text[i:j][::-1] + text[j:]
    return text


@fuzz(1000)
@given(mutated())
def test_mutations_of_valid_expressions(text):
    _check(text)


LEAVES = ["W", "x", "b", "y", "A", "S", "c", "ba", "k", "X", "2", "0.5", "-1", "0"]
UNARY = ["tanh", "exp", "log", "log1p", "sigmoid", "sqrt", "abs", "relu", "softplus", "sin",
         "cos", "square", "sum", "mean", "trace", "diag", "transpose", "norm", "softmax",
         "logsumexp", "inv", "det", "logdet", "np.linalg.inv", "np.sum", "arctan", "erf",
         "var", "std", "log_softmax", "np.arcsinh"]
SUFFIX = [".T", ".sum()", ".sum(axis=0)", ".sum(axis=-1, keepdims=True)", ".mean(axis=1)",
          ".transpose()", ".transpose(1, 0)"]
KWARGS = ["", ", axis=0", ", axis=1", ", axis=-1", ", axis=(0, 1)", ", keepdims=True",
          ", axis=0, keepdims=True", ", axis=2"]


def _grammar(children):
    return st.one_of(
        st.tuples(children, st.sampled_from([" + ", " - ", " * ", " / ", " @ "]), children).map(
            lambda t: f"({t[0]}{t[1]}{t[2]})"
        ),
        st.tuples(st.sampled_from(UNARY), children, st.sampled_from(KWARGS)).map(
            lambda t: f"{t[0]}({t[1]}{t[2]})"
        ),
        st.tuples(children, st.sampled_from(SUFFIX)).map(lambda t: f"({t[0]}){t[1]}"),
        st.tuples(children, st.sampled_from(["2", "-1", "0.5", "-1.5", "0"])).map(
            lambda t: f"{t[0]} ** {t[1]}"
        ),
        st.tuples(st.sampled_from(["outer", "maximum", "minimum", "logaddexp", "solve"]),
                  children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(
            st.sampled_from(["'ij,j->i'", "'ij,jk->ik'", "'ii'", "'i,i'", "'ij->ji'", "'ij'",
                             "'...ij,...jk'", "'i...->...'", "'...'"]),
            st.lists(children, min_size=1, max_size=2),
        ).map(lambda t: f"einsum({t[0]}, {', '.join(t[1])})"),
    )


@fuzz(500)
@given(st.recursive(st.sampled_from(LEAVES), _grammar, max_leaves=8))
def test_random_well_formed_expressions(text):
    _check(text)


def test_valid_seeds_parse():
    for text in VALID:
        ed.parse(text, shapes=SHAPES)
