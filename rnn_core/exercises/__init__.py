"""Graders for the notebooks' exercises: rc.exercises.check("NN.k", answer).

`common` holds the registry, grade and check (see its docstring); one module per notebook
range registers its graders: ex01_04, ex05, ex06, ex07, ex08.
"""
from . import ex01_04, ex05, ex06, ex07, ex08
from .common import GRADERS, Unanswered, check, grade
