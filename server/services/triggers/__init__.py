"""Real-time triggers (issue 20; docs/triggers.md)."""
