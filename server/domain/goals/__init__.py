"""Goals-based savings: goals, the customer's enrolment and history, the allocation of a target account's
balance to its goals, milestones, forecasts, the Goal Tracker and funding programmes. Plain values and
pure functions; each module's docstring states its policy (docs/goals.md quotes them)."""
