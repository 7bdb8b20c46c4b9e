"""Graders of the exercises of notebook 08 (keys "08.k")."""
