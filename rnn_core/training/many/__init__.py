"""Many training runs of one cell at once, equal run for run to separate fits.

    multirun       fit_many: K runs of train.fit as one computation
    parallel       the K runs' parameter layout and sequence passes (forward, BPTT)
    parallel_loss  the K runs' readout, losses, gradients and norms
    batches        the K runs' training batches, each from its own generator, as fit draws them
    seedgrid       grid: lengths x methods x seeds through fit_many, with Wilson intervals
"""
from . import batches, multirun, parallel, parallel_loss, seedgrid  # noqa: F401
