"""engagectl products as bank admins run it, against the real server: a product, its first version from
a terms file, approval by another admin that shows the reference grid's gaps and waits for --yes, and a
quote of the reference's figures."""

import json

from server.domain.auth import Role
from tests.support.products import add_customer, define_reference_facts, terms_json

GAPS = ["monthly_income < 5000, amount in (10000, 50000]", "monthly_income = 5000",
        "monthly_income > 5000, amount in [5000, 10000]"]


async def test_create_version_approve_after_the_analysis_and_quote(engagectl, server, tenant, service_stubs,
                                                                   tmp_path):
    async with server.stubs(server.token(tenant, Role.BANK_ADMIN, "ana")) as admin:
        await define_reference_facts(admin)
    await add_customer(service_stubs, "rich", "6000")
    await add_customer(service_stubs, "modest", "4000")
    ana, ben = server.token(tenant, Role.BANK_ADMIN, "ana"), server.token(tenant, Role.BANK_ADMIN, "ben")
    terms = tmp_path / "loan.json"
    terms.write_text(terms_json())

    created = await engagectl("products", "create", "personal-loan", "--name", "Personal loan", token=ana)
    assert created.exit_code == 0, created.stderr
    drafted = await engagectl("--json", "products", "versions", "create", "personal-loan", "--terms", str(terms),
                              token=ana)
    assert drafted.exit_code == 0, drafted.stderr
    assert (json.loads(drafted.stdout)["state"], json.loads(drafted.stdout)["authors"]) == ("DRAFT", ["ana"])

    # The author cannot approve; another admin is shown the gaps and must confirm.
    refused = await engagectl("products", "approve", "personal-loan", "1", "--yes", token=ana)
    assert refused.exit_code == 1 and "PRODUCT_SELF_APPROVAL" in refused.stderr
    held = await engagectl("products", "approve", "personal-loan", "1", token=ben)
    assert held.exit_code == 1 and "3 gap(s)" in held.stderr and "add --yes" in held.stderr
    assert all(gap in held.stdout for gap in GAPS)
    approved = await engagectl("--json", "products", "approve", "personal-loan", "1", "--yes", token=ben)
    assert approved.exit_code == 0, approved.stderr
    shown = json.loads(approved.stdout)
    assert shown["product_version"]["state"] == "APPROVED"
    assert [g["text"] for g in shown["coverage"]["gaps"]] == GAPS

    versions = await engagectl("products", "versions", "list", "personal-loan", token=ana)
    assert versions.exit_code == 0 and "APPROVED" in versions.stdout and "ben" in versions.stdout
    quoted = await engagectl("products", "quote", "personal-loan", "rich", "--amount", "15000", "--term", "36",
                             token=ana)
    assert quoted.exit_code == 0, quoted.stderr
    assert "451.59 EUR" in quoted.stdout and "5.3%" in quoted.stdout and "life insurance" in quoted.stdout
    as_json = await engagectl("--json", "products", "quote", "personal-loan", "modest", "--amount", "7000",
                              "--term", "36", token=ana)
    assert json.loads(as_json.stdout)["pricing"]["monthly_instalment"]["amount"] == "208.23"
