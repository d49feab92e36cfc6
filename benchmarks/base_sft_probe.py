"""Quick SFT probe of a pretrained base model: does a few CPU-minutes of instruction tuning on top of it reach the
goals of the base-model issue (exact match >=80% on trained tasks with seen templates, >=60% with unseen templates,
>=30% on held-out tasks whose skills appear only in pre-training)? Compares SFT from the base with SFT from scratch.

    python benchmarks/base_sft_probe.py                       # shipped decoder, 5 CPU-minutes per run
    python benchmarks/base_sft_probe.py --base /tmp/pretrain/decoder --cpu-minutes 2 --runs base

The budget is process CPU time (`time.process_time`, one thread by default), so the numbers do not depend on how many
other jobs share the machine. Answer-only loss; optionally mixed with language-model loss on the pre-training corpus
(`--ptx`, InstructGPT's PPO-ptx idea applied to SFT). Prints one line per split and run, then a summary line.
"""
from __future__ import annotations
import argparse, json, os, random, sys, time

os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
import numpy as np
import torch

from instruct_nb.core import lr_at, n_params, seed_everything, setup_cpu_training, tiny_causal_lm, autocast, ModelConfig
from instruct_nb.corpus import corpus
from instruct_nb.pretrain import load_base, exact_match, token_stream, lm_batches
from instruct_nb.tasks import TASKS


def split_tasks(heldout_clusters):
    "Held-out tasks (in `heldout_clusters`) and trained tasks (the rest, minus any sharing a skill with a held-out task)."
    held = [n for n, t in TASKS.items() if t.cluster in heldout_clusters]
    hskills = {s for n in held for s in TASKS[n].skills}
    train = [n for n, t in TASKS.items() if t.cluster not in heldout_clusters and not hskills & set(t.skills)]
    return train, held


def sft_examples(tasks, n_per_task, seed=0):
    "(input, target) pairs: `n_per_task` examples of each task, each under a random seen template."
    out = []
    for name in tasks:
        t, rng = TASKS[name], random.Random(f'sft-{name}-{seed}')
        ids = t.template_ids('seen')
        out += [t.format(ex, rng.choice(ids)) for ex in t.examples(n_per_task, seed=seed)]
    random.Random(seed).shuffle(out)
    return out


def sft_batch(tok, pairs, max_len=160):
    "Right-padded batch with labels only on the answer and `</s>` (prompt = `<s>` + input + newline)."
    ids, labels = [], []
    for inp, tgt in pairs:
        p = tok(tok.bos_token + inp + '\n', add_special_tokens=False)['input_ids']
        a = tok(tgt, add_special_tokens=False)['input_ids'] + [tok.eos_token_id]
        x = (p + a)[:max_len]
        ids.append(x); labels.append(([-100] * len(p) + a)[:max_len])
    L = max(map(len, ids))
    pad = lambda s, v: s + [v] * (L - len(s))
    x = torch.tensor([pad(s, tok.pad_token_id) for s in ids])
    return dict(input_ids=x, attention_mask=(x != tok.pad_token_id).long(),
                labels=torch.tensor([pad(s, -100) for s in labels]))


def sft(model, tok, pairs, cpu_minutes, lr, bs=32, ptx=0.0, ptx_stream=None, warmup=30, seed=0, log=True,
        probe_at=(), probe=None):
    "Fine-tune for `cpu_minutes` of process CPU time; lr warms up then decays (cosine) with the CPU time used."
    marks, trace = sorted(probe_at), []
    seed_everything(seed); setup_cpu_training()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    lm = lm_batches(ptx_stream, 128, 8, seed) if ptx else None
    rng, budget, c0, t0, step, losses = random.Random(seed), cpu_minutes * 60, time.process_time(), time.perf_counter(), 0, []
    while (used := time.process_time() - c0) < budget:
        frac = used / budget
        for g in opt.param_groups: g['lr'] = lr_at(int(frac * 1000), 1000, lr) if step >= warmup else lr * (step + 1) / warmup
        with autocast('cpu', torch.bfloat16):
            loss = model(**sft_batch(tok, rng.sample(pairs, bs))).loss
            if lm: loss = loss + ptx * model(**next(lm)).loss
        opt.zero_grad(set_to_none=True); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
        losses.append(loss.item()); step += 1
        if marks and used >= marks[0] * 60:
            c = time.process_time(); trace.append((marks.pop(0), step, probe(model))); model.train()
            c0 += time.process_time() - c                                  # probing is not training time
            if log: print(f'  probe at {trace[-1][0]} CPU-min (step {step}): {trace[-1][2]}', flush=True)
        if log and step % 50 == 0: print(f'  step {step:4d}  loss {np.mean(losses[-50:]):.3f}  cpu {used:5.0f}s  wall {time.perf_counter() - t0:5.0f}s', flush=True)
    return dict(steps=step, cpu_s=round(time.process_time() - c0, 1), wall_s=round(time.perf_counter() - t0, 1),
                final_loss=round(float(np.mean(losses[-50:])), 4), **({'probes': trace} if trace else {}))


