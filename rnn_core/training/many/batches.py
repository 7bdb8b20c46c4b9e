"""fit's training batches for many runs at once: the batch generators' states computed
together, and the tasks' batches written straight into stacked (A, T, N, D) arrays.

`train.fit` draws each batch as task.resample(N, seed=s): a fresh np.random.default_rng(s).
Building one costs about 16 µs here (SeedSequence hashes the seed, then PCG64 seeds
itself), more than drawing a batch of the adding task, and multirun.fit_many needs one per
run and update. So this module computes those generators' states for many seeds at once:

  pcg64_states(seeds)  what default_rng(s).bit_generator.state is for each seed s: numpy's
                       SeedSequence (bit_generator.pyx: hash the seed's 32-bit words into a
                       pool of four, then generate_state(4, uint64)) in uint32 arithmetic on
                       arrays over the seeds, then PCG64's seeding (pcg64.c,
                       pcg_setseq_128_srandom_r: state = ((inc + seed) M + inc) mod 2^128);
  Batches              the A generators of one update: A reusable PCG64 bit generators set
                       to those states; .generators() for a task's own draw function, and
                       .raw(n) for their first n 64-bit outputs, from which the adding
                       task's batches are assembled for all runs at once (numpy's
                       next_double and Lemire's bounded integers, as distributions.c).

Both are checked against numpy itself: pcg64_states once per process on a few seeds
(`exact()`: if numpy ever seeds differently, default_rng is used instead, same result,
slower), and the adding writer falls back to the task's own draw for any run whose bounded
integers would need numpy's rejection step (probability below T / 2^32 per draw).
SeedBlock and draw are multirun.fit_many's side of it: every run's batch seeds a block of
updates ahead, and one update's batches. tests/test_batches.py: every writer equals
task.resample bit for bit; tests/test_multirun.py: fit_many equals fit run for run.
"""
import numpy as np

from .. import tasks
from .parallel import _buffer

# SeedSequence's constants (numpy/random/bit_generator.pyx) and PCG64's multiplier (pcg64.h)
INIT_A, MULT_A, INIT_B, MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
MIX_MULT_L, MIX_MULT_R, XSHIFT = 0xCA01F9DD, 0x4973F715, np.uint32(16)
POOL = 4
PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645
M32, M128 = 0xFFFFFFFF, (1 << 128) - 1
SEED_LIMIT = 1 << 64             # seeds of at most two 32-bit words take the array path


# ----------------------------------------------------------------------------------------
# default_rng(seed)'s state for many seeds
# ----------------------------------------------------------------------------------------

def _hashmix(value, hc):
    """bit_generator.pyx hashmix on an array of uint32; hc, the running hash constant, is
    the same for every seed (it depends only on how many words were hashed before)."""
    value = value ^ np.uint32(hc)
    hc = (hc * MULT_A) & M32
    value = value * np.uint32(hc)
    return value ^ (value >> XSHIFT), hc


def _mix(x, y):
    r = np.uint32(MIX_MULT_L) * x - np.uint32(MIX_MULT_R) * y
    return r ^ (r >> XSHIFT)


def _pools(seeds):
    """SeedSequence(s).pool for seeds (A,) uint64 < 2^64 -> four (A,) uint32 arrays.
    A seed's entropy is its 32-bit words, least significant first ([0] for 0); words past
    the entropy hash as 0, so one and two words are the same two-word computation."""
    words = [(seeds & np.uint64(M32)).astype(np.uint32), (seeds >> np.uint64(32)).astype(np.uint32)]
    zero = np.zeros(len(seeds), np.uint32)
    hc, pool = INIT_A, []
    for i in range(POOL):
        v, hc = _hashmix(words[i] if i < len(words) else zero, hc)
        pool.append(v)
    for i_src in range(POOL):                    # every word mixed into every other
        for i_dst in range(POOL):
            if i_src != i_dst:
                h, hc = _hashmix(pool[i_src], hc)
                pool[i_dst] = _mix(pool[i_dst], h)
    return pool


def _generate_state(pool):
    """SeedSequence.generate_state(4, np.uint64) from the pools: four (A,) uint64 arrays."""
    hc, out = INIT_B, []
    for i in range(2 * 4):
        d = pool[i % POOL] ^ np.uint32(hc)
        hc = (hc * MULT_B) & M32
        d = d * np.uint32(hc)
        out.append(d ^ (d >> XSHIFT))
    return [out[2 * j].astype(np.uint64) | (out[2 * j + 1].astype(np.uint64) << np.uint64(32))
            for j in range(4)]


def _pcg64_seed(v0, v1, v2, v3):
    """pcg64_set_seed(seed = (v0, v1), inc = (v2, v3)), high word first: -> (state, inc)."""
    seed, inc = (v0 << 64) | v1, ((((v2 << 64) | v3) << 1) | 1) & M128
    return ((inc + seed) * PCG_MULT + inc) & M128, inc       # step, add the seed, step


