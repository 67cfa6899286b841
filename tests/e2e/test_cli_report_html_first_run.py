"""engagectl reports html on a first run (an empty cache): the Vega script is bundled in a process of its
own beside the reads, left in the cache, and inlined in the page all the same."""

import json

from server.domain.auth import Role
from tests.support.metrics_seed import seed_metrics


async def test_a_first_run_bundles_the_script_into_the_cache_and_the_page(engagectl, server, services, tenant,
                                                                           tmp_path):
    await seed_metrics(services.database, tenant)
    cache = tmp_path / "cache"
    report = tmp_path / "report.html"

    result = await engagectl("reports", "html", "--period", "2026-01..2026-02", "-o", str(report), "--json",
                             "--no-backtest", token=server.token(tenant, Role.BANK_ADMIN, "lisa"),
                             env={"XDG_CACHE_HOME": str(cache)})

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["bytes"] == report.stat().st_size
    [bundle] = (cache / "engage").iterdir()
    assert bundle.name.startswith("vega-embed-") and bundle.suffix == ".js"
    script = bundle.read_text(encoding="utf-8")
    assert "vegaEmbed" in script and script in report.read_text(encoding="utf-8")
