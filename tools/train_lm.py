"""The longer language-model run behind `make lm`: train the notebook-08 character LM for
longer than the notebook's time budget allows and report the validation bits per character.

    python tools/train_lm.py [--cell gru] [--H 256] [--steps 3000] [--N 32] [--T 64] ...

Prints the count-table baselines (order and smoothing chosen on the validation part, scored
on validation and test), the validation bpc every --val-every updates with the elapsed time,
a sample at temperature 0.7 from the best validation's params, and a last line
"train_lm: <cell> H=<H> (<n> parameters): <bpc> validation bpc after <steps> updates ...
test <bpc> bpc (best validation's params)".
Uses rnn_core.experiments.language.train_lm, the same loop as the notebook.
"""
import argparse
import os
import time

import numpy as np

from rnn_core.experiments import language, sampling


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cell", default="gru", choices=("rnn", "lstm", "gru"))
    ap.add_argument("--H", type=int, default=256)
    ap.add_argument("--D", type=int, default=None)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--N", type=int, default=32)
    ap.add_argument("--T", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--lr-end", type=float, default=2e-4, help="linear decay to this rate")
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-every", type=int, default=100)
    args = ap.parse_args(argv)

    chars, train, val, test = language.text_splits()
    tables = language.count_tables(train, val, test, len(chars))
    for k, a, v, t in zip(tables["order"], tables["alpha"], tables["val"], tables["test"]):
        chosen = " (chosen on validation)" if k == tables["order"][tables["chosen"]] else ""
        print(f"baseline {language.table_name(k, a)}: validation {v:.3f} bpc, test {t:.3f} bpc"
              f"{chosen}")
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"load average {os.getloadavg()[0]:.2f}")
    t0 = time.perf_counter()

    def report(step, bpc):
        print(f"  after {step:5d} updates: validation {bpc:.3f} bpc "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)

    run = language.train_lm(args.cell, H=args.H, D=args.D, N=args.N, T=args.T,
                            steps=args.steps, lr=args.lr, clip=args.clip, seed=args.seed,
                            val_every=args.val_every, on_validation=report,
                            lr_end=args.lr_end)
    print("sample at temperature 0.7:")
    print(sampling.sample(args.cell, run.best_params, chars, 400, "\n", 0.7, seed=args.seed))
    best = int(np.argmin(run.val_bpc))
    print(f"train_lm: {args.cell} H={args.H} ({run.n_params} parameters): "
          f"{run.val_bpc[-1]:.3f} validation bpc after {args.steps} updates "
          f"(best {run.val_bpc[best]:.3f} after {run.val_step[best]}) in {run.seconds:.0f} s, "
          f"load average {os.getloadavg()[0]:.2f}; test "
          f"{language.bpc(args.cell, run.best_params, test, N=8):.3f} bpc (best validation's params)")


if __name__ == "__main__":
    main()
