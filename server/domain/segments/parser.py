"""Parsing a segment expression into the typed AST, checked against the attribute catalogue.

The grammar (docs/segments.md) is parsed by lark's LALR parser; the parse tree is then walked once into
the typed nodes of expression.py, checking every name, type and literal on the way. Nothing is ever
evaluated as Python. The first problem found is raised as InvalidArgument(SEGMENT_EXPRESSION_INVALID)
with its position and a stable `problem` code in the metadata."""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import functools
import re
from decimal import Decimal, InvalidOperation

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.reasons import Reason
from server.domain.segments.attributes import (
    INT_MAX,
    INT_MIN,
    AttributeCatalogue,
    AttributeDefinition,
    AttributeType,
    AttributeValue,
    decimal_fits,
)
from server.domain.segments.expression import (
    And,
    Between,
    Comparator,
    Comparison,
    Expression,
    Holds,
    InSet,
    IsSet,
    Not,
    Or,
    Span,
)
from server.domain.segments.positions import SEGMENT_WORDS, expected_in_words, span_at, token_span, tree_span

MAX_LENGTH = 10_000  # characters
MAX_DEPTH = 32  # NOT, AND and OR nested in one another
MAX_IN_VALUES = 1_000
_ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

GRAMMAR = r"""
start: expr
?expr: and_expr (_OR and_expr)*            -> or_
?and_expr: not_expr (_AND not_expr)*       -> and_
?not_expr: NOT not_expr                    -> not_
         | _LPAR expr _RPAR
         | condition
condition: NAME COMPARATOR literal                                  -> compare
         | NAME NOT? _IN _LPAR literal (_COMMA literal)* _RPAR      -> in_
         | NAME NOT? _BETWEEN literal _AND literal                  -> between
         | NAME _IS NOT? _SET                                       -> is_set
         | _HOLDS _LPAR STRING _RPAR                                -> holds
         | NAME                                                     -> bare
literal: NUMBER | STRING | TRUE | FALSE | DATE STRING

_OR: "or"i
_AND: "and"i
NOT: "not"i
_IN: "in"i
_BETWEEN: "between"i
_IS: "is"i
_SET: "set"i
_HOLDS: "holds"i
TRUE: "true"i
FALSE: "false"i
DATE: "date"i
NAME: /[A-Za-z][A-Za-z0-9_]*/
NUMBER: /-?[0-9]+(\.[0-9]+)?/
STRING: /'(?:[^']|'')*'/ | /"(?:[^"]|"")*"/
COMPARATOR: "!=" | "<=" | ">=" | "=" | "<" | ">"
_LPAR: "("
_RPAR: ")"
_COMMA: ","
%ignore /\s+/
"""


@functools.cache
def _parser() -> Lark:
    # Built on first use, not at import: compiling the grammar takes a tenth of a second.
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=False)


class Problem(enum.StrEnum):
    """Why an expression was refused: `ErrorInfo.metadata["problem"]`, stable for clients."""

    SYNTAX = "SYNTAX"
    TOO_LONG = "TOO_LONG"
    TOO_DEEP = "TOO_DEEP"
    UNKNOWN_ATTRIBUTE = "UNKNOWN_ATTRIBUTE"
    UNKNOWN_HOLDING = "UNKNOWN_HOLDING"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    OPERATOR_NOT_ALLOWED = "OPERATOR_NOT_ALLOWED"
    VALUE_NOT_ALLOWED = "VALUE_NOT_ALLOWED"
    VALUE_OUT_OF_RANGE = "VALUE_OUT_OF_RANGE"
    EMPTY_RANGE = "EMPTY_RANGE"
    TOO_MANY_VALUES = "TOO_MANY_VALUES"


def expression_error(problem: Problem, message: str, span: Span, field: str) -> InvalidArgument:
    where = f"line {span.line}, column {span.column}"
    return InvalidArgument(
        Reason.SEGMENT_EXPRESSION_INVALID, f"{where}: {message}",
        violations=[FieldViolation(field, f"{where}: {message}")],
        metadata={"problem": problem.value, "line": str(span.line), "column": str(span.column),
                  "offset": str(span.offset)})


