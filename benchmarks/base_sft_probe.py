"""Quick SFT probe of a pretrained base model: does a few CPU-minutes of instruction tuning on top of it reach the
goals of the base-model issue (exact match >=80% on trained tasks with seen templates, >=60% with unseen templates,
>=30% on held-out tasks whose skills appear only in pre-training)? Compares SFT from the base with SFT from scratch.

    python benchmarks/base_sft_probe.py                       # shipped decoder, 5 CPU-minutes per run
    python benchmarks/base_sft_probe.py --base /tmp/pretrain/decoder --cpu-minutes 2 --runs base
    python benchmarks/base_sft_probe.py --kind t5 --runs zeroshot,base    # AdamWScale at lr 2e-2, no PTX by default

The budget is process CPU time (`time.process_time`, one thread by default), so the numbers do not depend on how many
other jobs share the machine. The default recipe is the best measured (see the pre-training chapter): prompts in the
corpus's quiz layout (`--format qa`), answer-only loss, lr 3e-4, and language-model loss on 4 blocks of corpus text
mixed into every step with weight 0.5 (`--ptx`, InstructGPT's PPO-ptx idea applied to SFT; `--ptx 0` turns it off;
for T5 the mixed-in loss would be span corruption, which halved its scores, so T5 defaults to none). T5 fine-tunes
with `AdamWScale` (steps relative to each weight's size).
Batches are drawn in length-sorted groups so they pad little. Prints one line per split and run, then a summary line.
"""
from __future__ import annotations
import argparse, json, os, random, sys, time

os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
import numpy as np
import torch

from instruct_nb.core import OPTIMIZERS, lr_at, make_optimizer, n_params, save, seed_everything, setup_cpu_training, tiny_causal_lm, tiny_t5, autocast, ModelConfig
from instruct_nb.corpus import corpus
from instruct_nb.pretrain import PROMPT_FORMATS, answer, load_base, exact_match, prompt_format, task_prompts, token_stream, lm_batches, t5_batches
from instruct_nb.tasks import TASKS


T5_LR = 2e-2  # AdamWScale's relative step for T5; shipped T5 without PTX: 1e-2 gave 0.548 seen, 2e-2 0.670


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


def seq2seq_batch(tok, pairs, fmt='qa', max_len=160):
    "T5 batch: the input wrapped as `fmt` says (+ `</s>`) to the encoder, the answer (+ `</s>`) as labels."
    wrap, _ = prompt_format(fmt)
    x = tok([wrap.format(i) + tok.eos_token for i, _ in pairs], add_special_tokens=False, padding=True,
            truncation=True, max_length=max_len, return_tensors='pt')
    y = tok([t + tok.eos_token for _, t in pairs], add_special_tokens=False, padding=True, return_tensors='pt')['input_ids']
    return dict(input_ids=x['input_ids'], attention_mask=x['attention_mask'], labels=y.masked_fill(y == tok.pad_token_id, -100))


def sft_batch(tok, pairs, fmt='qa', max_len=160, seq2seq=False):
    "Right-padded batch with labels only on the answer and `</s>` (prompt = `<s>` + the input wrapped as `fmt` says)."
    if seq2seq: return seq2seq_batch(tok, pairs, fmt, max_len)
    (wrap, lead), ids, labels = prompt_format(fmt), [], []
    for inp, tgt in pairs:
        p = tok(tok.bos_token + wrap.format(inp), add_special_tokens=False)['input_ids']
        a = tok(lead + tgt, add_special_tokens=False)['input_ids'] + [tok.eos_token_id]
        x = (p + a)[:max_len]
        ids.append(x); labels.append(([-100] * len(p) + a)[:max_len])
    L = max(map(len, ids))
    pad = lambda s, v: s + [v] * (L - len(s))
    x = torch.tensor([pad(s, tok.pad_token_id) for s in ids])
    return dict(input_ids=x, attention_mask=(x != tok.pad_token_id).long(),
                labels=torch.tensor([pad(s, -100) for s in labels]))


def length_grouped(pairs, bs, rng, group=8):
    "Endless batches of `bs` random pairs; each run of `group` batches is drawn together and sorted by length, so a batch pads little."
    while True:
        pool = sorted(rng.sample(pairs, min(len(pairs), bs * group)), key=lambda p: len(p[0]) + len(p[1]))
        chunks = [pool[i:i + bs] for i in range(0, len(pool), bs)]
        rng.shuffle(chunks); yield from chunks


def sft(model, tok, pairs, cpu_minutes, lr, bs=32, ptx=0.0, ptx_stream=None, ptx_bs=4, warmup=30, seed=0, log=True,
        probe_at=(), probe=None, fmt='qa', optimizer='adamw'):
    "Fine-tune for `cpu_minutes` of process CPU time; lr warms up then decays (cosine) with the CPU time used."
    marks, trace = sorted(probe_at), []
    seed_everything(seed); setup_cpu_training()
    model.train()
    opt = make_optimizer(model, optimizer, lr)
    lm = None if not ptx else (t5_batches(ptx_stream, tok, 128, ptx_bs, seed) if model.config.is_encoder_decoder  # span corruption
                               else lm_batches(ptx_stream, 128, ptx_bs, seed))
    batches = length_grouped(pairs, bs, random.Random(seed))
    budget, c0, t0, step, losses = cpu_minutes * 60, time.process_time(), time.perf_counter(), 0, []
    while (used := time.process_time() - c0) < budget:
        frac = used / budget
        for g in opt.param_groups: g['lr'] = lr_at(int(frac * 1000), 1000, lr) if step >= warmup else lr * (step + 1) / warmup
        with autocast('cpu', torch.bfloat16):
            loss = model(**sft_batch(tok, next(batches), fmt, seq2seq=model.config.is_encoder_decoder)).loss
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


