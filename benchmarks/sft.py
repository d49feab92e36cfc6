"""Training throughput of `instruct_nb.sft` against the usual recipes, side by side in one run.

    python benchmarks/sft.py                       # fp32, about 3 minutes on a quiet 2-core machine
    python benchmarks/sft.py --precision bf16      # bf16 autocast on both sides of each pair
    python benchmarks/sft.py --reps 2              # every configuration twice, interleaved; the faster run counts
    python benchmarks/sft.py --only dec --profile  # also profile our packed decoder path (torch.profiler, cProfile)

Two pairs, each on the same examples (rows of `flan.make_mixture(n, seed=0)`), the same freshly initialised tiny model,
the same examples per optimiser step, optimiser (AdamW, lr 1e-3, 5 warm-up steps, clip 1.0) and precision:

* T5 (`tiny_t5`): `sft` (dynamic padding, length-grouped batches) vs the classic FLAN-T5 recipe: inputs + `</s>` padded
  to 512 tokens, targets + `</s>` padded to 128 with pad -> -100, `Seq2SeqTrainer` over the pre-padded tensors.
* Decoder (`tiny_causal_lm`, Llama-style), on `messages` with the ChatML template. Ours in its default mode, packing
  (best-fit decreasing into rows of `--max-len` tokens; 640 fits the longest example, 556 tokens; longer rows cost
  more, as attention runs over the whole row under a block-diagonal mask), and with `packing=False` (length-grouped
  padded batches). TRL's `SFTTrainer` with `assistant_only_loss=True` in four modes: padded batches (its default), the
  same with `train_sampling_strategy='group_by_length'`, `packing=True` (BFD, which turns on padding-free) and
  `padding_free=True` without packing. TRL's batch size (and ours without packing) is the mean number of examples per
  step of our packed batches. Our trainer prepends the tokenizer's BOS to every chat; TRL gets the template with
  `{{ bos_token }}` in front, so both train on identical token sequences with identical loss masks (checked example
  by example, or in total when TRL packs).

Useful tokens are the non-pad tokens a step processes: input tokens (attention mask, or ids != pad when a batch has no
mask) plus, for T5, target tokens (labels != -100). Both sides are counted by the same function on the collated
batches (ours: the batches `sft` builds, re-collated from its deterministic plan, checked against its own
`num_tokens`; theirs: a wrapper round the trainer's collator). Throughput = useful tokens of the timed steps / wall
time between the end of the last warm-up step and the end of the last timed step (setup, tokenization and warm-up
excluded). Beside it: the same per second of process CPU time, CPU% = CPU time / wall time (well under 100: the run
waited for other jobs, so its wall-clock rate is too low), and tok/s@mix = achieved useful FLOP/s / useful FLOPs per
token of the whole dataset, the rate on an average token whichever examples fell in the timed steps (long examples
cost more per token; TRL's length-grouped sampler, for one, serves a megabatch's longest batches first). The classic
T5 recipe times fewer steps (`--classic-steps`): its batches all have one shape, so every step costs the same.

Achieved FLOP/s counts useful work only, summed over the examples of the timed steps, with the PaLM-style estimate
per example of L tokens:
    decoder: 6 N L + 6 V d L_out + 12 n_layers d L^2        (L_out: the tokens with loss, where SFT needs logits)
    T5:      6 (N_enc + N_kv) L_in + 12 n_layers d L_in^2 + 6 (N_dec - N_kv + V d) L_out
             + 12 n_layers d (L_out^2 + L_out L_in)
N: parameters without the embeddings (T5: of the encoder / decoder stack; N_kv: the decoder's cross-attention key and
value projections, which read the encoder's output), V d: the LM head, L^2 terms: attention within the example
(causality not halved). For T5 the same formula at the padded lengths (512, 128) gives the classic recipe's FLOPs per
example; their ratio to the useful FLOPs is the most a padding-free trainer can gain (printed as `ceiling`).
Achieved FLOP/s are divided by the machine's matmul peak, 2 n^3 / (seconds per n x n matmul) from
`core.bench_matmul(1024)`, in fp32 and bf16, at the same thread count (the best of 4 tries).

Every configuration runs in its own subprocess with `--threads` torch threads (default 1, so nothing fights inside a
process on a shared machine) and flush-to-zero denormals (our trainer sets it; the baselines get it too). Peak memory
is the resident set's high-water mark during training (`VmHWM` of /proc/self/status after resetting it through
/proc/self/clear_refs at the start of training; `ru_maxrss` of the whole process is printed too). Each trainer must
train: the mean loss of the last 5 steps must be below that of the first 5, the loss on 32 held-out rows (another
mixture seed, tokenized the same way for all) must fall, and a packed or padded batch must give each labelled token
the log-probability it gets when its example runs alone (column `exact`; the check runs the model with
`use_cache=False`, as both trainers do: with a cache, transformers ignores packed position ids and attends across
examples).

`--vocab 32000` grows both models' vocabularies (the new ids never occur) to give the LM head the cost it has with a
real tokenizer; the byte tokenizer's 268 ids make it negligible, which hides what computing logits only where there
is a loss saves (TRL on a CPU scores every position).

The last two lines are `speedup_vs_seed=<ratio>` (ours vs the classic T5 recipe) and `speedup_vs_trl=<ratio>` (the
faster of our two decoder modes vs the fastest TRL mode that trains), both ratios of useful tokens per (wall) second.
"""
from __future__ import annotations
import argparse, json, os, re, resource, subprocess, sys, tempfile, time

