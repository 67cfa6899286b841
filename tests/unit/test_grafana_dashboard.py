"""docs/grafana/engage-dashboard.json is a dashboard Grafana can import: valid against a JSON schema of
the model parts it uses, its panels on the 24-column grid without overlapping, and every PromQL
expression parsed by a PromQL parser. tests/e2e/test_metrics.py checks that every metric it names is
one the real server and worker processes expose."""

import json

import jsonschema
import pytest

from tests.support.grafana import SCHEMA, dashboard, expressions, selected_metrics


def test_the_dashboard_is_valid_against_the_schema():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(dashboard()), key=str)
    assert errors == [], "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_refuses_what_grafana_would_not_take():
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    broken = dashboard()
    broken["panels"][1]["targets"][0]["exp"] = broken["panels"][1]["targets"][0].pop("expr")
    broken["panels"][2]["gridPos"]["w"] = 30
    refused = sorted((list(e.absolute_path), e.validator) for e in validator.iter_errors(broken))
    assert refused == [(["panels", 1, "targets", 0], "additionalProperties"), (["panels", 1, "targets", 0], "required"),
                       (["panels", 2, "gridPos", "w"], "maximum")]


def test_panel_ids_are_unique_and_panels_do_not_overlap():
    panels = dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_every_expression_parses_and_selects_engage_metrics():
    found = expressions()
    assert len(found) >= 20
    for title, expr in found:
        names = selected_metrics(expr)  # raises on a syntax error
        assert names and all(name.startswith("engage_") for name in names), (title, expr)


def test_the_parser_refuses_a_broken_expression():
    with pytest.raises(ValueError):
        selected_metrics("sum by (method) (rate(engage_rpc_requests_total[1m])")
