"""Mutation testing of the security- and money-critical modules: do their tests notice a one-token change?

    .venv/bin/python bench/mutation.py                       # every module in MODULES, one after the other
    .venv/bin/python bench/mutation.py smarketing.core.csvsafe --show survived
    .venv/bin/python bench/mutation.py --list smarketing.webhooks.signing   # the mutants, without running

For each module in MODULES, the script makes one mutant at a time (a comparison flipped, `and` for `or`, `+`
for `-`, a constant nudged, a `not` removed, a condition negated, a return value replaced by None, a string
emptied) and runs that module's own tests against it with `pytest -x`, in a fresh process, bounded by a
timeout. A mutant is *killed* when a test fails, *timeout* when the run overran (counted as killed: the change
was noticed), *survived* when every test still passed: a change the tests cannot see.

The worktree is never edited: each run is a fork of this process, which has imported pytest and its plugins
once, and whose import hook compiles the mutated source in place of the module. Runs are sequential on purpose
(a shared machine); each one still costs Django's start-up, so a module with many mutants takes minutes.
Linux or macOS only (os.fork).

Mutants judged equivalent (no behaviour can tell them apart) are listed in EQUIVALENT with a reason; they are
reported but left out of the score. A mutant is named by its function, the change and its rank among the same
change in that function, so the names survive edits elsewhere in the file.

To cover a new critical module, add a line to MODULES: the dotted module and the test files that guard it.
"""

import argparse
import ast
import importlib.abc
import importlib.util
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (module, the test files that guard it). Later: the sender, token signing, segment compiler, booking, attribution.
MODULES: list[tuple[str, list[str]]] = [
    (
        "smarketing.webhooks.targets",
        ["smarketing/webhooks/tests/test_targets.py", "smarketing/webhooks/tests/test_targets_mutants.py"],
    ),
    (
        "smarketing.webhooks.signing",
        ["smarketing/webhooks/tests/test_signing.py"],
    ),
    (
        "smarketing.api.tokens",
        ["smarketing/api/tests/test_tokens.py", "smarketing/api/tests/test_permissions.py"],
    ),
    (
        "smarketing.dataio.values",
        ["smarketing/dataio/tests/test_values.py", "smarketing/dataio/tests/test_values_mutants.py"],
    ),
    (
        "smarketing.core.csvsafe",
        ["smarketing/core/tests/test_csvsafe.py", "smarketing/crm/tests/test_normalize.py"],
    ),
    # The content library's hostile edges (issue 12): what an upload may be, and what a share link may reach.
    (
        "smarketing.content.files",
        ["smarketing/content/tests/test_files_store.py", "smarketing/content/tests/test_files_upload.py"],
    ),
    ("smarketing.content.sharing", ["smarketing/content/tests/test_sharing.py"]),
]

