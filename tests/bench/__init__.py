"""`make bench`: transactions/s through IngestService.IngestTransactions against the physical ceiling
of a bare bulk load into the same schema, and users/s of the monthly insight batch through the arq
workers against one bare INSERT ... SELECT, on SQLite and PostgreSQL. Not part of `make test`: it
prints figures and writes var/bench.json, and asserts nothing about time (only that the batch and
the bare statement generate the same items)."""
