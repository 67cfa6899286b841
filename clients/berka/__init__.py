"""The PKDD'99 financial data set (Berka): parsing, balance derivation and engage.ingest.v1 records."""