def evaluate(model, tok, train, held, n, fmt='qa'):
    model.eval()
    r = dict(seen=exact_match(model, tok, train, n, 'seen', fmt=fmt), unseen=exact_match(model, tok, train, n, 'unseen', fmt=fmt),
             heldout=exact_match(model, tok, held, n, 'all', fmt=fmt))
    return {k: (float(np.mean(list(v.values()))), v) for k, v in r.items()}


def show_errors(model, tok, tasks, n, fmt):
    "Print up to `n` wrong answers per task (seen templates), as prompt tail, target and answer."
    from instruct_nb.tasks import normalize
    rows = task_prompts(tasks, 4 * n, 'seen')
    preds = answer(model.eval(), tok, [r[1] for r in rows], fmt=fmt)
    shown = {}
    for (name, inp, tgt), p in zip(rows, preds):
        if normalize(p) != normalize(tgt) and shown.get(name, 0) < n:
            shown[name] = shown.get(name, 0) + 1; print(f'  {name}: ...{inp[-60:]!r} -> {p!r} (want {tgt!r})')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--kind', default='decoder', choices=['decoder', 't5'], help='which base model')
    p.add_argument('--base', default=None, help='directory of a pretrained base of --kind (default: the shipped one)')
    p.add_argument('--runs', default='zeroshot,base,scratch', help='comma list of: zeroshot, base, scratch')
    p.add_argument('--cpu-minutes', type=float, default=5.0, help='SFT budget per run, in process CPU minutes')
    p.add_argument('--format', default='qa', choices=sorted(PROMPT_FORMATS), help='prompt format for SFT and evaluation (default: qa)')
    p.add_argument('--lr-base', type=float, default=None, help='SFT lr from the base (default: 3e-4 decoder, T5_LR t5)')
    p.add_argument('--lr-scratch', type=float, default=None, help='SFT lr from scratch (default: 1e-3 decoder, T5_LR t5)')
    p.add_argument('--optimizer', default=None, choices=sorted(OPTIMIZERS), help='default: adamw (decoder), adamw_scale (t5)')
    p.add_argument('--ptx', type=float, default=None, help="weight of the base's pre-training loss on corpus text mixed into SFT (0: none; default: 0.5 decoder, 0 t5)")
    p.add_argument('--ptx-bs', type=int, default=4, help='corpus blocks of 128 tokens per SFT step for --ptx')
    p.add_argument('--heldout', default='closed_book_qa,counting', help='held-out clusters')
    p.add_argument('--n-train', type=int, default=300, help='SFT examples per trained task')
    p.add_argument('--n-eval', type=int, default=20, help='evaluation examples per task and split')
    p.add_argument('--threads', type=int, default=1); p.add_argument('--seed', type=int, default=0)
    p.add_argument('--save', default=None, help='save each fine-tuned model to SAVE/RUN')
    p.add_argument('--show-errors', type=int, default=0, help='print this many wrong answers of each of the worst trained tasks')
    p.add_argument('--probe-at', default='', help='comma list of CPU-minutes at which to print held-out exact match (10 per task)')
    a = p.parse_args(argv)
    t5 = a.kind == 't5'
    a.optimizer = a.optimizer or ('adamw_scale' if t5 else 'adamw')
    if a.ptx is None: a.ptx = 0.0 if t5 else 0.5
    a.lr_base = a.lr_base or (T5_LR if t5 else 3e-4); a.lr_scratch = a.lr_scratch or (T5_LR if t5 else 1e-3)
    torch.set_num_threads(a.threads)
    train, held = split_tasks(a.heldout.split(','))
    print(f'{len(train)} trained tasks, {len(held)} held-out tasks ({a.heldout}): {held}', flush=True)
    pairs = sft_examples(train, a.n_train, a.seed)
    base, tok = load_base(a.kind, path=a.base)
    stream = token_stream(tok, corpus(1_000_000, seed=0)) if a.ptx else None
    results = {}
    marks = [float(x) for x in a.probe_at.split(',') if x]
    probe = lambda m: round(float(np.mean(list(exact_match(m.eval(), tok, held, 10, 'all', fmt=a.format).values()))), 3)
    for run in a.runs.split(','):
        if run == 'zeroshot': model, info = base, {}
        elif run == 'base':
            model, _ = load_base(a.kind, path=a.base)
            info = sft(model, tok, pairs, a.cpu_minutes, a.lr_base, ptx=a.ptx, ptx_stream=stream, ptx_bs=a.ptx_bs, seed=a.seed, probe_at=marks, probe=probe, fmt=a.format, optimizer=a.optimizer)
        elif run == 'scratch':
            names = (dict(d_model='d_model', n_layers='num_layers', n_heads='num_heads', d_ff='d_ff') if a.kind == 't5' else
                     dict(d_model='hidden_size', n_layers='num_hidden_layers', n_heads='num_attention_heads', d_ff='intermediate_size'))
            model = (tiny_t5 if a.kind == 't5' else tiny_causal_lm)(tok, ModelConfig(**{k: getattr(base.config, v) for k, v in names.items()}), seed=a.seed)
            info = sft(model, tok, pairs, a.cpu_minutes, a.lr_scratch, ptx=a.ptx, ptx_stream=stream, ptx_bs=a.ptx_bs, seed=a.seed, probe_at=marks, probe=probe, fmt=a.format, optimizer=a.optimizer)
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
