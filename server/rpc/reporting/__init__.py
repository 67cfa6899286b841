"""engage.reporting.v1.ReportingService: one mixin of RPCs per view (docs/reporting.md)."""
