"""The explorers of notebook 08 (sampling: temperature and prime text)."""
