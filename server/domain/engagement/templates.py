"""Message tokens such as {{ transaction.amount }}, rendered by Jinja2's sandbox. A template may only
use tokens of the catalogue below (checked when it is saved), a few harmless filters, and
{% if %}/{% for %}; anything that could reach outside the message (imports, includes, macros) is
refused.

Rendering runs inside the server that every bank shares, so a template must not be able to take its
memory or its time: repetition and powers (`'x' * n`, `n ** m`) and loops inside loops are refused
when saved, and a rendered part is cut off with an error once it passes MAX_RENDERED_CHARS."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from server.domain.errors import FieldViolation

# root -> allowed attributes; "*" = any attribute name (free-form maps).
TOKEN_CATALOGUE: dict[str, frozenset[str]] = {
    "customer": frozenset({"id", "attributes.*"}),
    "account": frozenset({"id", "name", "type", "currency"}),
    "transaction": frozenset({"id", "amount", "currency", "balance", "time", "description", "direction",
                              "category"}),
    "insight": frozenset({"name", "title", "figures.*"}),
    "otp": frozenset({"code", "expires_minutes"}),
    "event": frozenset({"name"}),
    "bank": frozenset({"name"}),
    "data": frozenset({"*"}),
}
ALLOWED_FILTERS = frozenset({"default", "upper", "lower", "title", "capitalize", "trim", "round", "truncate"})
FORBIDDEN_NODES = (nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends, nodes.Macro, nodes.CallBlock,
                   nodes.Assign, nodes.AssignBlock, nodes.Block, nodes.Call)
# `{{ data.x * 100000000 }}` was a 200 MB message; a power's result can be as large.
SIZE_MAKING_NODES = (nodes.Mul, nodes.Pow)
# Far above any real message (an email's HTML part included), far below what would hurt the server.
MAX_RENDERED_CHARS = 256 * 1024


class TemplateRenderError(ValueError):
    """A part that cannot be rendered at send time: a token without a value (TOKEN_MISSING), a result
    over MAX_RENDERED_CHARS (TOO_LONG), or an error of an operator or filter on these values (FAILED)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _environment(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=True)


_PLAIN = _environment(False)
_HTML = _environment(True)


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


def _is_known(token: str, loop_names: set[str]) -> bool:
    root, _, rest = token.partition(".")
    if root in loop_names or root == "loop":
        return True
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
    """Every token (dotted name) the template reads; raises TemplateSyntaxError on bad syntax."""
    tree = _PLAIN.parse(source)
    tokens: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        dotted = _dotted(node)
        if dotted is not None:
            tokens.add(dotted)
    # Keep only the longest chains (transaction.amount, not also transaction).
    return {t for t in tokens if not any(o != t and o.startswith(t + ".") for o in tokens)}


def validate_parts(parts: Mapping[str, str]) -> list[FieldViolation]:
    violations: list[FieldViolation] = []
    for name, source in parts.items():
        try:
            tree = _PLAIN.parse(source)
        except TemplateSyntaxError as exc:
            violations.append(FieldViolation(name, f"template syntax error on line {exc.lineno}: {exc.message}"))
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
            if not _is_known(token, loop_names):
                violations.append(FieldViolation(name, f"unknown token '{{{{ {token} }}}}'"))
    return violations


@lru_cache(maxsize=2048)
def _compiled(source: str, html: bool) -> Any:
    return (_HTML if html else _PLAIN).from_string(source)


def render_parts(parts: Mapping[str, str], context: Mapping[str, object]) -> dict[str, str]:
    rendered: dict[str, str] = {}
    for name, source in parts.items():
        try:
            rendered[name] = _render_capped(_compiled(source, name == "html"), context, name)
        except (UndefinedError, SecurityError) as exc:
            raise TemplateRenderError("TOKEN_MISSING", f"{name}: {exc}") from exc
        except TemplateRenderError:
            raise
        except Exception as exc:  # an operator or filter that cannot take these values, e.g. round on text
            raise TemplateRenderError("FAILED", f"{name}: {type(exc).__name__}: {exc}") from exc
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
