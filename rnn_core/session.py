"""The notebooks' session: numpy's BLAS on the thread count the tests run with.

`make test` and `make notebooks` run the notebooks with OPENBLAS_NUM_THREADS=1; a kernel
that a student starts (`make lab`, Colab, Binder) has one BLAS thread per core. The
matrices of this course are small, and on two threads their products wait for each other
whenever the other core is busy (the browser, another kernel), so a notebook ran several
times slower there than under the tests. Each notebook's setup cell therefore calls
`blas_threads()`, and the student's setting is the tested one.

The environment variable takes effect only before numpy is imported; threadpoolctl (a small
library from the scikit-learn developers) changes the thread count of the BLAS that numpy
has already loaded, and is a no-op where there is none to find (Pyodide).
"""
import numpy as np  # noqa: F401  (loads numpy's BLAS, which threadpoolctl looks for)
from threadpoolctl import threadpool_info, threadpool_limits

from . import validate


def blas_threads(n=1):
    """Run numpy's matrix products on n BLAS threads for the rest of the session.

    n: a positive integer (1, as the tests run). Returns None; `threadpool_info()` reports
    each BLAS library found and its `num_threads`.
    """
    n = validate.check_int("n", n, low=1)
    threadpool_limits(limits=n, user_api="blas")


def blas_thread_counts():
    """{file name of each BLAS library numpy loaded: its number of threads now}."""
    return {info["filepath"].rsplit("/", 1)[-1]: info["num_threads"]
            for info in threadpool_info() if info["user_api"] == "blas"}
