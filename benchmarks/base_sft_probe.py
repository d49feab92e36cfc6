"""Quick SFT probe of a pretrained base model: does a few CPU-minutes of instruction tuning on top of it reach the
goals of the base-model issue (exact match >=80% on trained tasks with seen templates, >=60% with unseen templates,
>=30% on held-out tasks whose skills appear only in pre-training)? Compares SFT from the base with SFT from scratch.

    python benchmarks/base_sft_probe.py                       # shipped decoder, 5 CPU-minutes per run
    python benchmarks/base_sft_probe.py --base /tmp/pretrain/decoder --cpu-minutes 2 --runs base
    python benchmarks/base_sft_probe.py --kind t5 --runs zeroshot,base    # AdamWScale at lr 2e-2, no PTX by default

The budget is process CPU time (`time.process_time`, one thread by default), so the numbers do not depend on how many
other jobs share the machine. The default recipe is the best measured (see the probing chapter): prompts in the
corpus's quiz layout (`--format qa`), answer-only loss, lr 3e-4, and language-model loss on 4 blocks of corpus text
mixed into every step with weight 0.5 (`--ptx`, InstructGPT's PPO-ptx idea applied to SFT; `--ptx 0` turns it off;
for T5 the mixed-in loss would be span corruption, which halved its scores, so T5 defaults to none). T5 fine-tunes
with `AdamWScale` (steps relative to each weight's size).
Training is the library's trainer, `instruct_nb.sft.sft` (decoder: packed rows; T5: length-grouped batches), on a
mixture of the trained tasks (`flan.make_mixture`, equal rates, zero-shot, seen templates) put in the prompt layout as
`prompt`/`completion` records. Prints one line per split and run, then a summary line.
"""
from __future__ import annotations
import argparse, json, os

os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
import numpy as np
import torch

from instruct_nb.core import OPTIMIZERS, ModelConfig, save, tiny_causal_lm, tiny_t5
from instruct_nb.corpus import corpus
from instruct_nb.flan import make_mixture
from instruct_nb.pretrain import PROMPT_FORMATS, lm_batches, load_base, prompt_format, t5_batches, token_stream
from instruct_nb.probes import answer, score_tasks
from instruct_nb.sft import SFTConfig, as_prompt_completion, heldout_split, sft, task_records


def sft_data(tasks, n_per_task, fmt='qa', seq2seq=False, seed=0):
    "`n_per_task` examples of each task under random seen templates, as prompt/completion records in layout `fmt`."
    rows = make_mixture(tasks=tasks, n=n_per_task * len(tasks), rates=dict.fromkeys(tasks, 1.0), variants={'zero_shot': 1.0},
                        split='seen', seed=seed)
    wrap, lead = prompt_format(fmt)
    return as_prompt_completion(rows, layout=wrap, lead='' if seq2seq else lead)


def evaluate(model, tok, train, held, n, fmt='qa'):
    model.eval()
    r = dict(seen=score_tasks(model, tok, train, n, 'seen', fmt=fmt),
             unseen=score_tasks(model, tok, train, n, 'unseen', fmt=fmt),
             heldout=score_tasks(model, tok, held, n, 'all', fmt=fmt))
    return {k: (float(np.mean(list(v.values()))), v) for k, v in r.items()}


