"""Figures of notebook 05: LSTM and GRU gradient flow, connectivity, success against length."""
