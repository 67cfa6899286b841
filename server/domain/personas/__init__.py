"""Personas: the bank's attribute definitions as the catalogue sees them, customer attribute values,
and personas (named segment expressions). Reference: docs/personas.md."""