for _v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'): os.environ.setdefault(_v, '1')
for _v in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(_v, '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

CONFIGS = dict(t5_ours='T5: instruct_nb.sft', t5_classic='T5: classic (pad 512/128, Seq2SeqTrainer)',
               dec_ours='decoder: instruct_nb.sft (packed)', dec_ours_grouped='decoder: instruct_nb.sft, packing=False',
               trl_padded='decoder: TRL SFTTrainer, padded', trl_grouped='decoder: TRL, padded, group_by_length',
               trl_packed='decoder: TRL SFTTrainer, packing=True', trl_padding_free='decoder: TRL, padding_free=True')


# ---------------------------------------------------------------- shared by the workers
def _status_kb(key: str) -> int: return int(re.search(rf'{key}:\s+(\d+)', open('/proc/self/status').read()).group(1))

def _reset_peak() -> int:
    "Reset the resident-set high-water mark (Linux); returns the resident set now, in kB."
    try: open('/proc/self/clear_refs', 'w').write('5')
    except OSError: pass
    return _status_kb('VmRSS')

def useful_tokens(b: dict, pad: int, seq2seq: bool) -> int:
    "Non-pad input tokens (+ target tokens for T5) of a collated batch: the same count for every trainer."
    x = b['input_ids']
    n = int(b['attention_mask'].sum()) if 'attention_mask' in b else int((x != pad).sum())
    return n + (int((b['labels'] != -100).sum()) if seq2seq else 0)

def _logps(logits, labels):
    "Log-probabilities of the labels at labelled positions, (N,)."
    keep = labels != -100
    return logits.float().log_softmax(-1)[keep].gather(-1, labels[keep][:, None])[:, 0]

def _segments(b: dict, r: int) -> list[tuple[int, int]]:
    "(start, end) of each example in row `r`: position ids restart at 0 per packed example; else the unmasked span."
    if 'position_ids' not in b: return [(0, int(b['attention_mask'][r].sum()))]
    starts = (b['position_ids'][r] == 0).nonzero()[:, 0].tolist() + [b['input_ids'].shape[1]]
    return list(zip(starts, starts[1:]))

def exactness(model, b: dict, seq2seq: bool) -> float:
    "Largest |log-prob of a labelled token in batch `b` - the same with its example run alone| (~1e-6 in fp32: exact)."
    import torch
    was, worst = model.training, 0.0
    model.eval()
    with torch.no_grad():
        if seq2seq:
            logits = model(**b).logits                                            # T5 reads the labels shifted right
            for r in range(len(b['input_ids'])):
                n, lab = int(b['attention_mask'][r].sum()), b['labels'][r][b['labels'][r] != -100]
                alone = model(input_ids=b['input_ids'][r:r + 1, :n], labels=lab[None]).logits[0]
                worst = max(worst, float((_logps(logits[r], b['labels'][r]) - _logps(alone, lab)).abs().max()))
        else:                                                 # use_cache=False: with a cache, packing is ignored
            logits = model(**{k: v for k, v in b.items() if k != 'labels'}, use_cache=False).logits
            for r in range(len(b['input_ids'])):
                for s, e in _segments(b, r):
                    lab = b['labels'][r, s + 1:e]
                    if (lab == -100).all(): continue                              # padding
                    alone = model(input_ids=b['input_ids'][r:r + 1, s:e], use_cache=False).logits[0, :-1]
                    worst = max(worst, float((_logps(logits[r, s:e - 1], lab) - _logps(alone, lab)).abs().max()))
    model.train(was)
    return worst

def _tok(bos_template: bool = False):
    "The byte tokenizer with the ChatML template (TRL's copy writes the BOS our trainer prepends)."
    from instruct_nb.core import byte_tokenizer
    from instruct_nb.templates import chat_template
    tok = byte_tokenizer()
    tok.chat_template = ('{{ bos_token }}' if bos_template else '') + chat_template('chatml')
    return tok

def _model(a, tok, seq2seq: bool):
    from instruct_nb.core import ModelConfig, tiny_causal_lm, tiny_t5
    mc = ModelConfig(d_model=a.d_model, n_layers=a.n_layers, n_heads=a.n_heads, d_ff=4 * a.d_model,
                     max_len=2 * a.max_len)
    model = tiny_t5(tok, mc) if seq2seq else tiny_causal_lm(tok, mc)
    if a.vocab: model.resize_token_embeddings(a.vocab)         # a real tokenizer's LM-head cost; extra ids never occur
    return model

def _our_cfg(a, seq2seq: bool, packing: bool = True):
    from instruct_nb.sft import SFTConfig
    common = dict(optimizer='adamw', lr=1e-3, warmup=5, clip=1.0, max_steps=a.warmup + a.steps, log_every=1, seed=0,
                  progress=False, device='cpu', mixed_precision='bf16' if a.precision == 'bf16' else 'no')
    if seq2seq: return SFTConfig(max_len=512, max_target_len=128, packing=False, bs=a.t5_bs, **common)
    return SFTConfig(fmt='chatml', max_len=a.max_len, packing=packing, bs=a.rows if packing else a.trl_bs,
                     train_on='all', **common)

def _rows(a, split: str = 'train') -> list[dict]: return json.load(open(a.data))[split]

def eval_loss(a, model, seq2seq: bool) -> float:
    "Mean cross-entropy per labelled token on the held-out rows, one example at a time (little memory, no padding)."
    import torch
    from instruct_nb.sft import as_messages, as_prompt_completion, collate_seq2seq, prepare_examples, token_losses
    from instruct_nb.templates import collate_chats
    tok, rows = _tok(), _rows(a, 'eval')
    data = as_prompt_completion(rows) if seq2seq else as_messages(rows)
    exs = prepare_examples(data, tok, _our_cfg(a, seq2seq), seq2seq)
    was, total, n = model.training, 0.0, 0
    model.eval()
    with torch.no_grad():
        for e in exs:
            b = (collate_seq2seq if seq2seq else collate_chats)([e], tok.pad_token_id)
            ce, _ = token_losses(model, b, fast=False)
            total, n = total + float(ce.sum()), n + len(ce)
    model.train(was)
    return total / n

def flop_count(model, seq2seq: bool):
    "`f(L_in, L_out)`: useful training FLOPs of one example (formula in the module docstring)."
    c = model.config
    d, V = (c.d_model if seq2seq else c.hidden_size), model.get_output_embeddings().weight.shape[0]
    def count(*ms): return sum(p.numel() for m in ms for p in m.parameters())
    if not seq2seq:
        n, nl = count(model.model.layers, model.model.norm), c.num_hidden_layers
        return lambda li, lo: 6 * n * li + 6 * V * d * lo + 12 * nl * d * li ** 2
    nl = c.num_layers
    n_enc = count(model.encoder.block, model.encoder.final_layer_norm)
    n_dec = count(model.decoder.block, model.decoder.final_layer_norm)
    cross = [b.layer[1].EncDecAttention for b in model.decoder.block]    # its key/value projections read the encoder
    n_kv = count(*[m for x in cross for m in (x.k, x.v)])
    return lambda li, lo: (6 * (n_enc + n_kv) * li + 12 * nl * d * li ** 2                       # encoder
                           + 6 * (n_dec - n_kv + V * d) * lo + 12 * nl * d * (lo ** 2 + lo * li))  # decoder + head

def _lengths(e: dict, seq2seq: bool) -> tuple[int, int]:
    "(L_in, L_out) of a tokenized example: T5's input and target lengths; a decoder's length and its tokens with loss."
    if seq2seq: return len(e['input_ids']), len(e['labels'])
    return len(e['input_ids']), sum(t != -100 for t in e['labels'][1:])

def _result(a, model, seq2seq, data_lengths, tokens, step_lengths, positions, ends, cpus, losses, rss0, **kw) -> dict:
    """Throughput over the steps after the warm-up, memory and loss. `ends`/`cpus`: wall/CPU clock at the end of each
    step; `step_lengths`: (L_in, L_out) of each example of each step; `data_lengths`: the same for the whole dataset."""
    import torch
    f = flop_count(model, seq2seq)
    w, n = a.warmup, len(ends)                                   # a dataloader may have collated one batch ahead
    timed, wall = sum(tokens[w:n]), ends[-1] - ends[w - 1]
    flops = sum(f(*l) for ls in step_lengths[w:n] for l in ls) / wall
    mean = lambda xs: sum(xs[w:n]) / (n - w)
    tokens_of = (lambda l: l[0] + l[1]) if seq2seq else (lambda l: l[0])
    per_token = sum(f(*l) for l in data_lengths) / sum(map(tokens_of, data_lengths))   # useful FLOPs/token, all data
    return dict(tok_s=timed / wall, tok_cpu_s=timed / (cpus[-1] - cpus[w - 1]), s_step=wall / (n - w), flops=flops,
                tok_s_mix=flops / per_token, tokens_step=mean(tokens), examples_step=mean(list(map(len, step_lengths))),
                positions_step=mean(positions), losses=losses,
                trains=sum(losses[-5:]) / 5 < sum(losses[:5]) / 5,
                peak_mb=_status_kb('VmHWM') / 1024, grow_mb=(_status_kb('VmHWM') - rss0) / 1024,
                maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, threads=torch.get_num_threads(),
                **kw)


def _held_out(a, res: dict, model, seq2seq: bool, before: float) -> dict:
    "`res` with the held-out loss after training (measured after the memory peak was read); it must have fallen."
    after = eval_loss(a, model, seq2seq)
    return res | dict(eval0=before, eval1=after, trains=res['trains'] and after < before)


# ---------------------------------------------------------------- our trainer
def run_ours(a, seq2seq: bool, packing: bool = True) -> dict:
    from instruct_nb.sft import Batches, as_messages, as_prompt_completion, prepare_examples, sft
    tok, rows = _tok(), _rows(a)
    data = as_prompt_completion(rows) if seq2seq else as_messages(rows)
    cfg, model = _our_cfg(a, seq2seq, packing), _model(a, tok, seq2seq)
    exs = prepare_examples(data, tok, cfg, seq2seq)
    stream = Batches(exs, cfg, tok.pad_token_id, seq2seq)          # the batches sft builds: a function of their index
    batches = [{k: v for k, v in stream[k].items() if k not in ('num_tokens', 'epoch')} for k in range(cfg.max_steps)]
    exact, eval0 = exactness(model, batches[0], seq2seq), eval_loss(a, model, seq2seq)
    rss0 = _reset_peak()
    model, hist = sft(model, tok, data, cfg)
    tokens = [useful_tokens(b, tok.pad_token_id, seq2seq) for b in batches]
    own = [h['num_tokens'] for h in hist]
    assert [y - x for x, y in zip([0] + own, own)] == tokens, 'our num_tokens differ from the recount of its batches'
    positions = [b['input_ids'].numel() + (b['labels'].numel() if seq2seq else 0) for b in batches]
    plan = [stream.plan(e)[j] for e, j in map(stream.locate, range(cfg.max_steps))]
    steps = [[_lengths(exs[i], seq2seq) for i in (sum(mb, []) if stream.packed else mb)] for mb in plan]
    res = _result(a, model, seq2seq, [_lengths(e, seq2seq) for e in exs], tokens, steps, positions,
                  [h['wall_s'] for h in hist], [h['cpu_s'] for h in hist], [h['loss'] for h in hist], rss0,
                  same_tokens='recount = num_tokens', exact=exact)
    res = _held_out(a, res, model, seq2seq, eval0)
    if a.profile and a.worker == 'dec_ours': _profile(a, tok, data)
    return res

def _profile(a, tok, data, steps: int = 8):
    "Where our decoder trainer's time goes: torch.profiler's top ops by self CPU time, then cProfile's Python view."
    import cProfile, io, pstats, torch
    from dataclasses import replace
    from instruct_nb.sft import sft
    cfg = replace(_our_cfg(a, False), max_steps=steps)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        sft(_model(a, tok, False), tok, data, cfg)
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=20), file=sys.stderr)
    model, pr = _model(a, tok, False), cProfile.Profile()
    pr.enable(); sft(model, tok, data, cfg); pr.disable()
    out = io.StringIO()
    pstats.Stats(pr, stream=out).sort_stats('cumulative').print_stats(25)
    print(out.getvalue(), file=sys.stderr)


