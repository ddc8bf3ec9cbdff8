"""Seeded generators of hostile input for every entry point, as plain picklable data.

The texts reuse the seeds, tokens and alphabet of ``tests/text/test_text_fuzz.py`` (valid
expressions, token soups and their random edits) and the leaves and elementwise forms of
``tests/test_pipeline_fuzz.py``; :data:`HOSTILE` adds inputs chosen to break things:
deep nesting, long chains, overflowing constants, odd unicode, Python syntax outside the
subset, and canaries that would set :data:`CANARY_ENV` or write :data:`CANARY_FILE` if
any of the text were executed.  ``generate(entry, rng)`` returns the arguments of one
call of ``fuzz_worker.run``.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

from fuzz_worker import CANARY_ENV, CANARY_FILE

TESTS = Path(__file__).resolve().parents[1]


def _load(name: str):
    """A module of the test suite by file (the suite's tests are not a package)."""
    spec = importlib.util.spec_from_file_location(f"_fuzz_{Path(name).name}", TESTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


_text = _load("text/test_text_fuzz")
_pipeline = _load("test_pipeline_fuzz")

SHAPES: dict[str, str] = dict(_text.SHAPES)
SPEC = "W[n,m] x[m] b[n] y[n] A[n,n] S[n,n]:sym c ba[n,1] k[k] X[k,m]"
VALID: list[str] = list(_text.VALID)
TOKENS: list[str] = list(_text.TOKENS)
ALPHABET: str = _text.ALPHABET
UNARY: list[str] = list(_pipeline.UNARY)
NAMES = sorted(SHAPES)

CANARIES = [
    f"__import__('os').system('touch {CANARY_FILE}')",
    f"open('{CANARY_FILE}', 'w').write('1')",
    f"exec(\"import os; os.environ['{CANARY_ENV}'] = '1'\")",
    f"eval(\"__import__('os').environ.setdefault('{CANARY_ENV}', '1')\")",
    f"(lambda: __import__('os').environ.update({CANARY_ENV}='1'))()",
    f"x.tofile('{CANARY_FILE}')",
    f"np.save('{CANARY_FILE}', x)",
    f"np.lib.format.open_memmap('{CANARY_FILE}', mode='w+', shape=(1,))",
    f"__builtins__['open']('{CANARY_FILE}', 'w')",
    f"().__class__.__base__.__subclasses__()[0]('{CANARY_FILE}')",
    f"W @ x if open('{CANARY_FILE}', 'w') else x",
    f"[open('{CANARY_FILE}', 'w') for _ in x]",
    f"(x := open('{CANARY_FILE}', 'w'))",
    f"f'{{open(\"{CANARY_FILE}\", \"w\")}}'",
    f"np.einsum('ij,j->i', W, x, out=open('{CANARY_FILE}', 'w'))",
    f"sum(x, axis=open('{CANARY_FILE}', 'w'))",
    f"x.__class__('{CANARY_FILE}')",
    f"globals().update({CANARY_ENV}=1)",
    f"import os; os.system('touch {CANARY_FILE}')",
    f"x\nimport os\nos.environ['{CANARY_ENV}'] = '1'",
]

HOSTILE = [
    "", " ", "\n\n", ";", "#", "x #", "x;;", "(" * 200 + "x" + ")" * 200, "-" * 3000 + "x",
    "x" + " + x" * 2000, "tanh(" * 99 + "x" + ")" * 99, "tanh(" * 101 + "x" + ")" * 101,
    "x @ W.T @ W @ W.T" * 3, "1e308 * 1e308 * x", "x / 2**-1074", "x * 1e308 * 10",
    "x + 1e308 + 1e308", "x ** 1e400", "x ** 1e300", "10**10**10 * x", "9" * 5000 + " * x",
    "x ** -1e-320", "0 ** -1 * x", "x / 0", "x / (1 - 1)", "x\u202e + x", "x\x00", "x + \ud800",
    "ｘ + x", "x．T", "λ * x", "x\u200b", "x\t+\tx", "\ufeffx", "x ** (1/3) ** 2",
    "einsum('ij,j->i', W)", "einsum('ii->i', W)", "einsum('" + "a" * 60 + "', x)",
    "einsum('...,...->...', x, x)", "einsum('ij,jk', W, W)", "einsum(1, x)", "einsum(x)",
    "sum(x, axis=5)", "sum(x, axis=(0, 0))", "sum(W, axis=-3)", "softmax(x, axis=1.5)",
    "x.sum(axis=None, keepdims=True)", "transpose(W, (1, 1))", "W.transpose(2, 0)",
    "inv(W)", "det(x)", "logdet(c)", "trace(x)", "diag(A @ A @ x)", "norm(W, 2)",
    "outer(W, x)", "x.shape[7]", "W.shape[-1] * x", "np.ones(x.shape[0]) @ x",
    "np.linalg.slogdet(W)[1]", "x[:, None] @ x[None, :]", "x[0]", "x[1:2]", "x[...]",
    "x.T.T.T.T.T", "np.np.x", "np.linalg.np.tanh(x)", "scipy.special.expit(x)",
    "z = x\nz = z + 1\nz", "x = 1\nx", "z = 1; 2; z", "z += 1", "z = y = x", "x, y",
    "lambda: x", "yield x", "await x", "x if x else x", "x and y", "not x", "x < y", "~x",
    "x % 2", "x // 2", "x << 1", "x | y", "{x}", "[x]", "{'a': x}", "...", "None * x",
    "True * x", "1j * x", "b'x'", "'x'", "x.real", "x.__class__", "x.__dict__", "print(x)",
    "tanh()", "tanh(x, x)", "tanh(x=x)", "tanh(*x)", "tanh(**x)", "sum(x, keepdims=3)",
    *CANARIES,
]

HOSTILE_NAMES = [
    "", " ", "x", "W", "b", "g", "V", "import", "lambda", "def", "None", "True", "np", "jnp",
    "torch", "float", "exit", "sum", "f", "t0", "_e0", "__class__", "x y", "1x", "x-y",
    "λ", "g\x00", "a" * 500, *CANARIES[:4],
]

HOSTILE_SPECS = [
    "", " ", "W", "W[", "W[]", "W[n,]", "W[,n]", "W[n m]", "W[n,m] W[m,n]", "W[n,n]:sym",
    "x[n]:sym", "W[n,m]:foo", "x[1]", "x[0]", "x[-1]", "x[n,1,1,1]", "x[n] x[n]", "1x[n]",
    "import[n]", "lambda[n]", "x[import]", "x[exit]", "np[n]", "x[" + ",".join(
        f"d{i}" for i in range(70)) + "]", "x[" + ",".join(f"d{i}" for i in range(1000)) + "]",
    " ".join(f"s{i}[n]" for i in range(300)), "x[n];y[m]", "x[n]\ny[m]", "x[ｎ]", "x[n\x00]",
    *CANARIES[:3],
]


def mutate(text: str, rng: random.Random, edits: int | None = None) -> str:
    """A few random edits of ``text`` (delete, insert a token, replace, duplicate, reverse),
    as ``tests/text/test_text_fuzz.py``'s ``mutated`` strategy makes them."""
    for _ in range(edits if edits is not None else rng.randint(1, 4)):
        if not text:
            return rng.choice(TOKENS)
        i = rng.randrange(len(text))
        j = rng.randint(i, min(len(text), i + 8))
        kind = rng.choice(["delete", "insert", "replace", "duplicate", "swap"])
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + rng.choice(TOKENS) + text[i:]
        elif kind == "replace":
            text = text[:i] + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 3))) + \
                text[j:]
        elif kind == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + text[i:j][::-1] + text[j:]
    return text


