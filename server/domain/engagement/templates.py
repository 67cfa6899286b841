"""Message tokens such as {{ transaction.amount }}, rendered by Jinja2's sandbox. A template may only
use tokens of the catalogue below (checked when it is saved), a few harmless filters, and
{% if %}/{% for %}; anything that could reach outside the message (imports, includes, macros) is
refused.

Rendering runs inside the server that every bank shares, so a template must not be able to take its
memory or its time: repetition and powers (`'x' * n`, `n ** m`) and loops inside loops are refused
when saved, and a rendered part is cut off with an error once it passes MAX_RENDERED_CHARS. Jinja
parses and compiles by recursion, so a template's nesting is bounded before it is parsed (MAX_NESTING,
MAX_TREE_DEPTH)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from server.domain.engagement.template_messages import failed_message, missing_message, syntax_message
from server.domain.errors import FieldViolation

# root -> allowed attributes; "*" = any attribute name (free-form maps).
TOKEN_CATALOGUE: dict[str, frozenset[str]] = {
    "customer": frozenset({"id", "attributes.*"}),
    # current_balance, available_balance, as_of: SendBalance's (the current balance on request).
    "account": frozenset({"id", "name", "type", "currency", "current_balance", "available_balance", "as_of"}),
    "transaction": frozenset({"id", "amount", "currency", "balance", "time", "description", "direction",
                              "category", "status"}),
    "insight": frozenset({"name", "title", "figures.*"}),
    "otp": frozenset({"code", "expires_minutes"}),
    "event": frozenset({"name"}),
    "bank": frozenset({"name"}),
    # Payment alerts (server.services.payment_alerts): a statement's reminder, a scheduled payment's notice.
    "statement": frozenset({"id", "due_date", "statement_date", "minimum_due", "balance", "currency", "paid",
                            "remaining", "days_left"}),
    "payment": frozenset({"id", "amount", "currency", "scheduled_date", "state"}),
    # A new Wallet pass an event's PASS message issued: its download link (for an SMS) and serial number.
    "pass": frozenset({"url", "serial_number"}),
    "data": frozenset({"*"}),
}
ALLOWED_FILTERS = frozenset({"default", "upper", "lower", "title", "capitalize", "trim", "round", "truncate"})
FORBIDDEN_NODES = (nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends, nodes.Macro, nodes.CallBlock,
                   nodes.Assign, nodes.AssignBlock, nodes.Block, nodes.Call)
# `{{ data.x * 100000000 }}` was a 200 MB message; a power's result can be as large.
SIZE_MAKING_NODES = (nodes.Mul, nodes.Pow)
# Far above any real message (an email's HTML part included), far below what would hurt the server.
MAX_RENDERED_CHARS = 256 * 1024
# Jinja parses and compiles a template by recursion, and Python refuses generated code nested past
# 100 blocks or 200 brackets: 10,000 nested {% if %} or 100,000 nested brackets were a RecursionError.
# Real messages nest a few levels; within these bounds every template that is accepted also compiles.
MAX_NESTING = 32  # blocks and brackets open at once, counted on the lexer's tokens before parsing
MAX_TREE_DEPTH = 64  # the parsed template: operators and filters applied to one another's results too
# Tags that open a block closed by an end tag (`set` only in its block form, without `=`).
_BLOCK_TAGS = frozenset({"if", "for", "macro", "call", "filter", "block", "with", "autoescape"})


class TemplateRenderError(ValueError):
    """A part that cannot be rendered at send time: a token without a value (TOKEN_MISSING), a result
    over MAX_RENDERED_CHARS (TOO_LONG), or an error of an operator or filter on these values (FAILED)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class TemplateTooDeep(TemplateSyntaxError):
    """A template nested past MAX_NESTING or MAX_TREE_DEPTH, or so deep that parsing it ran out of
    stack or memory."""


def _environment(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=True)


_PLAIN = _environment(False)
_HTML = _environment(True)


def _parse(source: str) -> nodes.Template:
    """Jinja's parse, refusing with TemplateTooDeep what is nested too deeply to parse or compile."""
    _check_written_nesting(source)
    try:
        tree = _PLAIN.parse(source)
    except (RecursionError, MemoryError) as exc:  # a chain the token count does not see, e.g. `not not ...`
        raise TemplateTooDeep(f"nested too deeply to read; at most {MAX_NESTING} levels of blocks and "
                              "brackets", 1) from exc
    if _deeper_than(tree, MAX_TREE_DEPTH):
        raise TemplateTooDeep(f"an expression nested more than {MAX_TREE_DEPTH} levels deep (operators and "
                              "filters applied to one another's results)", 1)
    return tree


def _check_written_nesting(source: str) -> None:
    """Counts the blocks and brackets open at once on Jinja's lexer, which does not recurse; stops at
    the first token past MAX_NESTING."""
    blocks = brackets = 0
    tag: list[str] | None = None  # the tag being read: its tokens' values
    for lineno, kind, value in _PLAIN.lex(source):
        if kind == "block_begin":
            tag = []
        elif kind == "block_end" and tag is not None:
            name = tag[0] if tag else ""
            if name.startswith("end"):
                blocks -= 1
            elif name in _BLOCK_TAGS or (name == "set" and "=" not in tag):
                blocks += 1
            tag = None
        elif kind != "whitespace" and tag is not None:
            tag.append(value)
        if kind == "operator" and value in "([{":
            brackets += 1
        elif kind == "operator" and value in ")]}":
            brackets -= 1
        if blocks + brackets > MAX_NESTING:
            raise TemplateTooDeep(f"blocks and brackets nested more than {MAX_NESTING} levels deep", lineno)


