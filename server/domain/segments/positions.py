"""Where things are in an expression's text, and what lark expected there in words: shared by the
segment parser and the trigger condition parser (server.domain.triggers.parser), whose grammar extends
the segments' one."""

from __future__ import annotations

from collections.abc import Mapping

from lark import Token, Tree

from server.domain.segments.expression import Span

# What the parser expected, in words (lark names the terminals): the segment grammar's terminals.
SEGMENT_WORDS: Mapping[str, str] = {
    "NAME": "an attribute", "NUMBER": "a number", "STRING": "a quoted string", "TRUE": "true",
    "FALSE": "false", "DATE": "DATE '…'", "COMPARATOR": "a comparison (= != < <= > >=)", "NOT": "NOT",
    "_OR": "OR", "_AND": "AND", "_IN": "IN", "_BETWEEN": "BETWEEN", "_IS": "IS", "_SET": "SET",
    "_HOLDS": "holds(…)", "_LPAR": "'('", "_RPAR": "')'", "_COMMA": "','", "$END": "the end",
}


def span_at(text: str, offset: int, end: int | None = None) -> Span:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Span(offset, offset if end is None else end, line, column)


def token_span(token: Token) -> Span:
    return Span(token.start_pos or 0, token.end_pos or 0, token.line or 1, token.column or 1)


def tree_span(tree: Tree[Token]) -> Span:
    meta = tree.meta
    return Span(meta.start_pos, meta.end_pos, meta.line, meta.column)


def expected_in_words(names: set[str], words: Mapping[str, str]) -> str:
    """`a, b or c` for the terminals lark expected."""
    found = sorted({words.get(name, name) for name in names})
    return " or ".join(found) if len(found) <= 2 else ", ".join(found[:-1]) + " or " + found[-1]
