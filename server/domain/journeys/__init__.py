"""Journeys: versioned sets of steps whose ordered flow-control rules (segment expressions over the
customer's attributes, personas and the data captured so far) choose the next step or another journey.
The definition and its checks at save (model.py, validate.py), and the pure routing function
(routing.py). Reference: docs/journeys.md."""
