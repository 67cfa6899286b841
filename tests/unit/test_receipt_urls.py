"""Receipt URL tokens: valid only for the tenant and configuration they were made for, under a current
key; a rotation keeps the URLs given out before it working."""

from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from server.security.receipt_urls import ReceiptUrls

OLD, NEW, OTHER = (Fernet.generate_key().decode() for _ in range(3))
BASE = "https://engage.bank.example/receipts/"
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=40)


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


@given(tenant=ids, config=ids, other_tenant=ids, other_config=ids)
def test_a_token_names_one_tenant_and_one_configuration(tenant, config, other_tenant, other_config):
    urls = ReceiptUrls(BASE, [NEW])
    url = urls.url(tenant, config)
    assert url.startswith(f"https://engage.bank.example/receipts/{tenant}/{config}/")
    assert urls.token_valid(tenant, config, _token(url))
    if (other_tenant, other_config) != (tenant, config):
        assert not urls.token_valid(other_tenant, other_config, _token(url))


@given(tenant=ids, config=ids)
def test_rotation_accepts_tokens_of_earlier_keys_and_makes_new_ones_with_the_first(tenant, config):
    before, after = ReceiptUrls(BASE, [OLD]), ReceiptUrls(BASE, [NEW, OLD])
    given_out = _token(before.url(tenant, config))
    assert after.token_valid(tenant, config, given_out)
    assert _token(after.url(tenant, config)) == _token(ReceiptUrls(BASE, [NEW]).url(tenant, config)) != given_out
    assert not ReceiptUrls(BASE, [OTHER]).token_valid(tenant, config, given_out)


def test_tokens_that_are_not_the_right_text_are_refused():
    urls = ReceiptUrls(BASE, [NEW])
    token = _token(urls.url("bank-a", "cfg1"))
    for refused in ("", token[:-1], token + "A", token.upper(), "é" * len(token)):
        assert not urls.token_valid("bank-a", "cfg1", refused)
