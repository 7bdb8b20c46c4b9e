"""The character language model and the sequence-to-sequence model (notebook 08)."""