def expression(rng: random.Random, depth: int = 3) -> str:
    """A random, mostly well-formed expression over :data:`SHAPES`' names."""
    if depth == 0 or rng.random() < 0.25:
        return rng.choice([*NAMES, "2", "0.5", "-1"])
    roll = rng.random()
    if roll < 0.35:
        op = rng.choice([" + ", " - ", " * ", " / ", " @ "])
        return f"({expression(rng, depth - 1)}{op}{expression(rng, depth - 1)})"
    if roll < 0.6:
        return rng.choice(UNARY).format(expression(rng, depth - 1))
    if roll < 0.8:
        fn = rng.choice(["sum", "mean", "tanh", "exp", "softmax", "logsumexp", "trace", "diag",
                         "sigmoid", "relu", "softplus", "log1p", "abs", "sqrt", "log", "inv"])
        kw = rng.choice(["", "", ", axis=0", ", axis=-1", ", keepdims=True"])
        return f"{fn}({expression(rng, depth - 1)}{kw})"
    return f"({expression(rng, depth - 1)}){rng.choice(['.T', '.sum()', '.sum(axis=0)'])}"


LEAVES: dict[tuple[str, ...], list[str]] = {
    (): ["c"], ("n",): ["b", "y"], ("m",): ["x"], ("k",): ["k"], ("n", "n"): ["A", "S"],
    ("n", "m"): ["W"], ("k", "m"): ["X"], ("n", "1"): ["ba"],
}
_SAME = ["tanh({})", "sigmoid({})", "softplus({})", "sin({})", "({}) ** 2", "-({})",
         "exp(0.5 * tanh({}))", "log(1 + ({0}) * ({0}))", "sqrt(1 + ({0}) * ({0}))",
         "({}) / (2 + sin({}))", "1.5 * ({})", "relu({})", "abs({})"]


