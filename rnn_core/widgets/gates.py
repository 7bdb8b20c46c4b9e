"""The cell explorer of notebook 05: gradient norm through C and h for every cell."""
