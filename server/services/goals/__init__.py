"""Goals-based savings use cases: the programme and its goals (management), the calculation after each
posting and the tracking insights (tracking), funding programmes and transfers (funding), and the
reporting views (reports)."""
