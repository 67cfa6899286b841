"""Messages that differ by persona: per-persona content variants of a template (the first variant, in
the template's order, of a persona the customer belongs to is sent, else the default content) and the
personas' tokens, `{{ persona.<persona_id>.<token> }}`, which render the persona's value for its
members and empty text for everyone else (so one template serves members and non-members alike)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from server.domain.engagement.entities import ContentVariant
from server.domain.errors import FieldViolation

MAX_VARIANTS = 20
PersonaTokens = Mapping[str, Mapping[str, str]]  # persona id -> token name -> value


def variant_violations(variants: tuple[ContentVariant, ...], personas: Collection[str], prefix: str
                       ) -> list[FieldViolation]:
    """At most MAX_VARIANTS, one per persona, each naming a persona of the bank. Their content is checked
    like the default content (setup_validation.template_violations)."""
    violations: list[FieldViolation] = []
    if len(variants) > MAX_VARIANTS:
        violations.append(FieldViolation(prefix, f"at most {MAX_VARIANTS} variants"))
    seen: set[str] = set()
    for index, variant in enumerate(variants):
        if variant.persona_id not in personas:
            violations.append(FieldViolation(f"{prefix}[{index}].persona",
                                             f"no persona '{variant.persona_id[:40]}'"))
        elif variant.persona_id in seen:
            violations.append(FieldViolation(f"{prefix}[{index}].persona", "one variant per persona"))
        seen.add(variant.persona_id)
    return violations


def uses_personas(content: Mapping[str, str], variants: tuple[ContentVariant, ...]) -> bool:
    """Whether sending the message needs the customer's personas: it has variants or reads persona tokens."""
    return bool(variants) or any("persona" in part for part in content.values())


def chosen_content(content: dict[str, str], variants: tuple[ContentVariant, ...], member_of: Collection[str]
                   ) -> dict[str, str]:
    for variant in variants:
        if variant.persona_id in member_of:
            return variant.content
    return content


def persona_tokens_context(tokens: PersonaTokens, member_of: Collection[str]) -> dict[str, Any]:
    """The `persona` root of a message's tokens: every persona's tokens, their values for its members only."""
    return {persona_id: {name: value if persona_id in member_of else "" for name, value in values.items()}
            for persona_id, values in tokens.items()}
