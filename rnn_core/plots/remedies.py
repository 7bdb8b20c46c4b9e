"""Figures of notebook 07: the cliff, clipping, the regulariser, the reproduction table."""
