"""engagectl token mint signs locally, but only for a tenant the store has: a token for any other would
be refused at its first call, far from the mistake (usually another ENGAGE_HOME or DATABASE_URL)."""

from __future__ import annotations

from server.security.tokens import TokenVerifier


async def test_an_unknown_tenant_is_refused_naming_the_store(engagectl, server, tenant):
    refused = await engagectl("token", "mint", "--tenant", f"{tenant}-typo", "--role", "service", "--sub", "loader")
    assert (refused.exit_code, refused.stdout) == (1, "")
    assert refused.stderr.startswith(f"error: no tenant '{tenant}-typo' in the store at ")
    assert refused.stderr.strip().endswith(f"create it with engagectl tenants create {tenant}-typo")
    assert refused.stderr.count("\n") == 1


async def test_a_disabled_tenant_gets_its_token_with_a_warning(engagectl, server, services, tenant):
    await services.tenants.disable(tenant)
    minted = await engagectl("token", "mint", "--tenant", tenant, "--role", "service", "--sub", "loader")
    assert minted.exit_code == 0, minted.stderr
    assert TokenVerifier.from_settings(server.settings).verify(minted.stdout.strip()).tenant_id == tenant
    assert minted.stderr.strip() == (f"warning: tenant '{tenant}' is disabled: the server refuses its tokens "
                                     f"(TENANT_DISABLED) until engagectl tenants enable {tenant}")
