"""Hypothesis strategies and the properties, run against any target (shared/target-spec.md)."""