# ---------------------------------------------------------------- baselines (transformers Trainer / TRL)
class _Counted:
    "A collator wrapper that counts what each micro-batch holds, with the same `useful_tokens` as ours."
    def __init__(self, collate, pad: int, seq2seq: bool):
        self.collate, self.pad, self.seq2seq = collate, pad, seq2seq
        self.tokens, self.lengths, self.positions = [], [], []

    def __call__(self, feats):
        b = self.collate(feats)
        self.tokens.append(useful_tokens(b, self.pad, self.seq2seq))
        if self.seq2seq:                                          # (L_in, L_out) of each example
            masks, labels = b['attention_mask'], b['labels']
            self.lengths.append([(int(m.sum()), int((l != -100).sum())) for m, l in zip(masks, labels)])
        else:
            self.lengths.append([_lengths(e, False) for f in feats for e in _split(f)])
        self.positions.append(b['input_ids'].numel() + (b['labels'].numel() if self.seq2seq else 0))
        return b

def _split(f: dict) -> list[dict]:
    "The examples of a (possibly packed) TRL feature: `seq_lengths` cut a packed row."
    cuts, out, s = f.get('seq_lengths', [len(f['input_ids'])]), [], 0
    for n in cuts:
        out.append(dict(input_ids=f['input_ids'][s:s + n], labels=f['labels'][s:s + n])); s += n
    return out

