"""Instruction diversity on the shipped decoder (Zhang, Wang & Charton 2024): exact match on rewrite instructions never
seen in tuning, against the number of distinct instructions in a fixed budget of tuning examples.

    python benchmarks/instruction_diversity.py                       # k = 10 ... 12,000; 18,000 examples
    python benchmarks/instruction_diversity.py --k 10,12000 --seed 1 --cpu-minutes 4

Each run tunes the shipped decoder for `--cpu-minutes` of process CPU time (one thread) on `--n` examples spread over
k instructions of `unseen.rewrite_instructions` (replace / delete / after rules over the world's nouns; each rule
type gets a third of the examples and of the k instructions, `delete` at most its 72), then scores greedy exact
match on 300 unseen instructions of those rule types and on 100 of a rule type never trained (`before`). Runs are
cached under ~/.cache/instruct_nb/instruction_diversity. The last line is
`unseen_instruction_accuracy=<most diverse> few_instruction_accuracy=<least diverse>`.
"""
from __future__ import annotations
import argparse, os

os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
import torch

from instruct_nb.unseen import diversity_run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--k', default='10,100,300,1000,3000,12000', help='comma list of distinct training instructions')
    p.add_argument('--n', type=int, default=18_000, help='tuning examples per run (fixed across k)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cpu-minutes', type=float, default=5.0, help='tuning budget per run, in process CPU minutes')
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    ks = [int(k) for k in a.k.split(',')]
    if any(k < 1 for k in ks): raise SystemExit(f'--k {a.k}: every k must be a positive integer')
    print(f"{'k':>6} {'per instr.':>10} {'steps':>6} {'seen':>6} {'unseen':>7} {'unseen rule':>12}  unseen by rule", flush=True)
    res = []
    for k in ks:
        try: r = diversity_run(k, a.n, a.seed, a.cpu_minutes)
        except ValueError as e: raise SystemExit(f'--k {k} --n {a.n}: {e}') from None
        res.append(r)
        by = ' '.join(f'{x} {v:.2f}' for x, v in r['by_rule'].items())
        print(f"{k:>6} {a.n / k:>10.1f} {r['info']['steps']:>6} {r['seen']:>6.3f} {r['unseen']:>7.3f} {r['unseen_rule']:>12.3f}  {by}",
              flush=True)
    most, least = max(res, key=lambda r: r['k']), min(res, key=lambda r: r['k'])
    print(f"unseen_instruction_accuracy={most['unseen']:.3f} few_instruction_accuracy={least['unseen']:.3f}")


if __name__ == '__main__':
    main()
