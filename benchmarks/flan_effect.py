"""FLAN's held-out-cluster test on the shipped decoder: does instruction tuning on some task clusters raise zero-shot
accuracy on a cluster it never saw?

    python benchmarks/flan_effect.py --heldout sentiment                  # one leave-one-cluster-out split
    python benchmarks/flan_effect.py --heldout nli --seed 1 --cpu-minutes 5
    python benchmarks/flan_effect.py --heldout topic --train-clusters 2   # tune on 2 clusters only (an ablation)
    python benchmarks/flan_effect.py --heldout counting --rewrites 3000   # mix in 3,000 distinct rewrite instructions

The protocol is Wei et al. (2021)'s, run by `instruct_nb.unseen.loco`: hold out whole clusters and every trained task
that shares a skill with them; tune the shipped decoder on the rest (a FLAN mixture, 300 rows per task, the SFT
chapter's decoder recipe); score the held-out tasks zero-shot, by rank classification where a task has options and
by exact match otherwise. Baselines are the untuned base on the same examples: zero-shot in each prompt layout (the
best layout per task is the baseline: an upper bound on prompt engineering) and 3-shot. The gain is tuned minus best
base zero-shot, averaged over held-out tasks, with a paired bootstrap 95% interval. Classification tasks are scored
a second time with their options listed in the prompt (FLAN's options suffix): the listed_base and listed_tuned columns.

The budget is process CPU time (one thread by default). Tuned models are cached under ~/.cache/instruct_nb/flan_effect
(`INSTRUCT_NB_CACHE` moves it). The last line is `heldout_gain=<mean> ci_low=<l> ci_high=<h>`.
"""
from __future__ import annotations
import argparse, json, os
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
import pandas as pd
import torch

from instruct_nb.tasks import TASKS
from instruct_nb.unseen import loco


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--heldout', required=True, help='comma list of clusters to hold out')
    p.add_argument('--seed', type=int, default=0, help='tuning seed')
    p.add_argument('--cpu-minutes', type=float, default=5.0, help='tuning budget, in process CPU minutes')
    p.add_argument('--n-train', type=int, default=300, help='tuning rows per trained task')
    p.add_argument('--n-eval', type=int, default=50, help='evaluation examples per held-out task')
    p.add_argument('--train-clusters', type=int, default=None, help='tune on this many clusters (drawn by --seed)')
    p.add_argument('--variants', default='all', choices=['all', 'zero'], help="'all': zero-shot, few-shot, options, inversion rows")
    p.add_argument('--templates', default='all', choices=['all', 'one'], help='templates per trained task')
    p.add_argument('--rewrites', type=int, default=0, help='also tune on this many rewrite rows (distinct instructions)')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--out', default=None, help='write per-example results as JSON here')
    a = p.parse_args(argv)
    if a.cpu_minutes <= 0 or a.n_train < 1 or a.n_eval < 1 or a.rewrites < 0:
        raise SystemExit('--cpu-minutes, --n-train and --n-eval must be positive, --rewrites >= 0')
    clusters = {t.cluster for t in TASKS.values()}
    held = a.heldout.split(',')
    if bad := [c for c in held if c not in clusters]: raise SystemExit(f'--heldout: unknown clusters {bad}; known: {sorted(clusters)}')
    torch.set_num_threads(a.threads)
    r = loco(held, a.seed, a.cpu_minutes, a.n_train, a.n_eval, a.train_clusters, a.variants, a.templates, a.rewrites)
    print(f"held out {held}: {r['held']}\ntuned on {len(r['train'])} tasks in "
          f"{len({TASKS[t].cluster for t in r['train']})} clusters: {r['info']}")
    table = pd.DataFrame({k: v.groupby('task', sort=False)['correct'].mean() for k, v in r['runs'].items()})
    table.insert(0, 'best_zero', r['best_zero'].groupby(r['runs']['tuned']['task'], sort=False).mean())
    print(table.round(3).to_string())
    if a.out:
        Path(a.out).write_text(json.dumps(dict(args=vars(a), train=r['train'], held=r['held'], info=r['info'], gain=r['gain'],
                                               runs={k: v.to_dict('list') for k, v in r['runs'].items()})))
    g, lo, hi = r['gain']
    print(f'heldout_gain={g:.3f} ci_low={lo:.3f} ci_high={hi:.3f}')


if __name__ == '__main__':
    main()
