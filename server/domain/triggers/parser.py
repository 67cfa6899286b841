"""Parsing a trigger condition into the typed AST of condition.py.

The grammar is the segment grammar (server/domain/segments/parser.py) with the metric conditions added
as further forms of its `condition` rule, so AND, OR, NOT, parentheses and every segment condition read
exactly as in a persona's expression. The metric words are keywords; a segment condition's text is handed
to the segment parser, blanked around so that every position it reports is one in the whole condition.
The first problem found is raised as InvalidArgument(TRIGGER_CONDITION_INVALID) with its position and a
stable `problem` code in the metadata. Reference: docs/triggers.md#conditions."""

from __future__ import annotations

import difflib
import enum
import functools
import re
from decimal import Decimal

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.ingest.model import Direction
from server.domain.reasons import Reason
from server.domain.segments.attributes import AttributeCatalogue, decimal_fits
from server.domain.segments.expression import Comparator, Span
from server.domain.segments.parser import GRAMMAR as SEGMENT_GRAMMAR
from server.domain.segments.parser import parse_expression
from server.domain.segments.positions import SEGMENT_WORDS, expected_in_words, span_at, token_span, tree_span
from server.domain.triggers.condition import (
    MAX_FOR_MONTHS,
    MAX_WINDOW_DAYS,
    AllOf,
    AnyOf,
    ChangeCompare,
    Condition,
    Metric,
    MetricCompare,
    MetricName,
    Negation,
    PostingCompare,
    RelativeTo,
    SegmentLeaf,
    Window,
    WindowKind,
)

MAX_LENGTH = 4_000  # characters
MAX_DEPTH = 16  # NOT, AND and OR nested in one another
MAX_LEAVES = 32

# The words of the language beyond the segment grammar's; an attribute of one of these names cannot be
# named in a condition (the segment grammar reserves and, or, not, in, between, is, set, true, false,
# date, holds already).
METRIC_WORDS = tuple(name.value for name in MetricName)
RESERVED_WORDS = frozenset({*METRIC_WORDS, "overdraft", "change", "deposit", "withdrawal", "average_transaction",
                            "of", "for", "months", "month", "last_month"})

# The metric conditions, as further forms of the segment grammar's `condition`. A NAME followed by a
# window is read too, to be refused as an unknown metric rather than as a syntax error; FOR is read after
# every metric condition, to be refused where it does not belong.
GRAMMAR = SEGMENT_GRAMMAR + r"""
%extend condition: metric COMPARATOR amount for_months?                              -> metric_compare
                 | OVERDRAFT                                                         -> overdraft
                 | _CHANGE _LPAR change_of _COMMA window _RPAR COMPARATOR amount for_months? -> change_compare
                 | posting COMPARATOR amount (_OF relative)? for_months?             -> posting_compare
metric: metric_word (_LPAR window _RPAR)?
      | NAME _LPAR window _RPAR
?change_of: metric | NAME
?metric_word: BALANCE | AVAILABLE_BALANCE | AVERAGE_COLLECTED_BALANCE | MIN_BALANCE | OVERDRAFT_COUNT
?posting: DEPOSIT | WITHDRAWAL
?relative: BALANCE | AVERAGE_TRANSACTION
window: WINDOW | MONTH | LAST_MONTH
amount: NUMBER PERCENT?
for_months: FOR NUMBER (MONTHS | MONTH)

BALANCE: "balance"i
AVAILABLE_BALANCE: "available_balance"i
AVERAGE_COLLECTED_BALANCE: "average_collected_balance"i
MIN_BALANCE: "min_balance"i
OVERDRAFT_COUNT: "overdraft_count"i
OVERDRAFT: "overdraft"i
_CHANGE: "change"i
DEPOSIT: "deposit"i
WITHDRAWAL: "withdrawal"i
AVERAGE_TRANSACTION: "average_transaction"i
_OF: "of"i
FOR: "for"i
MONTHS: "months"i
MONTH: "month"i
LAST_MONTH: "last_month"i
WINDOW: /[A-Za-z0-9_.]+/
PERCENT: "%"
"""
_SEGMENT_LEAVES = frozenset({"compare", "in_", "between", "is_set", "holds", "bare"})
_DAYS_WINDOW = re.compile(r"^([0-9]{1,6})d$", re.IGNORECASE)
_AFTER_OVERDRAFT = re.compile(r"(?<![A-Za-z0-9_])overdraft\s*$", re.IGNORECASE)


@functools.cache
def _parser() -> Lark:
    # Built on first use, not at import: compiling the grammar takes a tenth of a second.
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=False)


