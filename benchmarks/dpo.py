"""DPO training speed: `instruct_nb.dpo.dpo` against TRL's `DPOTrainer`, same model, data, batch, precision and
reference settings. Prints pairs per second of each, a side-by-side table and, last, `speedup_vs_trl=<ratio>`.

    python benchmarks/dpo.py                         # a 2-layer, 128-wide Llama on the byte tokenizer, fp32, 1 thread
    python benchmarks/dpo.py --steps 40 --precision bf16 --threads 2

Both trainers start from the same randomly initialised decoder (built from a config, `core.tiny_causal_lm`), train on
the same preference pairs (`reward.task_pairs`: a reference answer over a corruption of it), take the same number of
optimiser steps of `--bs` pairs at the same constant learning rate and beta, and read reference log-probs precomputed
once before training (TRL's `precompute_ref_log_probs=True`). The clock runs from the end of step `--skip` to the last
step (the first steps pay one-off costs), measured by a callback in TRL and by the history's wall time in ours. Ours is
run twice: with chosen and rejected as separate padded sequences, as TRL does, and with each prompt computed once.
The table's metrics (the last logged window) differ a little between TRL and ours: TRL tokenizes without BOS and
draws its batches at random, where ours groups them by length.
"""
from __future__ import annotations
import argparse, os, tempfile, time, warnings

os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
import torch

from instruct_nb.core import ModelConfig, byte_tokenizer, tiny_causal_lm
from instruct_nb.dpo import DPOConfig, dpo
from instruct_nb.reward import task_pairs
from instruct_nb.sft import heldout_split


def ours(model, tok, data, a, share: bool) -> tuple[float, dict]:
    "Pairs per second of `dpo` between the end of step `a.skip` and the last step, and its last metrics."
    cfg = DPOConfig(max_steps=a.steps, bs=a.bs, lr=a.lr, beta=a.beta, warmup=0, min_lr_ratio=1.0, log_every=a.skip,
                    share_prompt=share, mixed_precision=a.precision, device='cpu', progress=False)
    _, hist = dpo(model, tok, data, cfg)
    t = {h['step']: h['wall_s'] for h in hist}
    return a.bs * (a.steps - a.skip) / (t[a.steps] - t[a.skip]), hist[-1]


def trl(model, tok, data, a) -> tuple[float, dict]:
    "Pairs per second of TRL's `DPOTrainer` on the same pairs, and its last logged metrics."
    import trl
    from datasets import Dataset
    from transformers import PrinterCallback, TrainerCallback
    ds = Dataset.from_list([dict(prompt=r['prompt'], chosen=r['chosen'], rejected=r['rejected']) for r in data])
    stamps, logs = {}, {}

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw): stamps[state.global_step] = time.perf_counter()
        def on_log(self, args, state, control, logs=None, **kw): logs_.update(logs or {})
    logs_ = logs
    with tempfile.TemporaryDirectory() as d:
        args = trl.DPOConfig(output_dir=d, max_steps=a.steps, per_device_train_batch_size=a.bs, learning_rate=a.lr,
                             beta=a.beta, lr_scheduler_type='constant', warmup_steps=0, bf16=a.precision == 'bf16',
                             precompute_ref_log_probs=True, max_length=256, use_cpu=True, report_to=[],
                             save_strategy='no', logging_steps=a.skip, dataloader_num_workers=0, seed=0,
                             disable_tqdm=True)
        trainer = trl.DPOTrainer(model=model, args=args, train_dataset=ds, processing_class=tok, callbacks=[Clock()])
        trainer.remove_callback(PrinterCallback)                     # its log lines are not what we measure
        trainer.train()
    return a.bs * (a.steps - a.skip) / (stamps[a.steps] - stamps[a.skip]), logs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--steps', type=int, default=30, help='optimiser steps of each trainer')
    p.add_argument('--skip', type=int, default=10, help='steps before the clock starts')
    p.add_argument('--bs', type=int, default=16, help='pairs per step')
    p.add_argument('--lr', type=float, default=1e-4)
    p.add_argument('--beta', type=float, default=0.1)
    p.add_argument('--precision', default='no', choices=['bf16', 'no'], help='autocast on the CPU, or fp32')
    p.add_argument('--n', type=int, default=6, help='pairs per task (42 trained tasks)')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--width', type=int, default=128, help='hidden size of the decoder')
    p.add_argument('--layers', type=int, default=2, help='its blocks')
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    warnings.filterwarnings('ignore')
    import datasets, transformers
    transformers.logging.set_verbosity_error(); transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars(); os.environ['TQDM_DISABLE'] = '1'
    train_tasks, _ = heldout_split(['closed_book_qa', 'counting'])
    data = task_pairs(train_tasks, n=a.n, seed=0).to_list()
    tok, mc = byte_tokenizer(), ModelConfig(d_model=a.width, n_layers=a.layers, n_heads=4, d_ff=4 * a.width)
    print(f'{len(data)} pairs, {a.steps} steps of {a.bs} pairs, precision {a.precision}, {a.threads} thread(s), '
          f'Llama {mc.n_layers}x{mc.d_model} on bytes', flush=True)
    res, last = {}, {}
    for name, run in [('trl', lambda m: trl(m, tok, data, a)),
                      ('ours, separate sequences', lambda m: ours(m, tok, data, a, share=False)),
                      ('ours', lambda m: ours(m, tok, data, a, share=True))]:
        res[name], last[name] = run(tiny_causal_lm(tok, mc, seed=0))
        print(f'{name}: {res[name]:.1f} pairs/s', flush=True)
    keys = ['rewards/margins', 'rewards/accuracies', 'logps/chosen']
    print(f"\n{'trainer':<26}{'pairs/s':>9}" + ''.join(f'{k:>20}' for k in keys))
    for name in res:
        print(f'{name:<26}{res[name]:>9.1f}' + ''.join(f"{last[name].get(k, float('nan')):>20.3f}" for k in keys))
    print(f"speedup_vs_trl={res['ours'] / res['trl']:.2f}")


if __name__ == '__main__':
    main()