def _clock():
    from transformers import TrainerCallback
    class Clock(TrainerCallback):
        "Wall and CPU clocks at the end of every optimiser step, the logged losses, the memory peak reset at the start."
        def __init__(self): self.ends, self.cpus, self.losses, self.rss0 = [], [], [], 0
        def on_train_begin(self, args, state, control, **kw): self.rss0 = _reset_peak()
        def on_step_end(self, args, state, control, **kw):
            self.ends.append(time.perf_counter()); self.cpus.append(time.process_time())
        def on_log(self, args, state, control, logs=None, **kw):
            if logs and 'loss' in logs: self.losses.append(logs['loss'])
    return Clock()

def _hf_args(a) -> dict:
    "Trainer arguments shared by the baselines: those of `_our_cfg`, logging every step, no saving."
    return dict(output_dir=tempfile.mkdtemp(), use_cpu=True, report_to=[], save_strategy='no', seed=0,
                max_steps=a.warmup + a.steps, learning_rate=1e-3, warmup_steps=5, max_grad_norm=1.0,
                optim='adamw_torch', weight_decay=0.0, logging_steps=1, disable_tqdm=True, bf16=a.precision == 'bf16',
                dataloader_num_workers=0)

def run_t5_classic(a) -> dict:
    from datasets import Dataset
    from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments, default_data_collator
    from instruct_nb.sft import as_prompt_completion, prepare_examples
    a.steps = a.classic_steps
    tok, rows = _tok(), _rows(a)
    model = _model(a, tok, True)
    enc = dict(padding='max_length', truncation=True, add_special_tokens=False)
    x = tok([r['input'] + tok.eos_token for r in rows], max_length=512, **enc)
    y = tok([r['output'] + tok.eos_token for r in rows], max_length=128, **enc)
    labels = [[t if m else -100 for t, m in zip(ids, mask)] for ids, mask in zip(y['input_ids'], y['attention_mask'])]
    ds = Dataset.from_dict(dict(input_ids=x['input_ids'], attention_mask=x['attention_mask'], labels=labels))
    ours = prepare_examples(as_prompt_completion(rows), tok, _our_cfg(a, True), True)     # the same tokens, unpadded
    same = sum(sum(m) == len(e['input_ids']) and [t for t in l if t != -100] == e['labels']
               for m, l, e in zip(x['attention_mask'], labels, ours))
    exact = exactness(model, default_data_collator([ds[i] for i in range(a.t5_bs)]), True)
    eval0 = eval_loss(a, model, True)
    clock, counted = _clock(), _Counted(default_data_collator, tok.pad_token_id, True)
    args = Seq2SeqTrainingArguments(per_device_train_batch_size=a.t5_bs, **_hf_args(a))
    Seq2SeqTrainer(model=model, args=args, train_dataset=ds, data_collator=counted, callbacks=[clock]).train()
    f = flop_count(model, True)
    ceiling = f(512, 128) * len(ours) / sum(f(*_lengths(e, True)) for e in ours)
    res = _result(a, model, True, [_lengths(e, True) for e in ours], counted.tokens, counted.lengths,
                   counted.positions, clock.ends, clock.cpus, clock.losses, clock.rss0,
                   same_tokens=f'{same}/{len(rows)}', exact=exact, ceiling=ceiling)
    return _held_out(a, res, model, True, eval0)

