"""`make bench`: transactions/s through IngestService.IngestTransactions against the physical ceiling
of a bare bulk load into the same schema, on SQLite and PostgreSQL. Not part of `make test`: it
prints figures and writes var/bench.json, and asserts nothing about time."""
