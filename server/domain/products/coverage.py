"""Coverage and overlap analysis of a version's pricing grid, run at approval for the approver to see:
which eligible customers and requests no interest & commission list prices (gaps), and where two or
more lists match with different prices (overlaps, with the list the precedence applies there).

The space. One axis per dimension that an availability rule or an interest list tests: each persona
(member or not), each attribute, the amount and the term. A numeric axis (attribute, amount, term)
is cut at every bound any condition uses into points and the open intervals between them; the amount
axis spans the amount limits, the term axis the term limits (whole months), an attribute axis the
whole line. A value axis has the values the conditions name, plus "any other value" unless the values
are bool (True and False). Every condition is constant on each piece, so evaluating a piece at one
value inside it (Interval.representative) decides it for all of its values: the analysis is exact,
not sampled, and it runs the very evaluation quotes run (conditions.check), so it cannot disagree
with them.

Eligibility. Availability rules are conjunctions of one-axis conditions, so the eligible space is a
box: pieces that fail an availability condition of their own axis are dropped before the grid is
formed. An axis left without pieces means no one is eligible (`nothing_eligible`).

Regions. Every cell (one piece of each axis) is classed: a gap (no list), an overlap (two or more
lists, prices not all equal; keyed by the lists matching), or fine. Cells of one class are merged
into boxes, axis by axis from the last (term, amount, attributes, personas) to the first, joining
neighbours along an axis that agree on every other axis. The boxes cover exactly the flagged cells;
they are deterministic, though not always the fewest possible. A region names only the axes on which
it is narrower than the eligible space.

Assumptions: a customer has a value for every attribute the grid tests (a missing value fails every
condition, so such a customer falls in a gap the analysis does not list); attribute axes are real
numbers (an integer attribute may show a gap such as "age in (30, 31)" that no customer occupies).
The grid has at most MAX_CELLS cells, else PRODUCT_GRID_TOO_LARGE.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from server.domain.errors import InvalidArgument
from server.domain.events import Money
from server.domain.products.conditions import (
    AMOUNT,
    TERM,
    AmountIn,
    AttributeValue,
    ChoiceValue,
    Condition,
    Dimension,
    DimensionKind,
    NumberIn,
    QuoteContext,
    TermIn,
    ValueIn,
    check,
)
from server.domain.products.intervals import Interval
from server.domain.products.pricing import InterestList, matching_lists
from server.domain.products.terms import ProductTerms

MAX_CELLS = 200_000
_AXIS_ORDER = {DimensionKind.PERSONA: 0, DimensionKind.NUMBER: 1, DimensionKind.VALUE: 1, DimensionKind.AMOUNT: 2,
               DimensionKind.TERM: 3}
_NUMERIC = {DimensionKind.NUMBER, DimensionKind.AMOUNT, DimensionKind.TERM}


class _Other:
    """'Any other value' on a value axis."""

    def __repr__(self) -> str:
        return "any other value"


OTHER = _Other()
Piece = Interval | bool | str | _Other


@dataclass(frozen=True, slots=True)
class Span:
    """A region's extent on one axis: an interval (numeric axes) or a set of values."""

    dimension: Dimension
    interval: Interval | None = None
    values: frozenset[ChoiceValue] = frozenset()  # the values in the region (persona: True = member)
    other: bool = False  # also every value the conditions do not name ...
    excluded: frozenset[ChoiceValue] = frozenset()  # ... that is, every value but these

    def contains(self, context: QuoteContext) -> bool:
        """Whether a quote's request lies in this span (a missing attribute lies in none)."""
        kind, name = self.dimension.kind, self.dimension.name
        if kind is DimensionKind.PERSONA:
            return (name in context.persona_ids) in self.values
        if kind is DimensionKind.AMOUNT or kind is DimensionKind.TERM:
            assert self.interval is not None
            return self.interval.contains(context.amount.amount if kind is DimensionKind.AMOUNT
                                          else context.term_months)
        if self.interval is not None:
            return check(NumberIn(name, self.interval), context).held
        if self.other:  # a value the conditions do not name (or of another type) fails them all, as here
            return name in context.attributes and not check(ValueIn(name, self.excluded), context).held
        return check(ValueIn(name, self.values), context).held

    def __str__(self) -> str:
        if self.interval is not None:
            return f"{self.dimension} {self.interval}"
        if self.dimension.kind is DimensionKind.PERSONA:
            return f"{'in' if True in self.values else 'not in'} persona {self.dimension.name}"
        if self.other:
            return f"{self.dimension} not in {{{', '.join(sorted(str(v) for v in self.excluded))}}}"
        shown = ", ".join(sorted(str(v) for v in self.values))
        return f"{self.dimension} = {shown}" if len(self.values) == 1 else f"{self.dimension} in {{{shown}}}"


