"""The cliff, clipping, Pascanu's regulariser, the optimisers and weight decay, and the
reproduction of the papers' success rates (notebook 07)."""