# Mutants no test can kill because the program behaves the same: (module, mutant name) -> why.
T, S, V = "smarketing.webhooks.targets", "smarketing.webhooks.signing", "smarketing.dataio.values"
EQUIVALENT: dict[tuple[str, str], str] = {
    (T, "address_problem: returns None #11"): "unreachable on Python 3.11 ('not a public address', see below)",
    (T, "address_problem: 'not a public address' -> '' #1"): (
        "unreachable on Python 3.11: is_global is `not is_private` (and not 100.64/10), both refused above; "
        "kept for Pythons whose is_global is stricter"
    ),
    (T, "parse_ip_literal: `and` -> `or` #1"): "inet_aton refuses a trailing dot itself, so trying it changes nothing",
    (T, "split_url: '' -> 'XX' #1"): "`(url or '')`: None and 'XX' both fail as 'Only http://'",
    (T, "resolve_host: `1` -> `2` #1"): "split('%', 2)[0] is split('%', 1)[0]",
    (S, "verify: '' -> 'XX' #1"): "`(header or '')`: a missing header and 'XX' both match no signature",
    (V, "parse_datetime: 'mdy' -> '' #1"): "only order == 'dmy' is tested, so '' means month first like 'mdy'",
    (V, "parse_date: 'mdy' -> '' #1"): "the same default, passed on to parse_datetime",
    (V, "date_order_evidence: '/' -> '' #1"): "a shortcut: the regular expression that follows gives the same None",
    (V, "date_order_evidence: '-' -> '' #1"): "the same shortcut",
    (V, "date_order_evidence: `and` -> `or` #2"): "reached only when both parts are <= 12 or both > 12",
    (V, "date_order_evidence: `12` -> `13` #3"): "reached only when both parts are <= 12 or both > 12",
    (V, "date_order_evidence: `12` -> `13` #4"): "reached only when both parts are <= 12 or both > 12",
    (V, "<module>: '^' -> '' #1"): "re.match anchors at the start already",
    (V, "_time_parts: 'hour out of range' -> '' #1"): "parse_datetime replaces the message with its own",
    (V, "parse_decimal: `>` -> `>=` #1"): "rfind(',') and rfind('.') are never equal when both are present",
    (V, "<module>: `1024` -> `1025` #1"): "an lru_cache size: speed only",
    (V, "<module>: `1024` -> `0` #1"): "an lru_cache size: speed only",
    (V, "<module>: `1024` -> `1025` #2"): "an lru_cache size: speed only",
    (V, "<module>: `1024` -> `0` #2"): "an lru_cache size: speed only",
    **{
        (V, f"<module>: {word!r} -> '' #1"): (
            "today the same key also comes from the choice's value or label; listed so HubSpot's internal "
            "value survives a relabel"
        )
        for word in [
            "marketingqualifiedle",
            "salesqualifiedlead",
            "mql",
            "sql",
            "subscriber",
            "attemptedtocontact",
            "inprogress",
            "opendeal",
            "badtiming",
        ]
    },
}


# ---------------------------------------------------------------------------------------------------------
# The import hook, installed in the forked test process only


class _MutantLoader(importlib.abc.Loader):
    def __init__(self, source: str, origin: str):
        self.source, self.origin = source, origin

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__file__ = self.origin
        exec(compile(self.source, self.origin, "exec"), module.__dict__)  # noqa: S102 (the mutant under test)


class _MutantFinder(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, source: str):
        self.name, self.source = name, source

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        origin = str(ROOT / (fullname.replace(".", "/") + ".py"))
        return importlib.util.spec_from_loader(fullname, _MutantLoader(self.source, origin), origin=origin)


# ---------------------------------------------------------------------------------------------------------
# Making mutants

COMPARE_SWAPS = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
BINOP_SWAPS = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.Mult,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.RShift: ast.LShift,
    ast.LShift: ast.RShift,
}
SYMBOL = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.RShift: ">>",
    ast.LShift: "<<",
    ast.And: "and",
    ast.Or: "or",
}