def typed(rng: random.Random, dims: tuple[str, ...], depth: int = 3) -> str:
    """A well-typed expression of ``dims`` over :data:`SHAPES` (the grammar of
    ``tests/test_pipeline_fuzz.py``, smaller), so that derivatives and verify get far."""
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(LEAVES.get(dims, ["c"])) if dims in LEAVES else f"0 * ({_any(rng)})"

    def sub(d=dims):
        return typed(rng, d, depth - 1)

    options = ["same", "add", "mul"]
    options += {
        (): ["sum", "trace", "dot", "quad", "lse", "logdet", "frob"],
        ("n",): ["matvec", "rowsum", "diag", "softmax", "einsum"],
        ("m",): ["vecmat", "colsum"],
        ("n", "m"): ["matmul", "outer", "bias", "keep"],
        ("n", "n"): ["gram", "inv", "diagm", "transpose"],
        ("n", "1"): ["keepsum"],
    }.get(dims, [])
    op = rng.choice(options)
    if op == "same":
        form = rng.choice(_SAME)
        return form.format(sub(), sub()) if form.count("{}") == 2 else form.format(sub())
    if op == "add":
        return f"{sub()} {rng.choice(['+', '-'])} ({sub()})"
    if op == "mul":
        return f"({sub()}) * ({sub()})"
    if op == "sum":
        return f"{rng.choice(['sum', 'mean'])}({sub(rng.choice(list(LEAVES)))})"
    if op == "trace":
        return f"trace({sub(('n', 'n'))})"
    if op == "dot":
        return f"({sub(('n',))}) @ ({sub(('n',))})"
    if op == "quad":
        return f"({sub(('n',))}) @ ({sub(('n', 'n'))}) @ ({sub(('n',))})"
    if op == "lse":
        return f"logsumexp({sub(('n', 'm'))})"
    if op == "logdet":
        return f"logdet(A @ A.T + diag(1 + ({sub(('n',))}) ** 2))"
    if op == "frob":
        return f"einsum('ij,ij->', {sub(('n', 'm'))}, {sub(('n', 'm'))})"
    if op == "matvec":
        return rng.choice([f"({sub(('n', 'n'))}) @ ({sub(('n',))})",
                           f"({sub(('n', 'm'))}) @ ({sub(('m',))})"])
    if op == "rowsum":
        return f"sum({sub(('n', 'm'))}, axis=1)"
    if op == "diag":
        return f"diag({sub(('n', 'n'))})"
    if op == "softmax":
        return f"softmax({sub()})"
    if op == "einsum":
        return f"einsum('ij,j->i', {sub(('n', 'm'))}, {sub(('m',))})"
    if op == "vecmat":
        return f"({sub(('n',))}) @ ({sub(('n', 'm'))})"
    if op == "colsum":
        return f"({sub(('n', 'm'))}).sum(axis=0)"
    if op == "matmul":
        return f"({sub(('n', 'n'))}) @ ({sub(('n', 'm'))})"
    if op == "outer":
        return f"outer({sub(('n',))}, {sub(('m',))})"
    if op == "bias":
        return f"({sub()}) + ba"
    if op == "keep":
        return f"({sub()}) - mean({sub()}, axis=1, keepdims=True)"
    if op == "gram":
        return f"({sub(('n', 'm'))}) @ ({sub(('n', 'm'))}).T"
    if op == "inv":
        return f"inv(A @ A.T + diag(1 + ({sub(('n',))}) ** 2))"
    if op == "diagm":
        return f"diag({sub(('n',))})"
    if op == "transpose":
        return f"({sub()}).T"
    return f"sum({sub(('n', 'm'))}, axis=1, keepdims=True)"  # keepsum


def _any(rng: random.Random) -> str:
    return rng.choice(NAMES)


def typed_any(rng: random.Random) -> str:
    """A well-typed expression of random dims."""
    return typed(rng, rng.choice([(), (), ("n",), ("m",), ("n", "m"), ("n", "n"), ("n", "1")]),
                 rng.randint(1, 3))


