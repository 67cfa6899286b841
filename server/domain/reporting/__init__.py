"""The reporting views (docs/reports.md) and their exports (docs/exports.md)."""
