"""Reason codes are one enumeration (server/domain/reasons.py): every code server/ raises is a member,
DomainError refuses any other, and the error tables of the docs list exactly the members.

The docs check reads the Markdown tables whose header names a code column and a status column
(docs/errors.md); rejected-row reasons and delivery error codes are prose lists there, with
vocabularies of their own, and are not read. To check another file, add it to ERROR_DOCS."""

import ast
import re
from pathlib import Path

import pytest

from server.domain import errors
from server.domain.engagement.otp import VerifyOutcome
from server.domain.reasons import Reason
from server.faults import Fault

ROOT = Path(__file__).resolve().parents[2]
ERROR_DOCS = [ROOT / "docs" / "errors.md"]

_ERROR_CLASSES = {cls.__name__ for cls in [errors.DomainError, *errors.DomainError.__subclasses__()]}
# Helpers that hand their string argument on as a code: (function name, argument position).
_CODE_HELPERS = {"_raise_if": 1, "_fail": 0}
# Helpers whose string argument is a resource kind, answered as `{KIND}_NOT_FOUND`.
_KIND_HELPERS = {"not_found": 0, "_existing": 1}


def error_table_codes(markdown: str) -> set[str]:
    """The codes in the first column of every table whose first header cell ends in `code`: backticked
    UPPER_SNAKE ones, and the subscription reference's bare `Y8xx`."""
    codes: set[str] = set()
    in_table = False
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else []
        if not cells:
            in_table = False
        elif not in_table and cells[0].endswith("code"):
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            codes |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]) + re.findall(r"^Y[0-9]{3}$", cells[0]))
    return codes


def _codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            position = 0 if name in _ERROR_CLASSES else _CODE_HELPERS.get(name, _KIND_HELPERS.get(name))
            if position is None or len(node.args) <= position:
                continue
            argument = node.args[position]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.add(f"{argument.value.upper()}_NOT_FOUND" if name in _KIND_HELPERS else argument.value)
    return found


def test_every_code_raised_in_server_is_a_reason():
    found = _codes_in_source()
    assert len(found) > 60  # the scan sees the raises
    assert sorted(found - set(Reason)) == []


def test_computed_codes_are_reasons():
    # server/services/otp.py answers a failed verification as OTP_{outcome}.
    failures = set(VerifyOutcome) - {VerifyOutcome.VERIFIED, VerifyOutcome.WRONG_CODE}
    assert sorted(f"OTP_{o.name}" for o in failures if f"OTP_{o.name}" not in set(Reason)) == []
    # Faults answer with their value as the reason (server/rpc/errors.py).
    assert sorted(f.value for f in Fault if f.value not in set(Reason)) == []


def test_a_domain_error_accepts_only_reasons():
    assert errors.InvalidArgument("RESOURCE_NAME_INVALID", "x").code is Reason.RESOURCE_NAME_INVALID
    assert errors.not_found("feed_item", "f1").code is Reason.FEED_ITEM_NOT_FOUND
    with pytest.raises(ValueError):
        errors.InvalidArgument("INVALID_RESOURCE_NAME", "the retired spelling")


def test_every_reason_has_a_meaning():
    assert [r for r in Reason if not r.meaning.strip()] == []


@pytest.mark.parametrize("doc", ERROR_DOCS, ids=lambda p: p.name)
def test_the_error_tables_list_exactly_the_reasons(doc):
    documented = error_table_codes(doc.read_text())
    assert sorted(set(Reason) - documented) == [], "reasons missing from the error tables"
    assert sorted(documented - set(Reason)) == [], "codes in the error tables that are not reasons"


def test_the_table_reader_reads_only_code_tables():
    text = ("| code | status | meaning |\n| --- | --- | --- |\n| `A_B`, `C` | X | `NOT_ME` |\n\nprose `NOR_ME`\n"
            "| variable | default |\n| --- | --- |\n| `ENGAGE_X` | 1 |\n"
            "| engagement error code | status | when |\n|---|---|---|\n| `D_E` | Y | z |\n"
            "\n| code | message |\n| --- | --- |\n| Y800 | Invalid `X_Y` |\n")
    assert error_table_codes(text) == {"A_B", "C", "D_E", "Y800"}