def parse_expression(text: str, catalogue: AttributeCatalogue, *, field: str = "expression") -> Expression:
    """The typed AST of `text`, or InvalidArgument(SEGMENT_EXPRESSION_INVALID) naming `field`."""
    if len(text) > MAX_LENGTH:
        raise expression_error(Problem.TOO_LONG, f"the expression is over {MAX_LENGTH} characters",
                               span_at(text, MAX_LENGTH), field)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error, field) from None
    return _Builder(text, catalogue, field).build(tree.children[0], 0)


def _syntax_error(text: str, error: UnexpectedInput, field: str) -> InvalidArgument:
    if isinstance(error, UnexpectedCharacters):
        offset = error.pos_in_stream or 0
        return expression_error(Problem.SYNTAX, f"unexpected character {text[offset]!r}", span_at(text, offset), field)
    names = error.expected if isinstance(error, UnexpectedToken | UnexpectedEOF) else ()
    expected = expected_in_words({str(name) for name in names}, SEGMENT_WORDS)
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        token = error.token
        return expression_error(Problem.SYNTAX, f"unexpected {str(token)!r}; expected {expected}",
                                span_at(text, token.start_pos or 0, token.end_pos), field)
    return expression_error(Problem.SYNTAX, f"the expression ends early; expected {expected}",
                            span_at(text, len(text)), field)


