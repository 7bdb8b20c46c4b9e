"""Figures of notebook 06: depth, direction and gated feedback."""
