"""Where subscription settings are kept: the bank's defaults and each customer's own overrides."""

from __future__ import annotations

# The customer id under which the bank's defaults are kept (no customer has an empty id).
BANK_LEVEL = ""