def show_errors(model, tok, tasks, n, fmt):
    "Print up to `n` wrong answers per task (seen templates), as prompt tail, target and answer."
    from instruct_nb.tasks import normalize
    rows = task_records(tasks, 4 * n, 'seen')
    preds = answer(model.eval(), tok, [r['input'] for r in rows], fmt=fmt)
    shown = {}
    for r, p in zip(rows, preds):
        name, inp, tgt = r['task'], r['input'], r['output']
        if normalize(p) != normalize(tgt) and shown.get(name, 0) < n:
            shown[name] = shown.get(name, 0) + 1; print(f'  {name}: ...{inp[-60:]!r} -> {p!r} (want {tgt!r})')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--kind', default='decoder', choices=['decoder', 't5'], help='which base model')
    p.add_argument('--base', default=None, help='directory of a pretrained base of --kind (default: the shipped one)')
    p.add_argument('--runs', default='zeroshot,base,scratch', help='comma list of: zeroshot, base, scratch')
    p.add_argument('--cpu-minutes', type=float, default=5.0, help='SFT budget per run, in process CPU minutes')
    p.add_argument('--format', default='qa', choices=sorted(PROMPT_FORMATS), help='prompt format for SFT and evaluation (default: qa)')
    p.add_argument('--lr-base', type=float, default=None, help="SFT lr from the base (default: the kind's SFTConfig preset)")
    p.add_argument('--lr-scratch', type=float, default=None, help='SFT lr from scratch (default: 1e-3 decoder, the preset t5)')
    p.add_argument('--optimizer', default=None, choices=sorted(OPTIMIZERS), help="default: the kind's SFTConfig preset")
    p.add_argument('--ptx', type=float, default=None, help="weight of the base's pre-training loss on corpus text mixed into SFT (0: none; default: the preset's)")
    p.add_argument('--ptx-bs', type=int, default=4, help='corpus blocks of 128 tokens per SFT step for --ptx')
    p.add_argument('--heldout', default='closed_book_qa,counting', help='held-out clusters')
    p.add_argument('--n-train', type=int, default=300, help='SFT examples per trained task')
    p.add_argument('--n-eval', type=int, default=20, help='evaluation examples per task and split')
    p.add_argument('--threads', type=int, default=1); p.add_argument('--seed', type=int, default=0)
    p.add_argument('--save', default=None, help='save each fine-tuned model to SAVE/RUN')
    p.add_argument('--show-errors', type=int, default=0, help='print this many wrong answers of each of the worst trained tasks')
    p.add_argument('--probe-every', type=int, default=0, help='print held-out exact match (10 per task) every this many steps')
    a = p.parse_args(argv)
    t5 = a.kind == 't5'
    preset = SFTConfig.t5 if t5 else SFTConfig.decoder
    over = {k: v for k, v in dict(optimizer=a.optimizer, ptx=a.ptx).items() if v is not None}
    torch.set_num_threads(a.threads)
    train, held = heldout_split(a.heldout.split(','))
    print(f'{len(train)} trained tasks, {len(held)} held-out tasks ({a.heldout}): {held}', flush=True)
    data = sft_data(train, a.n_train, a.format, t5, a.seed)
    base, tok = load_base(a.kind, path=a.base)
    cfg = preset(cpu_minutes=a.cpu_minutes, seed=a.seed, progress=False, log_every=50, **over)
    ptx = None
    if cfg.ptx:
        stream = token_stream(tok, corpus(1_000_000, seed=0))
        ptx = t5_batches(stream, tok, 128, a.ptx_bs, a.seed) if t5 else lm_batches(stream, 128, a.ptx_bs, a.seed)
    probe = lambda m: dict(heldout=round(float(np.mean(list(score_tasks(m, tok, held, 10, 'all', fmt=a.format).values()))), 3))
    results = {}
    for run in a.runs.split(','):
        if run == 'zeroshot': model, info = base, {}
        elif run in ('base', 'scratch'):
            if run == 'base': model, lr = load_base(a.kind, path=a.base)[0], a.lr_base or cfg.lr
            else:
                names = (dict(d_model='d_model', n_layers='num_layers', n_heads='num_heads', d_ff='d_ff') if t5 else
                         dict(d_model='hidden_size', n_layers='num_hidden_layers', n_heads='num_attention_heads', d_ff='intermediate_size'))
                sizes = ModelConfig(**{k: getattr(base.config, v) for k, v in names.items()})
                model, lr = (tiny_t5 if t5 else tiny_causal_lm)(tok, sizes, seed=a.seed), a.lr_scratch or (cfg.lr if t5 else 1e-3)
            model, hist = sft(model, tok, data, SFTConfig(**{**cfg.__dict__, 'lr': lr}), ptx_data=ptx,
                              eval_fn=probe if a.probe_every else None, eval_every=a.probe_every)
            for h in hist:
                if 'eval_heldout' in h: print(f"  probe at step {h['step']}: held-out {h['eval_heldout']}", flush=True)
            last = [h for h in hist if 'loss' in h][-1]
            info = dict(steps=last['step'], cpu_s=last['cpu_s'], wall_s=last['wall_s'], final_loss=round(last['loss'], 4),
                        tokens=last['num_tokens'])
        else: raise SystemExit(f'unknown run {run!r}: expected zeroshot, base or scratch')
        r = evaluate(model, tok, train, held, a.n_eval, a.format)
        results[run] = {k: round(v[0], 3) for k, v in r.items()} | info
        print(f'[{run}] ' + '  '.join(f'{k} {v[0]:.3f}' for k, v in r.items()) + f'  {info}', flush=True)
        print(f'[{run}] held-out per task: ' + ', '.join(f'{k} {v:.2f}' for k, v in r['heldout'][1].items()), flush=True)
        print(f'[{run}] trained per task (seen): ' + ', '.join(f'{k} {v:.2f}' for k, v in r['seen'][1].items()), flush=True)
        worst = sorted(r['seen'][1].items(), key=lambda kv: kv[1])[:6]
        print(f'[{run}] worst trained (seen): ' + ', '.join(f'{k} {v:.2f}' for k, v in worst), flush=True)
        if a.show_errors: show_errors(model, tok, [k for k, _ in worst], a.show_errors, a.format)
        if a.save and run != 'zeroshot': save(model, tok, os.path.join(a.save, run))
    print('RESULT ' + json.dumps(results))
    return results


if __name__ == '__main__':
    main()
