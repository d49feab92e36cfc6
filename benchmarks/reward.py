"""Reward-model training speed: `instruct_nb.reward.train_reward` against TRL's `RewardTrainer`, same backbone, data,
batch and precision. Prints pairs per second of each and, last, `speedup_vs_trl=<ratio>`.

    python benchmarks/reward.py                      # the shipped decoder, 16 pairs a step, bf16 autocast on the CPU
    python benchmarks/reward.py --steps 40 --precision no --threads 2

Both trainers read the same tokenized pairs (`chosen_ids`/`rejected_ids`, TRL's pre-tokenized columns, so neither
tokenizes during the timing), start from the same reward model (the shipped decoder under one fixed scalar head) and
take the same number of optimiser steps of `--bs` pairs at the same learning rate. The clock runs from the end of
step `--skip` to the last step (the first steps pay one-off costs), measured by a callback in TRL and by the history's
wall time in ours. Ours is run twice: with the prompt computed once per pair (the default) and with chosen and rejected
as separate padded sequences, as TRL does, which isolates what sharing the prompt buys from the rest.
"""
from __future__ import annotations
import argparse, os, tempfile, time, warnings

os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
import torch

from instruct_nb.pretrain import load_base
from instruct_nb.reward import RewardConfig, prepare_pairs, reward_model, task_pairs, train_reward
from instruct_nb.sft import heldout_split


def ours(rm, tok, data, a, share: bool) -> float:
    "Pairs per second of `train_reward` between the end of step `a.skip` and the last step."
    cfg = RewardConfig(max_steps=a.steps, bs=a.bs, lr=a.lr, warmup=0, log_every=a.skip, share_prompt=share,
                       mixed_precision=a.precision, device='cpu', progress=False)
    _, hist = train_reward(rm, tok, data, cfg)
    t = {h['step']: h['wall_s'] for h in hist}
    return a.bs * (a.steps - a.skip) / (t[a.steps] - t[a.skip])


def trl(rm, tok, data, a) -> float:
    "Pairs per second of TRL's `RewardTrainer` on the same pairs, tokenized the same way."
    import trl
    from datasets import Dataset
    from transformers import PrinterCallback, TrainerCallback
    pairs = prepare_pairs(data, tok)
    ds = Dataset.from_list([dict(chosen_ids=p['chosen_ids'], rejected_ids=p['rejected_ids']) for p in pairs])
    stamps = {}

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw): stamps[state.global_step] = time.perf_counter()

    with tempfile.TemporaryDirectory() as d:
        args = trl.RewardConfig(output_dir=d, max_steps=a.steps, per_device_train_batch_size=a.bs, learning_rate=a.lr,
                                lr_scheduler_type='constant', warmup_steps=0, bf16=a.precision == 'bf16',
                                use_cpu=True, report_to=[], save_strategy='no', logging_steps=a.skip,
                                dataloader_num_workers=0, seed=0, disable_tqdm=True)
        trainer = trl.RewardTrainer(model=rm, args=args, train_dataset=ds, processing_class=tok, callbacks=[Clock()])
        trainer.remove_callback(PrinterCallback)                     # its log lines are not what we measure
        trainer.train()
    return a.bs * (a.steps - a.skip) / (stamps[a.steps] - stamps[a.skip])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--steps', type=int, default=60, help='optimiser steps of each trainer')
    p.add_argument('--skip', type=int, default=10, help='steps before the clock starts')
    p.add_argument('--bs', type=int, default=16, help='pairs per step')
    p.add_argument('--lr', type=float, default=1e-4)
    p.add_argument('--precision', default='bf16', choices=['bf16', 'no'], help='autocast on the CPU, or fp32')
    p.add_argument('--n', type=int, default=20, help='pairs per task (42 trained tasks)')
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    warnings.filterwarnings('ignore')
    import datasets, transformers
    transformers.logging.set_verbosity_error(); transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    train_tasks, _ = heldout_split(['closed_book_qa', 'counting'])
    data = task_pairs(train_tasks, n=a.n, seed=0)
    base, tok = load_base('decoder')
    print(f'{len(data)} pairs, {a.steps} steps of {a.bs} pairs, precision {a.precision}, {a.threads} thread(s)',
          flush=True)
    res = {}
    for name, run in [('trl', lambda rm: trl(rm, tok, data, a)),
                      ('ours, separate sequences', lambda rm: ours(rm, tok, data, a, share=False)),
                      ('ours', lambda rm: ours(rm, tok, data, a, share=True))]:
        res[name] = run(reward_model(base, seed=0))
        print(f'{name}: {res[name]:.1f} pairs/s', flush=True)
    print(f"speedup_vs_trl={res['ours'] / res['trl']:.2f}")


if __name__ == '__main__':
    main()
