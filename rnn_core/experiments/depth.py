"""Stacked, bidirectional and gated-feedback networks: gradient flow through depth and
time, the future leak, the reset gates, the cost (notebook 06)."""