def trl_batch_size(a) -> int:
    "Examples per step of our packed batches (mean over an epoch), rounded: TRL's batch size in examples."
    from instruct_nb.sft import Batches, as_messages, prepare_examples
    tok, cfg = _tok(), _our_cfg(a, False)
    plan = Batches(prepare_examples(as_messages(_rows(a)), tok, cfg, False), cfg, tok.pad_token_id).plan(0)
    return round(sum(sum(map(len, mb)) for mb in plan) / len(plan))

def _same_tokens(ds, ours: list[dict], packed: bool) -> str:
    "Whether TRL's tokenized dataset holds our examples: example by example, or in total when packed."
    if not packed:
        same = sum(d['input_ids'] == e['input_ids'] and d['labels'] == e['labels'] for d, e in zip(ds, ours))
        return f'{same}/{len(ours)}'
    labelled = lambda xs: sum(sum(t != -100 for t in x) for x in xs)
    return (f"{sum(map(len, ds['input_ids']))}/{sum(len(e['input_ids']) for e in ours)} tokens, "
            f"{labelled(ds['labels'])}/{labelled(e['labels'] for e in ours)} labelled")

def run_trl(a, mode: str) -> dict:
    import trl
    from datasets import Dataset
    from instruct_nb.sft import as_messages, prepare_examples
    tok, data = _tok(bos_template=True), as_messages(_rows(a))
    model = _model(a, tok, False)
    bs = a.rows if mode == 'packed' else a.trl_bs
    kw = dict(packed=dict(packing=True, max_length=a.max_len), padded=dict(max_length=a.max_len),
              grouped=dict(max_length=a.max_len, train_sampling_strategy='group_by_length'),
              padding_free=dict(padding_free=True, max_length=None))[mode]
    args = trl.SFTConfig(gradient_checkpointing=False, per_device_train_batch_size=bs, assistant_only_loss=True, **kw,
                         **_hf_args(a))
    clock = _clock()
    tr = trl.SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(data), processing_class=tok,
                        callbacks=[clock])
    ours = prepare_examples(data, _tok(), _our_cfg(a, False), False)
    same = _same_tokens(tr.train_dataset, ours, mode == 'packed')
    exact = exactness(model, tr.data_collator([tr.train_dataset[i] for i in range(bs)]), False)
    eval0 = eval_loss(a, model, False)
    tr.data_collator = counted = _Counted(tr.data_collator, tok.pad_token_id, False)
    tr.train()
    res = _result(a, model, False, [_lengths(e, False) for e in ours], counted.tokens, counted.lengths,
                   counted.positions, clock.ends, clock.cpus, clock.losses, clock.rss0, same_tokens=same, exact=exact)
    return _held_out(a, res, model, False, eval0)