def _deeper_than(tree: nodes.Node, limit: int) -> bool:
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return False


def _dotted(node: nodes.Node) -> str | None:
    """`transaction.amount` for a Getattr/Getitem chain on a Name; None for anything else."""
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            parts.append(str(node.arg.value))
            node = node.node
        elif isinstance(node, nodes.Name):
            parts.append(node.name)
            return ".".join(reversed(parts))
        else:
            return None


def _is_known(token: str, loop_names: set[str], persona_tokens: Mapping[str, Collection[str]]) -> bool:
    root, _, rest = token.partition(".")
    if root in loop_names or root == "loop":
        return True
    if root == "persona":  # {{ persona.<persona_id>.<token> }}: the bank's personas' own tokens
        persona_id, _, name = rest.partition(".")
        return name in persona_tokens.get(persona_id, ())
    allowed = TOKEN_CATALOGUE.get(root)
    if allowed is None or not rest:
        return False
    for pattern in allowed:
        if pattern == "*" or rest == pattern:
            return True
        if pattern.endswith(".*") and rest.startswith(pattern[:-1]) and len(rest) > len(pattern) - 1:
            return True
    return False


def find_tokens(source: str) -> set[str]:
    """Every token (dotted name) the template reads; raises TemplateSyntaxError on bad syntax (its
    subclass TemplateTooDeep on nesting past the limits)."""
    tree = _parse(source)
    tokens: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        dotted = _dotted(node)
        if dotted is not None:
            tokens.add(dotted)
    # Keep only the longest chains (transaction.amount, not also transaction).
    return {t for t in tokens if not any(o != t and o.startswith(t + ".") for o in tokens)}


def validate_parts(parts: Mapping[str, str], persona_tokens: Mapping[str, Collection[str]] | None = None
                   ) -> list[FieldViolation]:
    """`persona_tokens`: persona id -> its tokens' names, which `persona.<id>.<token>` may read."""
    violations: list[FieldViolation] = []
    for name, source in parts.items():
        try:
            tree = _parse(source)
        except TemplateTooDeep as exc:
            violations.append(FieldViolation(name, exc.message or "nested too deeply"))
            continue
        except TemplateSyntaxError as exc:
            violations.append(FieldViolation(name, f"template syntax error on line {exc.lineno}: "
                                                   f"{syntax_message(exc.message or '')}"))
            continue
        if any(True for _ in tree.find_all(FORBIDDEN_NODES)):
            violations.append(FieldViolation(name, "only {{ tokens }}, {% if %} and {% for %} are allowed"))
            continue
        if any(True for _ in tree.find_all(SIZE_MAKING_NODES)):
            violations.append(FieldViolation(name, "'*' and '**' are not allowed (they make values of any size)"))
        loops = list(tree.find_all(nodes.For))
        if any(True for loop in loops for _ in loop.find_all(nodes.For)):
            violations.append(FieldViolation(name, "a {% for %} loop cannot hold another"))
        for node in tree.find_all(nodes.Filter):
            if node.name not in ALLOWED_FILTERS:
                violations.append(FieldViolation(name, f"filter '{node.name}' is not allowed; allowed: "
                                                       f"{', '.join(sorted(ALLOWED_FILTERS))}"))
        # A loop's target is a name or a tuple of names (find_all looks only below the node itself).
        loop_names = {n.name for f in loops for n in (f.target, *f.target.find_all(nodes.Name))
                      if isinstance(n, nodes.Name)}
        for token in sorted(find_tokens(source)):
            if not _is_known(token, loop_names, persona_tokens or {}):
                violations.append(FieldViolation(name, f"unknown token '{{{{ {token} }}}}'"))
    return violations


@lru_cache(maxsize=2048)
def _compiled(source: str, html: bool) -> Any:
    template = (_HTML if html else _PLAIN).from_string(source)
    # Our environments' globals never change after start-up: a plain dict of them rather than jinja's
    # ChainMap over them, which every render copied key by key (more than half of a short part's time).
    template.globals = dict(template.globals)
    return template


def render_parts(parts: Mapping[str, str], context: Mapping[str, object]) -> dict[str, str]:
    rendered: dict[str, str] = {}
    for name, source in parts.items():
        try:
            rendered[name] = _render_capped(_compiled(source, name == "html"), context, name)
        except (UndefinedError, SecurityError) as exc:
            raise TemplateRenderError("TOKEN_MISSING", f"{name}: {missing_message(str(exc))}") from exc
        except TemplateRenderError:
            raise
        except Exception as exc:  # an operator or filter that cannot take these values, e.g. round on text
            raise TemplateRenderError("FAILED", f"{name}: {failed_message(exc)}") from exc
    return rendered


def _render_capped(template: Any, context: Mapping[str, object], name: str) -> str:
    chunks: list[str] = []
    size = 0
    for chunk in template.generate(**context):
        size += len(chunk)
        if size > MAX_RENDERED_CHARS:
            raise TemplateRenderError("TOO_LONG", f"{name}: longer than {MAX_RENDERED_CHARS:,} characters")
        chunks.append(chunk)
    return "".join(chunks)
