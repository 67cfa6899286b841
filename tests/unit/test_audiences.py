"""Audience definitions as a bank admin writes them: what is refused when saved, cycles found through
named audiences, and the expansion down to personas."""

from __future__ import annotations

import pytest

from server.domain.errors import FailedPrecondition, InvalidArgument
from server.domain.personas.audiences import (
    AudienceMode,
    Selection,
    audience_definition,
    check_references,
    expand,
)

ALL, ANY = AudienceMode.ALL, AudienceMode.ANY


@pytest.mark.parametrize(("include", "mode", "exclude", "field"), [
    ([], ANY, [], "audience.definition.include"),
    (["personas/a"], None, [], "audience.definition.mode"),
    (["a"], ANY, [], "audience.definition.include[0]"),
    (["personas/A"], ANY, [], "audience.definition.include[0]"),
    (["personas/a", "personas/a"], ANY, [], "audience.definition.include"),
    (["personas/a"], ANY, ["personas/a"], "audience.definition.exclude"),
    ([f"personas/p{n}" for n in range(51)], ANY, [], "audience.definition.include"),
])
def test_a_malformed_definition_names_its_field(include, mode, exclude, field):
    with pytest.raises(InvalidArgument) as refused:
        audience_definition(include, mode, exclude)
    assert refused.value.code == "AUDIENCE_INVALID"
    assert refused.value.violations[0].field == field


def test_unknown_names_and_cycles_are_refused():
    stored = {"b": audience_definition(["audiences/c"], ANY, []), "c": audience_definition(["personas/p"], ANY, [])}
    with pytest.raises(FailedPrecondition) as unknown:
        check_references("a", audience_definition(["personas/nobody"], ANY, []), {"p"}, stored)
    assert unknown.value.code == "AUDIENCE_REFERENCE_UNKNOWN"
    check_references("a", audience_definition(["audiences/b"], ALL, ["audiences/c"]), {"p"}, stored)
    # c now names a, which names b, which names c.
    with pytest.raises(FailedPrecondition) as cycle:
        check_references("c", audience_definition(["audiences/a"], ANY, []), {"p"},
                         {**stored, "a": audience_definition(["audiences/b"], ANY, [])})
    assert cycle.value.code == "AUDIENCE_CYCLE"
    assert cycle.value.metadata["cycle"] == "c,a,b,c"


def test_named_audiences_expand_down_to_personas():
    stored = {"savers": audience_definition(["personas/saver", "personas/student"], ALL, [])}
    outer = audience_definition(["audiences/savers", "personas/globetrotter"], ANY, ["personas/risky"])
    assert expand(outer, stored) == Selection((Selection(("saver", "student"), ALL), "globetrotter"), ANY,
                                              ("risky",))