def text(rng: random.Random) -> str:
    """Text for ``parse``: valid seeds, their edits, token soups, grammar, hostile."""
    roll = rng.random()
    if roll < 0.15:
        return rng.choice(HOSTILE)
    if roll < 0.3:
        return rng.choice(VALID)
    if roll < 0.55:
        return mutate(rng.choice(VALID), rng)
    if roll < 0.7:
        return "".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 25)))
    if roll < 0.75:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60)))
    return expression(rng)


def valid_text(rng: random.Random) -> str:
    """Text that usually parses: a seed, a well-typed or a loosely generated expression."""
    roll = rng.random()
    return rng.choice(VALID) if roll < 0.2 else typed_any(rng) if roll < 0.85 else expression(rng)


def wrt(rng: random.Random, text: str) -> object:
    """A wrt argument: mostly a symbol the text uses, else any name."""
    used = [n for n in NAMES if n in text]
    return rng.choice(used) if used and rng.random() < 0.8 else name(rng)


def name(rng: random.Random) -> object:
    """A name argument (wrt, cotangent, tangent): symbols, hostile names, other types."""
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(NAMES)
    if roll < 0.9:
        return rng.choice(HOSTILE_NAMES)
    return rng.choice([None, 3, 1.5, ["x"], {"x": 1}, b"x", ("x",)])


def values(rng: random.Random) -> dict:
    """Values for ``evaluate``: right shapes, wrong shapes, and things that are not arrays."""
    import numpy as np

    sizes = {"n": 3, "m": 4, "k": 5, "1": 1}
    out: dict = {}
    for sym, dims in SHAPES.items():
        if rng.random() < 0.1:
            continue  # missing
        dims_list = [d for d in dims.replace(":sym", "").split()]
        shape = [sizes[d] for d in dims_list]
        roll = rng.random()
        if roll < 0.7:
            value = np.random.default_rng(rng.randrange(2**32)).normal(size=shape)
            if ":sym" in dims:
                value = (value + value.T) / 2
        elif roll < 0.8:
            value = np.ones([rng.randint(0, 6) for _ in range(rng.randint(0, 3))])
        else:
            value = rng.choice([None, "x", [1, [2, 3]], [[1, 2], [3]], np.array(["a"]),
                                np.full(shape, np.nan), np.zeros(shape, dtype=complex),
                                np.zeros(shape, dtype=bool), 10**400, 1.5, {"a": 1},
                                np.zeros(shape, dtype=np.float32), np.array(object())])
        out[sym] = value
    if rng.random() < 0.1:
        out[rng.choice(HOSTILE_NAMES)] = 1.0
    return out