@dataclass(frozen=True, slots=True)
class Region:
    spans: tuple[Span, ...]  # only the axes where the region is narrower than the eligible space

    def span(self, dimension: Dimension) -> Span | None:
        return next((s for s in self.spans if s.dimension == dimension), None)

    def contains(self, context: QuoteContext) -> bool:
        """Whether an eligible request lies in the region (the axes it does not name are free)."""
        return all(s.contains(context) for s in self.spans)

    def __str__(self) -> str:
        return ", ".join(map(str, self.spans)) or "every eligible request"


@dataclass(frozen=True, slots=True)
class Overlap:
    region: Region
    lists: tuple[str, ...]  # the lists matching there, in precedence order
    rates: tuple[Decimal, ...]  # their annual rates, in the same order

    @property
    def applied(self) -> str:
        return self.lists[0]

    def __str__(self) -> str:
        shown = ", ".join(f"'{n}' ({r}%)" for n, r in zip(self.lists, self.rates, strict=True))
        return f"{self.region}: {shown} match; '{self.applied}' applies"


@dataclass(frozen=True, slots=True)
class CoverageReport:
    gaps: tuple[Region, ...]
    overlaps: tuple[Overlap, ...]
    cells: int  # how many cells were examined
    nothing_eligible: bool = False

    @property
    def clean(self) -> bool:
        return not self.gaps and not self.overlaps and not self.nothing_eligible


@dataclass(frozen=True, slots=True)
class _Axis:
    dimension: Dimension
    pieces: tuple[Piece, ...]

    @property
    def integral(self) -> bool:
        return self.dimension.kind is DimensionKind.TERM


def _numeric_pieces(domain: Interval, bounds: Iterable[Decimal], integral: bool) -> list[Interval]:
    """The domain cut at every bound inside it: points, and the open stretches between them."""
    pieces: list[Interval] = []
    low, low_closed = domain.low, domain.low_closed
    for point in sorted({b for b in bounds if domain.contains(b)}):
        stretch = Interval(low, point, low_closed, False)
        pieces += [p for p in (stretch, Interval.exactly(point)) if not p.is_empty(integral)]
        low, low_closed = point, False
    last = Interval(low, domain.high, low_closed, domain.high_closed)
    return pieces + ([last] if not last.is_empty(integral) else [])


def _value_pieces(conditions: Sequence[Condition]) -> list[Piece]:
    named: set[ChoiceValue] = {v for c in conditions if isinstance(c, ValueIn) for v in c.values}
    if named and all(isinstance(v, bool) for v in named):
        return [True, False]
    return [*sorted(str(v) for v in named), OTHER]


def _axes(terms: ProductTerms) -> list[_Axis]:
    tested: dict[Dimension, list[Condition]] = defaultdict(list)
    for condition in (*[c for r in terms.availability for c in r.conditions],
                      *[c for x in terms.interest_lists for c in x.conditions]):
        tested[condition.dimension].append(condition)
    domains = {AMOUNT: terms.amount_limits.intersect(Interval.above(0)), TERM: terms.term_limits}
    axes = []
    for dimension in sorted({*tested, AMOUNT, TERM}, key=lambda d: (_AXIS_ORDER[d.kind], d.name)):
        conditions = tested.get(dimension, [])
        pieces: list[Piece]
        if dimension.kind is DimensionKind.PERSONA:
            pieces = [True, False]
        elif dimension.kind is DimensionKind.VALUE:
            pieces = _value_pieces(conditions)
        else:
            bounds = [b for c in conditions if isinstance(c, (NumberIn, AmountIn, TermIn))
                      for b in (c.interval.low, c.interval.high) if b is not None]
            pieces = list(_numeric_pieces(domains.get(dimension, Interval.everything()), bounds,
                                          dimension.kind is DimensionKind.TERM))
        axes.append(_Axis(dimension, tuple(pieces)))
    return axes


def _value_of(axis: _Axis, piece: Piece) -> AttributeValue:
    if isinstance(piece, Interval):
        return piece.representative(axis.integral)
    if isinstance(piece, _Other):
        return "\x00any other value"  # a NUL cannot be stored (TEXT_NUL_CHARACTER): no condition names it
    return piece


