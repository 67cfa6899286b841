"""The Product Factory: products with versions (DRAFT → APPROVED → RETIRED, four eyes), availability rules
and pricing dimensions written as typed conditions over personas, attributes, amount and term, quotes
with an explanation of every choice, and the coverage and overlap analysis of a version's pricing grid.
Plain values and pure functions; each module's docstring states its policy (docs/products.md quotes
them)."""
