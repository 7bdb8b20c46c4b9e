"""Graders of the exercises of notebook 07 (keys "07.k")."""