def _context(axes: Sequence[_Axis], cell: Sequence[int], currency: str) -> QuoteContext:
    personas: set[str] = set()
    attributes: dict[str, AttributeValue] = {}
    amount, term = Decimal(1), 1
    for axis, index in zip(axes, cell, strict=True):
        value = _value_of(axis, axis.pieces[index])
        kind = axis.dimension.kind
        if kind is DimensionKind.PERSONA:
            if value is True:
                personas.add(axis.dimension.name)
        elif kind is DimensionKind.AMOUNT and isinstance(value, Decimal):
            amount = value
        elif kind is DimensionKind.TERM and isinstance(value, Decimal):
            term = int(value)
        else:
            attributes[axis.dimension.name] = value
    return QuoteContext(Money(amount, currency), term, frozenset(personas), attributes)


def _eligible(axes: Sequence[_Axis], terms: ProductTerms) -> list[_Axis]:
    """Each axis without the pieces an availability condition on it excludes."""
    currency = terms.currency
    kept = []
    for position, axis in enumerate(axes):
        own = [c for r in terms.availability for c in r.conditions if c.dimension == axis.dimension]
        base = [0] * len(axes)
        pieces = []
        for index, piece in enumerate(axis.pieces):
            base[position] = index
            context = _context(axes, base, currency)
            if all(check(c, context).held for c in own):
                pieces.append(piece)
        kept.append(_Axis(axis.dimension, tuple(pieces)))
    return kept


Box = tuple[tuple[int, int], ...]  # per axis, the first and last piece index


def _merge(boxes: list[Box], axis_count: int) -> list[Box]:
    for axis in reversed(range(axis_count)):
        groups: dict[Box, list[tuple[int, int]]] = defaultdict(list)
        for box in boxes:
            groups[box[:axis] + box[axis + 1:]].append(box[axis])
        boxes = []
        for rest, ranges in groups.items():
            ranges.sort()
            joined = [ranges[0]]
            for first, last in ranges[1:]:
                if first == joined[-1][1] + 1:
                    joined[-1] = (joined[-1][0], last)
                else:
                    joined.append((first, last))
            boxes += [(*rest[:axis], r, *rest[axis:]) for r in joined]
    return sorted(boxes)


def _region(axes: Sequence[_Axis], box: Box) -> Region:
    spans = []
    for axis, (first, last) in zip(axes, box, strict=True):
        if first == 0 and last == len(axis.pieces) - 1:
            continue  # the whole eligible axis: not a constraint of this region
        chosen = axis.pieces[first:last + 1]
        if axis.dimension.kind in _NUMERIC:
            low, high = chosen[0], chosen[-1]
            assert isinstance(low, Interval) and isinstance(high, Interval)
            spans.append(Span(axis.dimension, Interval(low.low, high.high, low.low_closed, high.high_closed)))
        else:
            values = frozenset(p for p in chosen if not isinstance(p, (_Other, Interval)))
            excluded = frozenset(p for p in axis.pieces if not isinstance(p, (_Other, Interval))) - values
            other = any(isinstance(p, _Other) for p in chosen)
            spans.append(Span(axis.dimension, values=values, other=other, excluded=excluded if other else frozenset()))
    return Region(tuple(spans))


def analyse(terms: ProductTerms) -> CoverageReport:
    axes = _axes(terms)
    if any(not axis.pieces for axis in axes):  # empty limits (validation refuses them): no request fits
        return CoverageReport((), (), 0, nothing_eligible=True)
    axes = _eligible(axes, terms)
    cells = math.prod(len(a.pieces) for a in axes)
    if cells > MAX_CELLS:
        raise InvalidArgument("PRODUCT_GRID_TOO_LARGE",
                              f"the conditions cut the pricing grid into {cells} cells; the analysis examines at "
                              f"most {MAX_CELLS}", metadata={"cells": str(cells)})
    if cells == 0:
        return CoverageReport((), (), 0, nothing_eligible=True)
    flagged: dict[tuple[str, ...], list[Box]] = defaultdict(list)
    prices: dict[tuple[str, ...], tuple[Decimal, ...]] = {}
    for cell in itertools.product(*(range(len(a.pieces)) for a in axes)):
        matching: list[InterestList] = matching_lists(terms.interest_lists, _context(axes, cell, terms.currency))
        box = tuple((i, i) for i in cell)
        if not matching:
            flagged[()].append(box)
        elif len({m.price() for m in matching}) > 1:
            key = tuple(m.name for m in matching)
            flagged[key].append(box)
            prices[key] = tuple(m.annual_rate for m in matching)
    gaps = tuple(_region(axes, b) for b in _merge(flagged.pop((), []), len(axes)))
    overlaps = tuple(Overlap(_region(axes, b), key, prices[key])
                     for key in sorted(flagged) for b in _merge(flagged[key], len(axes)))
    return CoverageReport(gaps, overlaps, cells)