def generate(entry: str, rng: random.Random) -> dict:
    """The arguments of one call of ``entry`` (see ``fuzz_worker.run``)."""
    if entry == "symbols":
        spec = rng.choice(HOSTILE_SPECS) if rng.random() < 0.4 else mutate(SPEC, rng)
        return {"spec": spec}
    if entry == "parse":
        shapes = SHAPES if rng.random() < 0.8 else rng.choice(
            [SPEC, mutate(SPEC, rng), rng.choice(HOSTILE_SPECS), {"x": 3}, {3: "n"}, ["x"]])
        kw = {} if rng.random() < 0.9 else {"result": rng.choice(["z", "x", 3, "nope"])}
        return {"text": text(rng), "shapes": shapes, "kw": kw}
    if entry == "render":
        return {"text": valid_text(rng), "shapes": SHAPES}
    if entry == "einsum":
        letters = "ijkab.,->" + "".join(rng.choice("xyz1 ") for _ in range(2))
        subscripts = "".join(rng.choice(letters) for _ in range(rng.randint(0, 12)))
        if rng.random() < 0.3:
            subscripts = rng.choice(["ij,j->i", "ii", "ij->ji", "...i,i", "ij,jk", "i,i->",
                                     "a" * 60, "ij,j->ii", "ij,j->k", "", "->"])
        operands = [rng.choice(["W[n,m]", "x[m]", "A[n,n]", "c", "v[m]", "T[n,m,k]"])
                    for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.5:  # subscripts that fit the operands' ranks, dims or not
            ranks = [0 if spec == "c" else spec.count(",") + 1 for spec in operands]
            parts = ["".join(rng.choice("ijk") for _ in range(r)) for r in ranks]
            used = sorted(set("".join(parts)))
            out = "".join(rng.sample(used, rng.randint(0, len(used)))) if used else ""
            subscripts = ",".join(parts) + (f"->{out}" if rng.random() < 0.7 else "")
        return {"subscripts": subscripts, "operands": operands}
    if entry in ("diff", "grad", "vjp", "jvp", "hessian"):
        source = valid_text(rng)
        args = {"text": source, "shapes": SHAPES, "wrt": wrt(rng, source)}
        if entry in ("vjp", "jvp"):
            args["other"] = rng.choice(["g", "V"]) if rng.random() < 0.6 else name(rng)
        return args
    if entry in ("evaluate", "compile"):
        kw: dict = {}
        if rng.random() < 0.1:
            key = rng.choice(["sizes", "backend"]) if entry == "evaluate" else "backend"
            kw[key] = rng.choice([{"n": 3}, {3: 3}, "n=2", ["n"], {"n": -1}, {"n": 2.5},
                                  {"n": "3"}, None] if key == "sizes" else
                                 ["numpy", ["jax"], 3, "nope", None, "NUMPY"])
        return {"text": valid_text(rng), "shapes": SHAPES, "values": values(rng), "kw": kw}
    if entry == "verify":
        source = valid_text(rng)
        claim = None  # the worker renders the true derivative and edits it
        if rng.random() < 0.3:
            claim = rng.choice([mutate(rng.choice(VALID), rng), valid_text(rng),
                                rng.choice(HOSTILE), "g", "W.T @ g", "dz @ x.T", "2 * x"])
        where = None
        if rng.random() < 0.3:
            where = {rng.choice(["dz", "u", "x", "g", "import", "a b", 3]): rng.choice(
                [valid_text(rng), rng.choice(HOSTILE), 3, None, "dz"]) for _ in range(2)}
        cot = rng.choice([None, "g", "g", name(rng)])
        return {"claim": claim, "edit": rng.randrange(10**6) if rng.random() < 0.8 else None,
                "text": source, "shapes": SHAPES, "wrt": wrt(rng, source), "cotangent": cot,
                "where": where}
    if entry == "explain":
        kind = rng.choice([None, None, "grad", "vjp", "diff", "hessian", "jvp", 3])
        kw = {"kind": kind}
        if rng.random() < 0.3:
            kw["text"] = rng.choice(["W @ x", 3, "", "λ"])
        source = valid_text(rng)
        return {"text": source, "shapes": SHAPES, "wrt": wrt(rng, source),
                "cotangent": rng.choice([None, "g", name(rng)]), "kw": kw}
    if entry == "codegen":
        derive = None
        source = valid_text(rng)
        roll = rng.random()
        if roll < 0.3:
            derive = ("vjp", wrt(rng, source), rng.choice(["g", "g", name(rng)]))
        elif roll < 0.5:
            derive = ("jvp", wrt(rng, source), rng.choice(["V", "V", name(rng)]))
        elif roll < 0.6:
            derive = ("grad", wrt(rng, source))
        kw = {"name": rng.choice(["f", "grad_W", *HOSTILE_NAMES, 3, None])
              if rng.random() < 0.5 else "f",
              "module": rng.choice(["np", "numpy", "jax.numpy", "torch", "jnp", ["np"], 3,
                                    "nope"]) if rng.random() < 0.3 else "np"}
        return {"text": source, "shapes": SHAPES, "derive": derive, "kw": kw}
    if entry == "cli":
        command = rng.choice(["diff", "grad", "vjp", "jvp", "hessian", "verify", "explain",
                              "bogus", ""])
        argv = [command] if command else []
        if command == "verify":
            argv.append(rng.choice(["W.T @ g", "g", mutate("W.T @ g", rng), *CANARIES[:2]]))
        source = valid_text(rng) if rng.random() < 0.8 else text(rng)
        argv.append(source)
        argv += ["--shapes", SPEC if rng.random() < 0.8 else rng.choice(HOSTILE_SPECS)]
        chosen = wrt(rng, source)
        argv += ["--wrt", chosen if isinstance(chosen, str) else "x"]
        if rng.random() < 0.4 and command in ("vjp", "verify", "explain"):
            argv += ["--cotangent", rng.choice(["g", "import", "x", "np", *CANARIES[:1]])]
        if rng.random() < 0.3:
            argv += ["--format", rng.choice(["numpy", "latex", "index", "einsum", "json",
                                             "markdown", "text", "bogus"])]
        if rng.random() < 0.2 and command == "verify":
            argv += ["--where", rng.choice(["dz=g", "dz", "=g", "dz=" + CANARIES[0], "x=g"])]
        if rng.random() < 0.1:
            argv.append(rng.choice(["--help", "--no-color", "--bogus", "-"]))
        return {"argv": argv}
    raise ValueError(entry)


ENTRIES = ["symbols", "parse", "render", "einsum", "diff", "grad", "vjp", "jvp", "hessian",
           "evaluate", "compile", "verify", "explain", "codegen", "cli"]
