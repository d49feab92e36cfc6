"""Time IFEval scoring of the 541 GPT-4 responses (strict + loose): `python benchmarks/ifeval.py [--repeat 3]`.

Needs IFEval's prompts and GPT-4's responses (`instruct-nb data fetch ifeval` downloads them; `shared_data` finds them);
exits with status 1 and a message naming that command when they are missing."""
import argparse, sys, time
from instruct_nb.ifeval import evaluate, load_ifeval, scores, count_sentences, _lang_factory

def main(repeat: int = 3):
    try: recs = load_ifeval()
    except FileNotFoundError as e: sys.exit(f'benchmarks/ifeval.py: IFEval data missing: {e}')
    t0 = time.perf_counter(); _lang_factory(); t_profiles = time.perf_counter() - t0  # one-off: langdetect's profiles
    n_inst = sum(len(r['instruction_id_list']) for r in recs)
    best = {}
    for mode in ('strict', 'loose'):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter(); res = evaluate(recs, loose=mode == 'loose'); times.append(time.perf_counter() - t0)
        best[mode] = min(times)
        s = scores(res)
        print(f'{mode:6s} {len(recs)} responses, {n_inst} instructions: best of {repeat} {best[mode]:.3f} s '
              f'({len(recs) / best[mode]:.0f} responses/s); prompt-level {100 * s["prompt_level"]:.2f}, '
              f'instruction-level {100 * s["instruction_level"]:.2f}')
    t0 = time.perf_counter(); n = sum(count_sentences(r['response']) for r in recs); t_sent = time.perf_counter() - t0
    print(f'strict + loose: {best["strict"] + best["loose"]:.3f} s (+ {t_profiles:.2f} s once to load language profiles)')
    print(f'sentence splitting alone: {n} sentences in {t_sent:.3f} s')

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repeat', type=int, default=3, help='runs per mode; the best is reported')
    a = p.parse_args()
    if a.repeat < 1: p.error(f'argument --repeat: expected a whole number >= 1, got {a.repeat}')
    main(a.repeat)
