"""Training: the tasks, the corpus, the fit loop, the encoder-decoder, and many runs at once.

    tasks      the synthetic tasks (adding, temporal order, memory, lookahead, ...) and text
    task_checks  what the tasks share: argument checks, one-hot inputs, how a prediction scores
    corpus     the shipped character corpus and its next-character task
    train      fit: the training loop of one model, and sample_text
    language   the character language model: loss, bits per character, train_lm
    sampling   text from a character model: the one sampler
    seq2seq    the encoder-decoder: forward and exact BPTT through both RNNs
    many/      fit_many: K runs of fit as one computation, and the seed grids built on it
"""
from . import corpus, language, sampling, seq2seq, task_checks, tasks, train  # noqa: F401