def _state_dict(state, inc):
    return {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
            "has_uint32": 0, "uinteger": 0}


def pcg64_states(seeds):
    """[np.random.default_rng(s).bit_generator.state for s in seeds], computed together.
    seeds: non-negative Python or numpy integers; those >= 2^64 (more than two entropy
    words) are built by default_rng itself."""
    seeds = [int(s) for s in seeds]
    if any(s < 0 for s in seeds):
        raise ValueError(f"seeds: expected non-negative integers, received {min(seeds)}")
    small = [s for s in seeds if s < SEED_LIMIT]
    out = {}
    if small and exact():
        v = _generate_state(_pools(np.array(small, dtype=np.uint64)))
        for s, v0, v1, v2, v3 in zip(small, *(a.tolist() for a in v)):
            out[s] = _state_dict(*_pcg64_seed(v0, v1, v2, v3))
    return [out[s] if s in out else np.random.default_rng(s).bit_generator.state
            for s in seeds]


_EXACT = []


def exact():
    """True if pcg64_states' array path gives numpy's own states (checked once per process
    on seeds of one and two words, 0 and the largest)."""
    if not _EXACT:
        probe = [0, 1, 12345, M32, M32 + 1, 2 ** 61 + 7, SEED_LIMIT - 1]
        v = _generate_state(_pools(np.array(probe, dtype=np.uint64)))
        ours = [_state_dict(*_pcg64_seed(*w)) for w in zip(*(a.tolist() for a in v))]
        _EXACT.append(all(o == np.random.default_rng(s).bit_generator.state
                          for o, s in zip(ours, probe)))
    return _EXACT[0]


class Batches:
    """The generators of one update's A batches, one per run: Batches(states) with states
    from pcg64_states (or Batches.from_seeds(seeds)). pool: a list of PCG64 bit generators
    kept by the caller across updates (it grows to A); each is set to its state here."""

    def __init__(self, states, pool=None):
        pool = [] if pool is None else pool
        while len(pool) < len(states):
            pool.append(np.random.PCG64(0))
        self.states, self.bitgens = states, pool[:len(states)]

    @classmethod
    def from_seeds(cls, seeds, pool=None):
        return cls(pcg64_states(seeds), pool)

    def __len__(self):
        return len(self.states)

    def generator(self, j):
        """Generator j set to its start: default_rng(seed j) as a fresh one would be."""
        bg = self.bitgens[j]
        bg.state = self.states[j]
        return np.random.Generator(bg)

    def generators(self):
        return [self.generator(j) for j in range(len(self))]

    def raw(self, n):
        """(A, n) uint64: each generator's first n 64-bit outputs (random_raw)."""
        out = np.empty((len(self), n), np.uint64)
        for j, (bg, st) in enumerate(zip(self.bitgens, self.states)):
            bg.state = st
            out[j] = bg.random_raw(n)
        return out


# ----------------------------------------------------------------------------------------
# What numpy makes of 64-bit outputs
# ----------------------------------------------------------------------------------------

