"""Segment expressions: the typed attribute catalogue, the expression language of personas (parsed
into a typed AST and validated against the catalogue), and its evaluation for one customer with an
explanation. The SQL form of an expression is the store's (server/store/segments_sql.py).
Reference: docs/segments.md."""
