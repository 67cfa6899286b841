"""Real-time triggers: the condition language of trigger rules (condition.py, parser.py), the per-account
day series and evaluation, the rules' lifecycle and the firing decisions. Pure domain: no SQL, gRPC or
Redis. Reference: docs/triggers.md."""
