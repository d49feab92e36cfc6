"""Benchmark: the 4,500-start Chinchilla grid fit (Hoffmann et al. 2022, Approach 3) on the 240 replication points.

Compares `instruct_nb.scaling.fit_chinchilla` (batched L-BFGS over all starts in torch float64, the best few polished
with scipy) with the straightforward loop, one `scipy.optimize.minimize(method='L-BFGS-B')` per start with the same
numpy objective and analytic gradient. Both must reach the same optimum. Both run single-threaded (torch threads,
BLAS threads): on a small shared CPU threads mostly wait for each other, and it keeps the comparison fair.

    nice -n 10 python benchmarks/scaling.py            # scipy side timed on a random 20% of the starts, extrapolated
    nice -n 10 python benchmarks/scaling.py --full     # scipy side on all 4,500 starts (minutes)

The data are the 240 points shipped in the package (`instruct_nb/assets/scaling/`, see its README); `--data` reads
another CSV with the same columns.

The last line is `speedup_vs_scipy=<ratio>`.
"""
import argparse, os, time
for _v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):  # both sides single-threaded, set before numpy
    os.environ.setdefault(_v, '1')                                       # loads (threaded BLAS made scipy's loop ~10x slower here)
import numpy as np
import torch
from instruct_nb.scaling import chinchilla_grid, fit_chinchilla, fit_chinchilla_loop, load_chinchilla

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--full', action='store_true', help='run the scipy loop on all 4,500 starts')
    ap.add_argument('--frac', type=float, default=0.2, help='fraction of starts for the scipy loop without --full')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=1, help='torch threads (1: like the single-threaded scipy loop)')
    ap.add_argument('--data', default=None, help='a CSV like the shipped chinchilla_svg_extracted_data.csv')
    args = ap.parse_args()
    torch.set_flush_denormal(True); torch.set_num_threads(args.threads)
    d = load_chinchilla(args.data)
    src = f"{args.data or 'Besiroglu et al. replication data, shipped with the package'} ({len(d['N'])} points)"
    G = chinchilla_grid()
    print(f'data: {src}; starts: {len(G)}; torch threads: {torch.get_num_threads()}')

    fit_chinchilla(d['N'], d['D'], d['L'], starts=G[:64])            # warm-up (imports, allocator)
    t0 = time.perf_counter(); ours = fit_chinchilla(d['N'], d['D'], d['L']); t_ours = time.perf_counter() - t0
    print(f'batched : {t_ours:7.2f} s  loss {ours.loss:.10e}  {ours}')

    idx = np.arange(len(G)) if args.full else np.sort(np.random.default_rng(args.seed).choice(len(G), int(args.frac * len(G)), replace=False))
    t0 = time.perf_counter(); ref = fit_chinchilla_loop(d['N'], d['D'], d['L'], starts=G[idx]); t_ref = time.perf_counter() - t0
    t_ref_all = t_ref * len(G) / len(idx)
    note = '' if args.full else f' (timed on {len(idx)} random starts, extrapolated x{len(G) / len(idx):.1f} to all {len(G)})'
    print(f'scipy   : {t_ref_all:7.2f} s{note}  loss {ref.loss:.10e}  {ref}')

    rel = {k: abs(getattr(ours, k) / getattr(ref, k) - 1) for k in ('A', 'B', 'E', 'alpha', 'beta')}
    same = ours.loss <= ref.loss * (1 + 1e-7) and max(rel.values()) < 2e-3
    print(f"same optimum: {same} (loss ours/scipy - 1 = {ours.loss / ref.loss - 1:+.2e}; max relative parameter gap {max(rel.values()):.1e})")
    if not same: raise SystemExit('the two fits disagree')
    print(f'speedup_vs_scipy={t_ref_all / t_ours:.1f}')

if __name__ == '__main__': main()