_A_WINDOW = "a window (Nd, month or last_month)"
# What the parser expected, in words: the segment grammar's terminals and the metrics'.
_EXPECTED_WORDS = {
    **SEGMENT_WORDS,
    "BALANCE": "balance", "AVAILABLE_BALANCE": "a metric", "AVERAGE_COLLECTED_BALANCE": "a metric",
    "MIN_BALANCE": "a metric", "OVERDRAFT_COUNT": "a metric", "OVERDRAFT": "overdraft", "_CHANGE": "change(…)",
    "DEPOSIT": "deposit", "WITHDRAWAL": "withdrawal", "AVERAGE_TRANSACTION": "average_transaction", "_OF": "OF",
    "FOR": "FOR", "MONTHS": "MONTHS", "MONTH": _A_WINDOW, "LAST_MONTH": _A_WINDOW, "WINDOW": _A_WINDOW,
    "PERCENT": "'%'",
}


class Problem(enum.StrEnum):
    """Why a condition was refused: `ErrorInfo.metadata["problem"]`, stable for clients. A segment
    condition's own problems (UNKNOWN_ATTRIBUTE, TYPE_MISMATCH, ... of docs/segments.md) pass through."""

    SYNTAX = "SYNTAX"
    UNKNOWN_METRIC = "UNKNOWN_METRIC"
    BAD_WINDOW = "BAD_WINDOW"
    BAD_AMOUNT = "BAD_AMOUNT"
    BAD_PERCENT = "BAD_PERCENT"
    FOR_NEEDS_LAST_MONTH = "FOR_NEEDS_LAST_MONTH"
    TOO_LONG = "TOO_LONG"
    TOO_DEEP = "TOO_DEEP"
    TOO_MANY_LEAVES = "TOO_MANY_LEAVES"


def condition_error(problem: str, message: str, span: Span, field: str) -> InvalidArgument:
    where = f"line {span.line}, column {span.column}"
    return InvalidArgument(
        Reason.TRIGGER_CONDITION_INVALID, f"{where}: {message}",
        violations=[FieldViolation(field, f"{where}: {message}")],
        metadata={"problem": str(problem), "line": str(span.line), "column": str(span.column),
                  "offset": str(span.offset)})


def parse_condition(text: str, catalogue: AttributeCatalogue, *, field: str = "condition") -> Condition:
    """The typed AST of `text`, or InvalidArgument(TRIGGER_CONDITION_INVALID) naming `field`."""
    if len(text) > MAX_LENGTH:
        raise condition_error(Problem.TOO_LONG, f"the condition is over {MAX_LENGTH} characters",
                              span_at(text, MAX_LENGTH), field)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error, field) from None
    return _Builder(text, catalogue, field).build(tree.children[0], 0)


def _syntax_error(text: str, error: UnexpectedInput, field: str) -> InvalidArgument:
    if isinstance(error, UnexpectedCharacters):
        offset = error.pos_in_stream or 0
        return condition_error(Problem.SYNTAX, f"unexpected character {text[offset]!r}", span_at(text, offset), field)
    names = error.expected if isinstance(error, UnexpectedToken | UnexpectedEOF) else ()
    expected = expected_in_words({str(name) for name in names}, _EXPECTED_WORDS)
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        token = error.token
        start = token.start_pos or 0
        # `overdraft < -100` reads naturally, but overdraft is a whole condition: say what to write instead.
        hint = (" (overdraft alone means balance < 0: compare balance instead)"
                if _AFTER_OVERDRAFT.search(text, 0, start) else "")
        return condition_error(Problem.SYNTAX, f"unexpected {str(token)!r}; expected {expected}{hint}",
                               span_at(text, start, token.end_pos), field)
    return condition_error(Problem.SYNTAX, f"the condition ends early; expected {expected}",
                           span_at(text, len(text)), field)


def _span(node: Tree[Token] | Token) -> Span:
    return token_span(node) if isinstance(node, Token) else tree_span(node)


def _trees(node: Tree[Token], data: str) -> list[Tree[Token]]:
    return [c for c in node.children if isinstance(c, Tree) and c.data == data]


