"""The LSTM's and the GRUs' gradient flow, where memory lives, and learning across a lag
(notebook 05)."""