class _Builder:
    def __init__(self, text: str, catalogue: AttributeCatalogue, field: str) -> None:
        self.text = text
        self.catalogue = catalogue
        self.field = field

    def fail(self, problem: Problem, message: str, span: Span) -> InvalidArgument:
        return expression_error(problem, message, span, self.field)

    def build(self, node: Tree[Token] | Token, depth: int) -> Expression:
        # Parentheses around a lone group or condition give chains of one-child nodes (an alias keeps lark
        # from inlining them): unwrapped in a loop, as thousands can be nested within MAX_LENGTH. The walk
        # recurses only through AND, OR and NOT, which the depth bounds; AND and OR chains are flat.
        while isinstance(node, Tree) and node.data in ("or_", "and_") and len(node.children) == 1:
            node = node.children[0]
        if isinstance(node, Token):  # a lone NAME reduced without its rule cannot happen: `bare` keeps it
            raise self.fail(Problem.SYNTAX, f"unexpected {str(node)!r}", token_span(node))
        span = tree_span(node)
        if node.data in ("or_", "and_", "not_") and depth >= MAX_DEPTH:
            raise self.fail(Problem.TOO_DEEP, f"groups and NOTs are nested more than {MAX_DEPTH} deep", span)
        match node.data:
            case "or_":
                return Or(tuple(self.build(child, depth + 1) for child in node.children), span)
            case "and_":
                return And(tuple(self.build(child, depth + 1) for child in node.children), span)
            case "not_":
                return Not(self.build(node.children[1], depth + 1), span)
        return self.condition(node, span)

    def attribute(self, token: Token) -> AttributeDefinition:
        definition = self.catalogue.get(str(token))
        if definition is None:
            close = difflib.get_close_matches(str(token), list(self.catalogue.attributes), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise self.fail(Problem.UNKNOWN_ATTRIBUTE, f"unknown attribute {str(token)!r}{hint}", token_span(token))
        return definition

    def condition(self, node: Tree[Token], span: Span) -> Expression:
        children = node.children
        tokens = [c for c in children if isinstance(c, Token)]
        literals = [c for c in children if isinstance(c, Tree)]
        negated = any(t.type == "NOT" for t in tokens)
        match node.data:
            case "holds":
                kind = _unquote(str(tokens[0]))
                if kind not in self.catalogue.holdings:
                    known = ", ".join(sorted(self.catalogue.holdings))
                    raise self.fail(Problem.UNKNOWN_HOLDING, f"unknown holding {kind!r} (one of {known})",
                                    token_span(tokens[0]))
                return Holds(kind, span)
            case "bare":
                definition = self.attribute(tokens[0])
                if definition.type is not AttributeType.BOOL:
                    raise self.fail(Problem.TYPE_MISMATCH, f"{definition.name} is {definition.type}: only a BOOL "
                                    "attribute stands alone as a condition", span)
                return Comparison(definition, Comparator.EQ, True, span)
            case "is_set":
                return IsSet(self.attribute(tokens[0]), negated, span)
        definition = self.attribute(tokens[0])
        match node.data:
            case "compare":
                comparator = Comparator(str(tokens[1]))
                if comparator.ordering and not definition.type.ordered:
                    raise self.fail(Problem.OPERATOR_NOT_ALLOWED, f"{definition.name} is {definition.type}: "
                                    f"{comparator.value} applies to INT, DECIMAL and DATE only", token_span(tokens[1]))
                return Comparison(definition, comparator, self.literal(definition, literals[0]), span)
            case "in_":
                if len(literals) > MAX_IN_VALUES:
                    raise self.fail(Problem.TOO_MANY_VALUES, f"IN lists at most {MAX_IN_VALUES} values", span)
                return InSet(definition, tuple(self.literal(definition, lit) for lit in literals), negated, span)
        # between
        if not definition.type.ordered:
            raise self.fail(Problem.OPERATOR_NOT_ALLOWED, f"{definition.name} is {definition.type}: "
                            "BETWEEN applies to INT, DECIMAL and DATE only", span)
        low, high = (self.literal(definition, lit) for lit in literals)
        if _greater(low, high):
            raise self.fail(Problem.EMPTY_RANGE, "BETWEEN's low bound is above its high bound", tree_span(literals[0]))
        return Between(definition, low, high, negated, span)

    def literal(self, definition: AttributeDefinition, node: Tree[Token]) -> AttributeValue:
        """The literal as a value of the attribute's type, or TYPE_MISMATCH / VALUE_* at the literal."""
        tokens = [c for c in node.children if isinstance(c, Token)]
        span = tree_span(node)
        kind, text = tokens[0].type, str(tokens[-1])
        expected = definition.type
        given = {"NUMBER": "DECIMAL" if "." in text else "INT", "STRING": "STRING", "TRUE": "BOOL",
                 "FALSE": "BOOL", "DATE": "DATE"}[kind]
        written = self.text[span.offset:span.end]
        mismatch = self.fail(Problem.TYPE_MISMATCH, f"{definition.name} is {expected}, and {written} is "
                             f"{'an' if given == 'INT' else 'a'} {given}", span)
        match expected:
            case AttributeType.BOOL:
                if kind not in ("TRUE", "FALSE"):
                    raise mismatch
                return kind == "TRUE"
            case AttributeType.INT:
                if given != "INT":
                    raise mismatch
                # The length first: int() refuses text of over 4,300 digits with a ValueError of its own.
                if len(text.lstrip("-")) > 19 or not INT_MIN <= int(text) <= INT_MAX:
                    raise self.fail(Problem.VALUE_OUT_OF_RANGE, f"{text} is outside a 64-bit INT", span)
                return int(text)
            case AttributeType.DECIMAL:
                if kind != "NUMBER":
                    raise mismatch
                try:
                    value = Decimal(text)
                except InvalidOperation:  # the pattern admits only digits; kept for safety
                    raise mismatch from None
                if not decimal_fits(value):
                    raise self.fail(Problem.VALUE_OUT_OF_RANGE, f"{text} has more than 4 decimal places or is "
                                    "too large for a DECIMAL", span)
                return value
            case AttributeType.STRING | AttributeType.ENUM:
                if kind != "STRING":
                    raise mismatch
                string = _unquote(text)
                if expected is AttributeType.ENUM and string not in definition.values:
                    raise self.fail(Problem.VALUE_NOT_ALLOWED, f"{string!r} is not a value of {definition.name} "
                                    f"({', '.join(definition.values)})", span)
                return string
            case AttributeType.DATE:
                if kind != "DATE":
                    hint = " (write DATE 'YYYY-MM-DD')" if kind == "STRING" else ""
                    raise self.fail(Problem.TYPE_MISMATCH, f"{definition.name} is DATE, and {written} is "
                                    f"{'an' if given == 'INT' else 'a'} {given}{hint}", span)
                day = _unquote(text)
                try:
                    # fromisoformat alone also takes 20240131 and week dates: only YYYY-MM-DD is the language's.
                    if not _ISO_DAY.match(day):
                        raise ValueError(day)
                    return dt.date.fromisoformat(day)
                except ValueError:
                    raise self.fail(Problem.VALUE_OUT_OF_RANGE, f"{text} is not a date YYYY-MM-DD", span) from None
        raise mismatch


def _unquote(text: str) -> str:
    quote = text[0]
    return text[1:-1].replace(quote * 2, quote)


def _greater(low: AttributeValue, high: AttributeValue) -> bool:
    if isinstance(low, int | Decimal) and isinstance(high, int | Decimal):
        return low > high
    if isinstance(low, dt.date) and isinstance(high, dt.date):
        return low > high
    return False
