"""docs/grafana/engage-dashboard.json as the tests read it: its PromQL expressions (Grafana's interval
variables replaced as Grafana would before sending them) and the metric names each one selects."""

from __future__ import annotations

import json
from typing import Any

import promql_parser

from tests.conftest import REPO_ROOT

DASHBOARD = REPO_ROOT / "docs" / "grafana" / "engage-dashboard.json"
SCHEMA = REPO_ROOT / "tests" / "data" / "grafana-dashboard.schema.json"
# What Grafana puts in place of its built-in range variables before a query reaches Prometheus.
GRAFANA_RANGES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "6h"}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def expressions() -> list[tuple[str, str]]:
    """(panel title, expression as Prometheus receives it) for every target of every panel."""
    found = []
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", ()):
            expr = target["expr"]
            for variable, value in GRAFANA_RANGES.items():
                expr = expr.replace(variable, value)
            found.append((panel["title"], expr))
    return found


def selected_metrics(expr: str) -> set[str]:
    """The metric names an expression selects (parsing it: a syntax error raises ValueError)."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def exposed_names(families: Any) -> set[str]:
    """The sample names that families parsed from an exposition can have, samples or not: a labelled
    counter with no child yet is still declared (HELP and TYPE) by the registry that defines it."""
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                "summary": ("_count", "_sum", "_created"), "gauge": ("",), "untyped": ("",)}
    return {family.name + suffix for family in families for suffix in suffixes.get(family.type, ("",))}