def evaluate(model, tok, train, held, n):
    model.eval()
    r = dict(seen=exact_match(model, tok, train, n, 'seen'), unseen=exact_match(model, tok, train, n, 'unseen'),
             heldout=exact_match(model, tok, held, n, 'all'))
    return {k: (float(np.mean(list(v.values()))), v) for k, v in r.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--base', default=None, help='directory of a pretrained decoder (default: the shipped one)')
    p.add_argument('--runs', default='zeroshot,base,scratch', help='comma list of: zeroshot, base, scratch')
    p.add_argument('--cpu-minutes', type=float, default=5.0, help='SFT budget per run, in process CPU minutes')
    p.add_argument('--lr-base', type=float, default=3e-4); p.add_argument('--lr-scratch', type=float, default=1e-3)
    p.add_argument('--ptx', type=float, default=0.0, help='weight of corpus LM loss mixed into SFT (0: none)')
    p.add_argument('--heldout', default='closed_book_qa,counting', help='held-out clusters')
    p.add_argument('--n-train', type=int, default=300, help='SFT examples per trained task')
    p.add_argument('--n-eval', type=int, default=20, help='evaluation examples per task and split')
    p.add_argument('--threads', type=int, default=1); p.add_argument('--seed', type=int, default=0)
    p.add_argument('--probe-at', default='', help='comma list of CPU-minutes at which to print held-out exact match (10 per task)')
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    train, held = split_tasks(a.heldout.split(','))
    print(f'{len(train)} trained tasks, {len(held)} held-out tasks ({a.heldout}): {held}', flush=True)
    pairs = sft_examples(train, a.n_train, a.seed)
    base, tok = load_base('decoder', path=a.base)
    stream = token_stream(tok, corpus(1_000_000, seed=0)) if a.ptx else None
    results = {}
    marks = [float(x) for x in a.probe_at.split(',') if x]
    probe = lambda m: round(float(np.mean(list(exact_match(m.eval(), tok, held, 10, 'all').values()))), 3)
    for run in a.runs.split(','):
        if run == 'zeroshot': model, info = base, {}
        elif run == 'base':
            model, _ = load_base('decoder', path=a.base)
            info = sft(model, tok, pairs, a.cpu_minutes, a.lr_base, ptx=a.ptx, ptx_stream=stream, seed=a.seed, probe_at=marks, probe=probe)
        elif run == 'scratch':
            model = tiny_causal_lm(tok, ModelConfig(**{k: getattr(base.config, v) for k, v in
                dict(d_model='hidden_size', n_layers='num_hidden_layers', n_heads='num_attention_heads', d_ff='intermediate_size').items()}), seed=a.seed)
            info = sft(model, tok, pairs, a.cpu_minutes, a.lr_scratch, ptx=a.ptx, ptx_stream=stream, seed=a.seed, probe_at=marks, probe=probe)
        else: raise SystemExit(f'unknown run {run!r}: expected zeroshot, base or scratch')
        r = evaluate(model, tok, train, held, a.n_eval)
        results[run] = {k: round(v[0], 3) for k, v in r.items()} | info
        print(f'[{run}] ' + '  '.join(f'{k} {v[0]:.3f}' for k, v in r.items()) + f'  {info}', flush=True)
        print(f'[{run}] held-out per task: ' + ', '.join(f'{k} {v:.2f}' for k, v in r['heldout'][1].items()), flush=True)
        print(f'[{run}] worst trained (seen): ' + ', '.join(f'{k} {v:.2f}' for k, v in sorted(r['seen'][1].items(), key=lambda kv: kv[1])[:6]), flush=True)
    print('RESULT ' + json.dumps(results))
    return results


if __name__ == '__main__':
    main()
