"""Graders of the exercises of notebook 05 (keys "05.k")."""