def _doubles(raw):
    """next_double: (r >> 11) * 2^-53, the doubles random() and uniform(0, 1) return."""
    return (raw >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def _words32(raw):
    """next_uint32 on PCG64 serves each 64-bit output as two words, low half first."""
    return np.stack([raw & np.uint64(M32), raw >> np.uint64(32)], axis=-1).reshape(len(raw), -1)


def _lemire(words, low, high):
    """integers(low, high, size=n) from n 32-bit words per row (words (A, n) uint64 < 2^32),
    as buffered_bounded_lemire_uint32. Returns (values (A, n) int64, ok (A,) bool): ok is
    False where a word falls in the rejection zone, where numpy would draw another word."""
    n_excl = high - low
    m = words * np.uint64(n_excl)
    threshold = (1 << 32) % n_excl                 # (UINT32_MAX - rng) % rng_excl
    ok = ((m & np.uint64(M32)) >= np.uint64(threshold)).all(axis=1)
    return (m >> np.uint64(32)).astype(np.int64) + low, ok


# ----------------------------------------------------------------------------------------
# The tasks' batch writers
# ----------------------------------------------------------------------------------------

def _adding_into(draws, x, y, T, **_):
    """tasks.adding(N, T, seed)'s batches, one per generator of draws, into x (A, T, N, 2)
    and y (A, N, 1), unchecked. Its draws are values = uniform(0, 1, (N, T)) (N T outputs),
    then integers(0, T//2, N) and integers(T//2, T, N) (N 32-bit words each, none for a
    half of one position): assembled from raw outputs for all runs together."""
    A, N = len(draws), x.shape[2]
    halves = [(0, T // 2), (T // 2, T)]
    n_words = [N if hi - lo > 1 else 0 for lo, hi in halves]
    raw = draws.raw(N * T + (sum(n_words) + 1) // 2)
    values = _doubles(raw[:, :N * T]).reshape(A, N, T)
    words = _words32(raw[:, N * T:])
    marks, ok, at = [], np.ones(A, bool), 0
    for (lo, hi), n in zip(halves, n_words):
        if n:
            m, fine = _lemire(words[:, at:at + n], lo, hi)
            ok &= fine
        else:
            m = np.full((A, N), lo, np.int64)        # integers(lo, lo + 1) draws nothing
        marks.append(m)
        at += n
    first, second = marks
    for j in np.flatnonzero(~ok):                     # numpy rejected a word: its own draw
        values[j], first[j], second[j] = tasks._adding_draw(draws.generator(j), N, T)
    a, n = np.arange(A)[:, None], np.arange(N)
    x[..., 0] = values.transpose(0, 2, 1)
    x[..., 1] = 0
    x[a, first, n, 1] = 1
    x[a, second, n, 1] = 1
    y[..., 0] = values[a, n, first] + values[a, n, second]     # adding's sum: its other terms are 0


def _temporal_order_into(draws, x, y, T, **_):
    """temporal_order's batches into x (A, T, N, 8) and y (A, N), by its own draw function."""
    for j, rng in enumerate(draws.generators()):
        ids, y[j] = tasks._temporal_order_draw(rng, x.shape[2], T)
        _one_hot_into(ids, x[j])


def _memory_into(draws, x, y, T, symbol, position, n_symbols, **_):
    """memory's batches into x (A, T, N, n_symbols) and y (A, N), by its own draw function."""
    lo, hi = tasks._window(position, T)
    for j, rng in enumerate(draws.generators()):
        ids, y[j] = tasks._memory_draw(rng, x.shape[2], T, symbol, n_symbols, lo, hi)
        _one_hot_into(ids, x[j])


def _one_hot_into(ids, x):
    """x (T, N, D) = the one-hot encoding of ids (N, T), time-major, in place."""
    T, N, _ = x.shape
    x[...] = 0
    x[np.arange(T)[:, None], np.arange(N), ids.T] = 1


# Unchecked batch writers for trainers that draw many batches (multirun.fit_many): name ->
# (into(draws, x (A, T, N, D), y (A, N[, O]), **task.options), the loss): A batches, one
# per generator of draws (a Batches), each the batch task.resample(N, seed) draws.
INTO = {"adding": (_adding_into, "mse"), "temporal_order": (_temporal_order_into, "xent"),
        "memory": (_memory_into, "xent")}


# ----------------------------------------------------------------------------------------
# One update's batches for the trainer
# ----------------------------------------------------------------------------------------

class SeedBlock:
    """The batch seeds of every run, BLOCK updates ahead: fit draws update k's batch as
    task.resample(N, seed=s_k), s_k = data_rng.integers(2 ** 62), one scalar draw per update
    (a block of draws with size= is the same stream). For a task with a writer in INTO the
    seeds' generator states are computed too, for all runs of the block at once
    (pcg64_states)."""
    BLOCK = 64

    def __init__(self, data_rngs, task):
        self.rngs = data_rngs
        self.writer = task.name in INTO and not task.many_to_many
        self.seeds, self.states, self.start, self.pool = {}, {}, None, []

    def take(self, active, step, steps):
        """(seeds, Batches or None) of this update for the runs in active."""
        if self.start is None or step - self.start >= self.BLOCK:
            n = min(self.BLOCK, steps - step)
            self.start = step
            self.seeds = {r: self.rngs[r].integers(2 ** 62, size=n).tolist() for r in active}
            if self.writer:
                flat = pcg64_states([s for r in active for s in self.seeds[r]])
                self.states = {r: flat[j * n:(j + 1) * n] for j, r in enumerate(active)}
        i = step - self.start
        seeds = [self.seeds[r][i] for r in active]
        draws = Batches([self.states[r][i] for r in active], self.pool) if self.writer else None
        return seeds, draws


def draw(task, block, N, dtype, ws):
    """One training batch per run from its own stream, as fit draws it (task.resample with
    its seed). block: (seeds, Batches or None) from SeedBlock.take; ws: the trainer's
    workspace. Returns (xs (A, T, N, D), data for stacked_loss._losses): a task with an
    unchecked writer in INTO is written straight into the stacked arrays."""
    seeds, draws = block
    A, T, D = len(seeds), task.T, task.D
    xs = _buffer(ws, "xs", (A, T, N, D), dtype)
    if draws is not None:                             # SeedBlock found a writer for the task
        into, kind = INTO[task.name]
        shape, yt = ((A, N, task.n_out), dtype) if kind == "mse" else ((A, N), np.int64)
        ys = _buffer(ws, "ys", shape, yt)
        into(draws, xs, ys, **task.options)
        return xs, (kind, ys)
    out = []
    for j, s in enumerate(seeds):
        b = task.resample(N, seed=s)
        xs[j] = b.x.transpose(1, 0, 2)
        out.append(b)
    return xs, ("batches", out)
