"""The explorers of notebook 07 (the cliff: learning rate and clipping threshold)."""
