"""Where the store's SQL casts an array literal (server.store.array_literals): only as an argument of
`unnest(...)` in a FROM or USING clause, which PostgreSQL evaluates once a statement. Anywhere else the cast
runs at every row the statement reads. The statements are read as the modules hold them (module constants,
their templates filled in), every module of server.store; a cast written inside a function fails too."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import server.store

# `$3::text::text[]`, `$4::text::bigint[]`, and SQLAlchemy text()'s `CAST(CAST(:ids AS text) AS text[])`.
LITERAL_CAST = re.compile(r"\$\d+::text::\w+\[\]|CAST\(CAST\(:\w+ AS text\) AS \w+\[\]\)")
UNNEST_IN_FROM = re.compile(r"\b(?:FROM|USING)\s+unnest\(")


def _spans_of_unnest_calls(source: str) -> list[tuple[int, int]]:
    """The argument spans of every `FROM unnest(` / `USING unnest(` call (its parentheses matched)."""
    spans = []
    for found in UNNEST_IN_FROM.finditer(source):
        depth, position = 1, found.end()
        while depth and position < len(source):
            depth += {"(": 1, ")": -1}.get(source[position], 0)
            position += 1
        spans.append((found.end(), position))
    return spans


def _misplaced(source: str) -> list[str]:
    spans = _spans_of_unnest_calls(source)
    return [f"line {source.count(chr(10), 0, cast.start()) + 1}: {cast.group()}"
            for cast in LITERAL_CAST.finditer(source)
            if not any(start <= cast.start() < end for start, end in spans)]


def _statements() -> dict[str, str]:
    """Every module-level text of server.store's modules (and text() clauses' texts), by qualified name."""
    found = {}
    for module_info in pkgutil.walk_packages(server.store.__path__, "server.store."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            text = value if isinstance(value, str) else getattr(value, "text", None)
            if not name.startswith("__") and isinstance(text, str):
                found[f"{module_info.name}.{name}"] = text
    return found


def test_every_literal_cast_of_the_store_is_an_argument_of_unnest_in_from() -> None:
    statements = _statements()
    assert any(LITERAL_CAST.search(text) for text in statements.values())  # the check reads the statements
    misplaced = {name: found for name, text in statements.items() if (found := _misplaced(text))}
    assert misplaced == {}


def _casts_inside_functions(source: str) -> list[str]:
    """The literal casts written in a function's body, which the module-level check cannot read."""
    found = []
    for function in ast.walk(ast.parse(source)):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                        cast := LITERAL_CAST.search(node.value)):
                    found.append(f"line {node.lineno}: {cast.group()}")
    return found


def test_no_literal_cast_is_written_inside_a_function() -> None:
    """Statements that cast a literal stay module constants, so that the test above reads them all."""
    root = Path(server.store.__path__[0])
    inside = {str(path.relative_to(root)): found for path in sorted(root.rglob("*.py"))
              if (found := _casts_inside_functions(path.read_text()))}
    assert inside == {}


def test_the_function_check_finds_a_cast_in_a_function() -> None:
    assert _casts_inside_functions("async def f(c):\n    await c.execute('SELECT 1 WHERE a = ANY($2::text::text[])')\n"
                                   ) == ["line 2: $2::text::text[]"]
    assert _casts_inside_functions("S = 'SELECT a FROM unnest($2::text::text[]) AS t(a)'\n") == []


def test_the_check_finds_a_cast_in_a_filter_or_a_select_list() -> None:
    assert _misplaced("SELECT a FROM t WHERE a = ANY($2::text::text[])") == ["line 1: $2::text::text[]"]
    assert _misplaced("SELECT ($5::text::text[])[t.kind]\nFROM unnest($2::text::int[]) AS t(kind)") == [
        "line 1: $5::text::text[]"]
    assert _misplaced("SELECT k FROM unnest(CAST(CAST(:ids AS text) AS text[])) AS k") == []
    assert _misplaced("SELECT t.a FROM unnest($2::text::text[],\n  $3::date[], $4::text::bigint[]) AS t(a, d, b)"
                      ) == []
    assert _misplaced("DELETE FROM f USING unnest($10::text::text[]) AS x(id) WHERE f.id = x.id") == []