@dataclass
class Mutant:
    name: str  # function: change #rank
    line: int
    site: int  # index of the site in the walk order, to re-create it


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Docstrings, annotations, f-string pieces and the `__all__`-like plumbing that no behaviour depends on."""
    skipped = _docstring_nodes(tree)
    for node in ast.walk(tree):
        annotations = []
        if isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        elif isinstance(node, ast.arg) and node.annotation:
            annotations.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            annotations.append(node.returns)
        elif isinstance(node, ast.JoinedStr):
            annotations.extend(node.values)
        for annotation in annotations:
            skipped.update(id(n) for n in ast.walk(annotation))
    return skipped


def _sites(tree: ast.AST, no_mutate: set[int]):
    """Yield (node, field, description, replacement-maker) for every mutation site, in a stable order."""
    skipped = _skipped_nodes(tree)
    for node in ast.walk(tree):
        if id(node) in skipped or getattr(node, "lineno", None) in no_mutate:
            continue
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                new = COMPARE_SWAPS.get(type(op))
                if new:
                    yield node, ("ops", i, new), f"`{SYMBOL[type(op)]}` -> `{SYMBOL[new]}`"
        elif isinstance(node, ast.BoolOp):
            new = ast.Or if isinstance(node.op, ast.And) else ast.And
            yield node, ("op", None, new), f"`{SYMBOL[type(node.op)]}` -> `{SYMBOL[new]}`"
        elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
            new = BINOP_SWAPS[type(node.op)]
            yield node, ("op", None, new), f"`{SYMBOL[type(node.op)]}` -> `{SYMBOL[new]}`"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, ("unwrap", None, None), "`not` removed"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield node, ("unwrap", None, None), "unary `-` removed"
        elif isinstance(node, ast.Constant) and not isinstance(node.value, bytes):
            value = node.value
            if isinstance(value, bool):
                yield node, ("value", None, not value), f"`{value}` -> `{not value}`"
            elif isinstance(value, int):
                yield node, ("value", None, value + 1), f"`{value}` -> `{value + 1}`"
                if value != 0:
                    yield node, ("value", None, 0), f"`{value}` -> `0`"
            elif isinstance(value, float):
                yield node, ("value", None, value + 1), f"`{value}` -> `{value + 1}`"
            elif isinstance(value, str):
                new = "" if value else "XX"
                yield node, ("value", None, new), f"{value[:20]!r} -> {new!r}"
        elif isinstance(node, ast.If | ast.While | ast.IfExp):
            yield node, ("negate", None, None), "condition negated"
        elif isinstance(node, ast.Return) and node.value is not None:
            # `return False` -> `return None` changes nothing a caller testing the truth of the result can see.
            if not (isinstance(node.value, ast.Constant) and node.value.value in (None, False)):
                yield node, ("return_none", None, None), "returns None"


def _apply(node, change) -> None:
    field, index, new = change
    if field == "ops":
        node.ops[index] = new()
    elif field == "op":
        node.op = new()
    elif field == "value":
        node.value = new
    elif field == "negate":
        node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
    elif field == "return_none":
        node.value = ast.Constant(value=None)


class _Unwrap(ast.NodeTransformer):
    """Replace one UnaryOp by its operand (`not x` -> `x`, `-x` -> `x`)."""

    def __init__(self, target):
        self.target = target

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        return node.operand if node is self.target else node


def _functions_by_line(tree: ast.AST) -> dict[int, str]:
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                # Inner definitions come later in the walk and win, so a line belongs to its innermost function.
                names[line] = node.name
    return names


def _no_mutate_lines(source: str) -> set[int]:
    return {n for n, line in enumerate(source.splitlines(), start=1) if "pragma: no mutate" in line}


def mutants_of(source: str) -> list[Mutant]:
    tree = ast.parse(source)
    where = _functions_by_line(tree)
    seen: dict[str, int] = {}
    out = []
    for site, (node, _change, description) in enumerate(_sites(tree, _no_mutate_lines(source))):
        base = f"{where.get(node.lineno, '<module>')}: {description}"
        seen[base] = seen.get(base, 0) + 1
        out.append(Mutant(f"{base} #{seen[base]}", node.lineno, site))
    return out


def mutated_source(source: str, mutant: Mutant) -> str:
    tree = ast.parse(source)
    for site, (node, change, _description) in enumerate(_sites(tree, _no_mutate_lines(source))):
        if site == mutant.site:
            if change[0] == "unwrap":
                tree = _Unwrap(node).visit(tree)
            else:
                _apply(node, change)
            break
    return ast.unparse(ast.fix_missing_locations(tree))


# ---------------------------------------------------------------------------------------------------------
# Running


def preload() -> None:
    """Import pytest and its plugins (hypothesis, schemathesis, playwright...) once, before forking.

    They take seconds to import and every mutant's test run would pay for them again. Nothing of smarketing
    is imported here: each forked run must import the module under test (and Django's apps) afresh.
    """
    import importlib.metadata

    import pytest  # noqa: F401

    for entry in importlib.metadata.entry_points(group="pytest11"):
        try:
            entry.load()
        except Exception:  # noqa: S112 (a plugin that cannot load here will fail the same way in the run)
            continue
    assert not any(name.startswith("smarketing") for name in sys.modules), "preloading imported smarketing"


def run_tests(module: str, tests: list[str], source: str, timeout: float) -> tuple[str, float]:
    """'passed', 'failed' or 'timeout' for the tests run against `source` as `module`, and the seconds taken.

    The run is a fork of this process (plugins already imported) that installs the import hook and calls
    pytest.main; the worktree's file is never touched.
    """
    args = ["-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-W", "ignore", "--no-header", *tests]
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: quiet, hooked, then pytest
        code = 3
        try:
            os.setsid()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.chdir(ROOT)
            os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
            sys.meta_path.insert(0, _MutantFinder(module, source))
            import pytest

            code = int(pytest.main(args))
        finally:
            os._exit(code)
    deadline = start + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return ("passed" if code == 0 else "failed"), time.monotonic() - start
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)  # the whole group: pytest and anything it started
            os.waitpid(pid, 0)
            return "timeout", time.monotonic() - start
        time.sleep(0.05)


def module_source(module: str) -> str:
    return (ROOT / (module.replace(".", "/") + ".py")).read_text()


def mutate_module(module: str, tests: list[str], *, show: set[str], log, match: str | None = None) -> dict:
    missing = [test for test in tests if not (ROOT / test).exists()]
    if missing:
        raise SystemExit(f"{module}: test files not found: {', '.join(missing)}")
    source = module_source(module)
    mutants = [m for m in mutants_of(source) if match is None or match in m.name]
    # The baseline runs the unparsed (but unmutated) source, so a failure here is the tool's, not a mutant's.
    outcome, baseline = run_tests(module, tests, ast.unparse(ast.parse(source)), timeout=600)
    if outcome != "passed":
        raise SystemExit(f"{module}: its tests fail without any mutant ({outcome}); fix them first")
    timeout = max(20.0, baseline * 3)
    counts = {"killed": 0, "timeout": 0, "survived": 0, "equivalent": 0}
    survivors = []
    for number, mutant in enumerate(mutants, start=1):
        outcome, seconds = run_tests(module, tests, mutated_source(source, mutant), timeout)
        status = {"failed": "killed", "timeout": "timeout", "passed": "survived"}[outcome]
        if status == "survived" and (module, mutant.name) in EQUIVALENT:
            status = "equivalent"
        counts[status] += 1
        if status == "survived":
            survivors.append({"line": mutant.line, "mutant": mutant.name})
        if status in show or "all" in show:
            log(f"  [{number}/{len(mutants)}] {status:<10} line {mutant.line:>4}  {mutant.name}  ({seconds:.1f}s)")
    noticed = counts["killed"] + counts["timeout"]
    scored = noticed + counts["survived"]
    return {
        "module": module,
        **counts,
        "mutants": len(mutants),
        "score": round(100 * noticed / scored, 1) if scored else 100.0,
        "baseline_s": round(baseline, 1),
        "survivors": survivors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="dotted modules from MODULES (default: all of them)")
    parser.add_argument("--show", default="survived", help="statuses to print per mutant: survived,killed,all")
    parser.add_argument("--list", action="store_true", help="list the mutants without running the tests")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--match", help="only the mutants whose name contains this text (to re-check survivors)")
    args = parser.parse_args()
    known = dict(MODULES)
    chosen = args.modules or list(known)
    unknown = [m for m in chosen if m not in known]
    if unknown:
        raise SystemExit(f"not in MODULES: {', '.join(unknown)}")
    if args.list:
        for module in chosen:
            for mutant in mutants_of(module_source(module)):
                print(f"{module}  line {mutant.line:>4}  {mutant.name}")
        return
    show = set(args.show.split(","))
    preload()
    results = []
    for module in chosen:
        print(f"{module} ({', '.join(known[module])})", flush=True)
        log = lambda line: print(line, flush=True)  # noqa: E731
        result = mutate_module(module, known[module], show=show, log=log, match=args.match)
        results.append(result)
        print(
            f"  {result['mutants']} mutants: {result['killed']} killed, {result['timeout']} timeout, "
            f"{result['survived']} survived, {result['equivalent']} equivalent -> {result['score']} %",
            flush=True,
        )
    noticed = sum(r["killed"] + r["timeout"] for r in results)
    scored = noticed + sum(r["survived"] for r in results)
    total = {
        "mutants": sum(r["mutants"] for r in results),
        "equivalent": sum(r["equivalent"] for r in results),
        "score": round(100 * noticed / scored, 1) if scored else 100.0,
    }
    print(f"overall: {noticed}/{scored} non-equivalent mutants noticed = {total['score']} %")
    if args.json:
        args.json.write_text(json.dumps({"modules": results, "total": total}, indent=2) + "\n")


if __name__ == "__main__":
    main()
