"""Graders of the exercises of notebook 06 (keys "06.k")."""