def run_peak(a, n: int = 1024) -> dict:
    "FLOP/s of an n x n matmul in fp32 and bf16, the best of 4 tries (the one least disturbed by other jobs)."
    from instruct_nb.core import bench_matmul
    runs = [bench_matmul(n, 10) for _ in range(4)]
    return dict(fp32=2 * n ** 3 / min(r['float32'] for r in runs), bf16=2 * n ** 3 / min(r['bfloat16'] for r in runs))

def worker(a) -> dict:
    import warnings, torch, transformers
    from datasets.utils.logging import disable_progress_bar
    torch.set_num_threads(a.threads); torch.set_flush_denormal(True)
    transformers.logging.set_verbosity_error(); warnings.filterwarnings('ignore'); disable_progress_bar()
    if a.worker.endswith(('_ours', '_ours_grouped')): return run_ours(a, a.worker == 't5_ours', a.worker == 'dec_ours')
    if a.worker == 't5_classic': return run_t5_classic(a)
    return run_trl(a, a.worker.removeprefix('trl_'))


# ---------------------------------------------------------------- the driver
PASSED = ('n', 'steps', 'classic_steps', 'warmup', 'threads', 'precision', 'd_model', 'n_layers', 'n_heads', 't5_bs',
          'rows', 'max_len', 'data', 'trl_bs', 'vocab')

