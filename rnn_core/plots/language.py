"""Figures of notebook 08: learning curves, bits per character, seq2seq errors."""