class _Builder:
    def __init__(self, text: str, catalogue: AttributeCatalogue, field: str) -> None:
        self.text = text
        self.catalogue = catalogue
        self.field = field
        self.leaf_count = 0

    def fail(self, problem: Problem, message: str, span: Span) -> InvalidArgument:
        return condition_error(problem, message, span, self.field)

    def build(self, node: Tree[Token] | Token, depth: int) -> Condition:
        # Parentheses around a lone group or leaf give chains of one-child nodes (an alias keeps lark from
        # inlining them): unwrapped in a loop, as thousands can be nested. The walk recurses only through
        # AND, OR and NOT, which the depth bounds.
        while isinstance(node, Tree) and node.data in ("or_", "and_") and len(node.children) == 1:
            node = node.children[0]
        if isinstance(node, Token):  # a lone NAME reduced without its rule cannot happen: `bare` keeps it
            raise self.fail(Problem.SYNTAX, f"unexpected {str(node)!r}", token_span(node))
        span = tree_span(node)
        if node.data in ("or_", "and_", "not_") and depth >= MAX_DEPTH:
            raise self.fail(Problem.TOO_DEEP, f"groups and NOTs are nested more than {MAX_DEPTH} deep", span)
        match node.data:
            case "or_":
                return AnyOf(tuple(self.build(child, depth + 1) for child in node.children), span)
            case "and_":
                return AllOf(tuple(self.build(child, depth + 1) for child in node.children), span)
            case "not_":
                return Negation(self.build(node.children[1], depth + 1), span)
        self.leaf_count += 1
        if self.leaf_count > MAX_LEAVES:
            raise self.fail(Problem.TOO_MANY_LEAVES, f"the condition has more than {MAX_LEAVES} conditions "
                            "joined by AND and OR", span)
        match node.data:
            case "metric_compare":
                return self.metric_compare(node, span)
            case "overdraft":
                return MetricCompare(Metric(MetricName.BALANCE), Comparator.LT, Decimal(0), span=span)
            case "change_compare":
                return self.change_compare(node, span)
            case "posting_compare":
                return self.posting_compare(node, span)
        return self.segment_leaf(node, span)

    def segment_leaf(self, node: Tree[Token], span: Span) -> SegmentLeaf:
        """The segment parser's reading of the leaf's own text, with everything before it blanked (line
        breaks kept) so that its spans and error positions are positions in the whole condition."""
        assert node.data in _SEGMENT_LEAVES, node.data
        names = [c for c in node.children if isinstance(c, Token) and c.type == "NAME"]
        if names and str(names[0]).lower() in RESERVED_WORDS:
            raise self.fail(Problem.SYNTAX, f"{str(names[0])!r} is a word of the trigger condition language, "
                            "not an attribute", token_span(names[0]))
        blanked = re.sub(r"[^\n]", " ", self.text[:span.offset]) + self.text[span.offset:span.end]
        try:
            expression = parse_expression(blanked, self.catalogue, field=self.field)
        except InvalidArgument as error:
            raise InvalidArgument(Reason.TRIGGER_CONDITION_INVALID, error.message, violations=error.violations,
                                  metadata=error.metadata) from None
        return SegmentLeaf(expression, span)

    def metric_compare(self, node: Tree[Token], span: Span) -> MetricCompare:
        metric = self.metric(node.children[0])
        comparator = Comparator(str(node.children[1]))
        amount_node = node.children[2]
        assert isinstance(amount_node, Tree)
        amount, percent = self.amount(amount_node)
        if percent:
            raise self.fail(Problem.BAD_PERCENT, f"{metric} compares with an amount, not a percent",
                            tree_span(amount_node))
        if metric.name is MetricName.OVERDRAFT_COUNT and (amount < 0 or amount != amount.to_integral_value()):
            raise self.fail(Problem.BAD_AMOUNT, f"{metric} counts days: compare it with a whole number "
                            "0 or more", tree_span(amount_node))
        months = 0
        for clause in _trees(node, "for_months"):
            if metric.window is None or metric.window.kind is not WindowKind.LAST_MONTH:
                example = f"{metric.name.value}(last_month)" if metric.window else "min_balance(last_month)"
                raise self.fail(Problem.FOR_NEEDS_LAST_MONTH, f"FOR … MONTHS needs a metric over last_month, "
                                f"as in {example}, not {metric}", tree_span(clause))
            months = self.months(clause)
        return MetricCompare(metric, comparator, amount, months, span)

    def change_compare(self, node: Tree[Token], span: Span) -> ChangeCompare:
        of, window, comparator, amount_node = node.children[:4]
        if isinstance(of, Token):  # a NAME
            raise self.fail(Problem.UNKNOWN_METRIC, f"change() reads balance or average_collected_balance(…), "
                            f"not {str(of)!r}", token_span(of))
        metric = self.metric(of)
        if metric.name not in (MetricName.BALANCE, MetricName.AVERAGE_COLLECTED_BALANCE):
            raise self.fail(Problem.UNKNOWN_METRIC, f"change() reads balance or average_collected_balance(…), "
                            f"not {metric}", tree_span(of))
        assert isinstance(window, Tree) and isinstance(amount_node, Tree)
        self.reject_for(node, f"change({metric}, …)")
        amount, percent = self.amount(amount_node)
        return ChangeCompare(metric, self.window(window), Comparator(str(comparator)), amount, percent, span)

    def posting_compare(self, node: Tree[Token], span: Span) -> PostingCompare:
        word, comparator, amount_node = node.children[:3]
        assert isinstance(word, Token) and isinstance(amount_node, Tree)
        direction = Direction.CREDIT if word.type == "DEPOSIT" else Direction.DEBIT
        self.reject_for(node, str(word).lower())
        amount, percent = self.amount(amount_node)
        relative = [c for c in node.children[3:] if isinstance(c, Token)]
        relative_to = None
        if relative:
            relative_to = RelativeTo.BALANCE if relative[0].type == "BALANCE" else RelativeTo.AVERAGE_TRANSACTION
            if not percent:
                raise self.fail(Problem.BAD_PERCENT, f"write the share as a percent: {word} {comparator} "
                                f"{amount_node.children[0]}% OF {str(relative[0]).lower()}", tree_span(amount_node))
        elif percent:
            raise self.fail(Problem.BAD_PERCENT, f"a percent of what? write {word} {comparator} "
                            f"{amount_node.children[0]}% OF balance (or OF average_transaction)",
                            tree_span(amount_node))
        if amount < 0:
            raise self.fail(Problem.BAD_PERCENT if percent else Problem.BAD_AMOUNT, f"{str(word).lower()} "
                            "compares the posting's magnitude: the amount is never negative", tree_span(amount_node))
        return PostingCompare(direction, Comparator(str(comparator)), amount, relative_to, span)

    def reject_for(self, node: Tree[Token], what: str) -> None:
        for clause in _trees(node, "for_months"):
            raise self.fail(Problem.FOR_NEEDS_LAST_MONTH, f"FOR … MONTHS follows a metric over last_month, "
                            f"not {what}", tree_span(clause))

    def metric(self, node: Tree[Token] | Token) -> Metric:
        assert isinstance(node, Tree) and node.data == "metric", node
        word = node.children[0]
        assert isinstance(word, Token)
        windows = _trees(node, "window")
        if word.type == "NAME":
            close = difflib.get_close_matches(str(word).lower(), METRIC_WORDS, n=1)
            hint = f"did you mean {close[0]}?" if close else "one of " + ", ".join(METRIC_WORDS)
            raise self.fail(Problem.UNKNOWN_METRIC, f"unknown metric {str(word)!r} ({hint})", token_span(word))
        name = MetricName(str(word).lower())
        if name.windowed and not windows:
            raise self.fail(Problem.BAD_WINDOW, f"{name.value} needs a window, as in {name.value}(30d), "
                            f"{name.value}(month) or {name.value}(last_month)", tree_span(node))
        if not name.windowed and windows:
            raise self.fail(Problem.BAD_WINDOW, f"{name.value} is the balance now: it takes no window",
                            tree_span(windows[0]))
        return Metric(name, self.window(windows[0]) if windows else None)

    def window(self, node: Tree[Token]) -> Window:
        token = node.children[0]
        assert isinstance(token, Token)
        if token.type == "MONTH":
            return Window(WindowKind.MONTH_TO_DATE)
        if token.type == "LAST_MONTH":
            return Window(WindowKind.LAST_MONTH)
        days = _DAYS_WINDOW.match(str(token))
        if days is None:
            raise self.fail(Problem.BAD_WINDOW, f"unknown window {str(token)!r} (write Nd for the last N days, "
                            "month or last_month)", token_span(token))
        if not 1 <= int(days.group(1)) <= MAX_WINDOW_DAYS:
            raise self.fail(Problem.BAD_WINDOW, f"window {str(token)!r} is not 1d to {MAX_WINDOW_DAYS}d",
                            token_span(token))
        return Window(WindowKind.DAYS, int(days.group(1)))

    def amount(self, node: Tree[Token]) -> tuple[Decimal, bool]:
        """The number, and whether a % follows it; BAD_AMOUNT / BAD_PERCENT for one that does not fit."""
        number = node.children[0]
        percent = len(node.children) > 1
        value = Decimal(str(number))  # the NUMBER pattern admits only digits, a sign and a point
        if not decimal_fits(value):
            raise self.fail(Problem.BAD_PERCENT if percent else Problem.BAD_AMOUNT,
                            f"{number}{'%' if percent else ''} has more than 4 decimal places or is too large",
                            tree_span(node))
        return value, percent

    def months(self, clause: Tree[Token]) -> int:
        number = clause.children[1]
        assert isinstance(number, Token)
        text = str(number)
        if not re.fullmatch(r"[0-9]{1,2}", text) or not 1 <= int(text) <= MAX_FOR_MONTHS:
            raise self.fail(Problem.BAD_WINDOW, f"FOR takes 1 to {MAX_FOR_MONTHS} months, not {text}",
                            token_span(number))
        return int(text)