def spawn(a, name: str) -> dict:
    "Run configuration `name` in a fresh process; its result (or its error)."
    cmd = [sys.executable, __file__, '--worker', name] + [f'--{k.replace("_", "-")}={getattr(a, k)}' for k in PASSED]
    env = os.environ | {v: str(a.threads) for v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS')}
    p = subprocess.run(cmd + ['--profile'] * a.profile, capture_output=True, text=True, env=env)
    if p.returncode:
        print(f'{name} failed:\n{p.stderr[-3000:]}', file=sys.stderr)
        return dict(name=name, error=(p.stderr.strip().splitlines() or [f'exit {p.returncode}'])[-1])
    r = json.loads(p.stdout.strip().splitlines()[-1])
    if a.profile and name == 'dec_ours': r['profile'] = p.stderr[-15000:]
    return r

def _row(label: str, r: dict, peak: dict) -> str:
    if 'error' in r: return f'{label:44s} FAILED: {r["error"][:150]}'
    l = r['losses']
    return (f'{label:44s} {r["examples_step"]:7.1f} {r["tokens_step"]:8.0f} {r["positions_step"]:8.0f} '
            f'{r["s_step"]:7.3f} {r["tok_s"]:12,.0f} {r["tok_cpu_s"]:9,.0f} {100 * r["tok_s"] / r["tok_cpu_s"]:4.0f} '
            f'{r["tok_s_mix"]:9,.0f} {r["flops"] / 1e9:7.2f} '
            f'{100 * r["flops"] / peak["fp32"]:5.1f}% {100 * r["flops"] / peak["bf16"]:5.1f}% {r["peak_mb"]:7.0f} '
            f'{r["grow_mb"]:6.0f} {sum(l[:5]) / 5:8.3f}->{sum(l[-5:]) / 5:6.3f} {r["eval0"]:6.3f}->{r["eval1"]:6.3f}'
            f'{" " if r["trains"] else "!"} '
            f'{r["exact"]:7.0e}  {r["same_tokens"]}')

def main(a):
    from instruct_nb.flan import make_mixture
    t0, load = time.perf_counter(), os.getloadavg()
    rows = lambda n, seed: [dict(input=r['input'], output=r['output']) for r in make_mixture(n=n, seed=seed)]
    a.data = os.path.join(tempfile.mkdtemp(), 'rows.json')
    json.dump(dict(train=rows(a.n, 0), eval=rows(32, 1)), open(a.data, 'w'))             # held-out: another seed
    a.trl_bs = trl_batch_size(a)
    names = [n for n in CONFIGS if a.only == 'all' or n.startswith('t5') == (a.only == 't5')]
    import torch
    torch.set_num_threads(a.threads)
    peak, res = run_peak(a), {}                                  # the matmul peak, in this process
    for _ in range(a.reps):                                      # interleaved: ours, baseline, ours, baseline...
        for n in names:
            r = spawn(a, n)
            if n not in res or 'error' in res[n] or r.get('tok_s', 0) > res[n]['tok_s']: res[n] = r
    print(f'{a.n} mixture rows; matmul peak fp32 {peak["fp32"] / 1e9:.1f} GFLOP/s, bf16 {peak["bf16"] / 1e9:.1f} '
          f'GFLOP/s ({a.threads} thread(s)); precision {a.precision}; {a.warmup} warm-up + {a.steps} timed steps '
          f'(classic T5: {a.classic_steps}); best of {a.reps}; load average {load[0]:.2f} before, '
          f'{os.getloadavg()[0]:.2f} after')
    print(f'models: d_model {a.d_model}, {a.n_layers} layers (T5: {a.n_layers} + {a.n_layers}), {a.n_heads} heads, '
          f'vocabulary {a.vocab or "of the byte tokenizer"}; '
          f'T5 batch {a.t5_bs} examples; decoder: ours {a.rows} packed rows of {a.max_len} tokens, '
          f'TRL {a.trl_bs} examples (packed: {a.rows} rows)')
    head = (f'{"configuration":44s} {"ex/step":>7s} {"tok/step":>8s} {"pos/step":>8s} {"s/step":>7s} '
            f'{"useful tok/s":>12s} {"tok/CPU-s":>9s} {"CPU%":>4s} {"tok/s@mix":>9s} {"GFLOP/s":>7s} {"%fp32":>6s} '
            f'{"%bf16":>6s} {"peakMB":>7s} {"+MB":>6s} {"loss first5->last5":>19s} {"held-out":>14s} {"exact":>7s}  '
            'same tokens')
    print(head); print('-' * len(head))
    for n in names: print(_row(CONFIGS[n], res[n], peak))
    ok = lambda n: 'error' not in res.get(n, {'error': 1}) and res[n]['trains'] and res[n]['exact'] < 1e-3
    fastest = lambda prefix: max([n for n in names if n.startswith(prefix) and ok(n)], key=lambda n: res[n]['tok_s'],
                                 default=None)
    best, ours = fastest('trl'), fastest('dec_ours')
    print(f'fastest configurations that train (loss falls, exact): TRL: {CONFIGS.get(best)}; ours: {CONFIGS.get(ours)}')
    print('CPU%: process CPU time / wall time over the timed steps (under 100: other jobs had the core); '
          'tok/s@mix: useful FLOP/s / useful FLOPs per token of the whole dataset (the rate on an average token, '
          'whichever examples fell in the timed steps); pos/step: token positions computed, padding included; '
          'held-out: loss on 32 rows of another mixture seed before -> after training (! = did not fall); '
          'exact: largest |log-prob in the first batch - its example alone|; peakMB: resident-set peak during '
          'training, +MB: that minus the resident set at its start; whole-process ru_maxrss: '
          + ', '.join(f'{n} {res[n]["maxrss_mb"]:.0f}' for n in names if 'error' not in res[n]) + ' MB')
    if 'ceiling' in res.get('t5_classic', {}):
        print(f'T5 ceiling: the classic recipe spends {res["t5_classic"]["ceiling"]:.2f}x the useful FLOPs per example '
              '(the most a padding-free trainer can gain at equal FLOP/s)')
    ratio = lambda x, y, k: res[x][k] / res[y][k] if x and y and ok(x) and ok(y) else float('nan')
    ratios = lambda x, y: ', '.join(f'{ratio(x, y, k):.2f} {w}' for k, w in
                                    (('tok_s', 'wall'), ('tok_cpu_s', 'CPU'), ('tok_s_mix', '@mix')))
    print(f'ratios: T5 {ratios("t5_ours", "t5_classic")}; decoder, fastest vs fastest {ratios(ours, best)}; '
          f'our default (packed) vs fastest TRL {ratios("dec_ours", best)}; wall time {time.perf_counter() - t0:.0f}s')
    if 'profile' in res.get('dec_ours', {}): print(res['dec_ours']['profile'])
    print(f'speedup_vs_seed={ratio("t5_ours", "t5_classic", "tok_s"):.2f}')
    print(f'speedup_vs_trl={ratio(ours, best, "tok_s"):.2f}')


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=1000, help='mixture rows (examples) to draw batches from')
    p.add_argument('--steps', type=int, default=25, help='timed optimiser steps per configuration')
    p.add_argument('--classic-steps', type=int, default=10,
                   help='timed steps of the classic T5 recipe (its batches have one shape: every step costs the same)')
    p.add_argument('--warmup', type=int, default=3, help='untimed optimiser steps first')
    p.add_argument('--reps', type=int, default=1, help='runs of every configuration (interleaved); the fastest counts')
    p.add_argument('--threads', type=int, default=1, help='torch threads per process')
    p.add_argument('--precision', choices=['fp32', 'bf16'], default='fp32')
    p.add_argument('--d-model', type=int, default=128)
    p.add_argument('--n-layers', type=int, default=4)
    p.add_argument('--n-heads', type=int, default=4)
    p.add_argument('--vocab', type=int, default=0,
                   help="grow the models' vocabulary to this size (e.g. 32000): the LM head of a real tokenizer")
    p.add_argument('--t5-bs', type=int, default=8, help='T5 examples per step (both sides)')
    p.add_argument('--rows', type=int, default=3, help='decoder: packed rows per step (ours, and TRL with packing)')
    p.add_argument('--max-len', type=int, default=640,
                   help='decoder: packed row length and longest example (the longest of the 1000 rows has 556 tokens)')
    p.add_argument('--only', choices=['all', 't5', 'dec'], default='all')
    p.add_argument('--profile', action='store_true', help='print where our decoder trainer spends its time')
    p.add_argument('--worker', help=argparse.SUPPRESS)
    p.add_argument('--data', help=argparse.SUPPRESS)
    p.add_argument('--trl-bs', type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker: print(json.dumps(worker(a)))
    else: main(a)
