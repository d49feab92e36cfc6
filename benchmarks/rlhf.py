"""RL step time: `instruct_nb.rlhf.rlhf` (RLOO, and PPO beside it) against TRL's `RLOOTrainer`, same policy, prompts,
answers per prompt, batch, answer length, reward function and precision. Prints seconds per RL step (generation +
scoring + update) of each and, last, `speedup_vs_trl=<TRL's time / ours>`.

    python benchmarks/rlhf.py                        # the shipped decoder, 4 prompts x 4 answers of <= 24 tokens
    python benchmarks/rlhf.py --steps 20 --threads 2

One RL step of each trainer: sample `--k` answers to each of `--bs` prompts (temperature 1, no top-k / top-p), score
them with the same Python reward function, compute log-probabilities under the policy and the frozen reference (KL
coefficient `--beta`, the k1 estimate in the reward, as TRL's RLOO puts it), and take one AdamW step on all
`bs * k` answers (one epoch, one minibatch: TRL's `num_iterations=1`, `gradient_accumulation_steps=1`). fp32 on the
CPU for both, no gradient checkpointing. TRL builds its reference model from the policy's `name_or_path`, so the
policy is saved to a folder and both trainers load it from there. The clock runs from the end of step `--skip` to
the last step: by a callback in TRL, by the history's wall time in ours. PPO (value head, GAE, one epoch) is timed
the same way. Ours differs from TRL in two ways that change the work, not the result: each prompt is computed once
for its k answers in every forward and backward pass (`share_prompt`, the default), and with one optimiser step per
batch the update's own forward pass gives the log-probabilities before the update (TRL's RLOO runs a separate no-grad
pass for them). A third run of ours with `share_prompt=False` separates the two. Mean answer lengths are printed
too: generation time depends on them, and both sample from the same policy, so they should agree within noise.
"""
from __future__ import annotations
import argparse, os, tempfile, time, warnings

os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
import numpy as np
import torch

from instruct_nb.core import load_model
from instruct_nb.pretrain import load_base
from instruct_nb.rlhf import RLHFConfig, rlhf
from instruct_nb.sft import heldout_split, task_records

LENGTHS: dict[str, list[int]] = {}


def brevity(prompts, completions, **kw) -> list[float]:
    "A reward that prefers answers of about 12 characters (both trainers call this same function)."
    LENGTHS.setdefault(brevity.who, []).extend(len(c) for c in completions)
    return [-abs(len(c.strip()) - 12) / 12 for c in completions]


def ours(path, tok, prompts, a, algo: str, share: bool = True) -> float:
    "Seconds per RL step of `rlhf` between the end of step `a.skip` and the last step."
    brevity.who = f'ours ({algo})' if share else f'ours ({algo}, share_prompt=False)'
    cfg = RLHFConfig(algo=algo, bs=a.bs, k=a.k, max_new_tokens=a.max_new_tokens, beta=a.beta, lr=a.lr,
                     max_steps=a.steps, ppo_epochs=1, minibatches=1, top_p=1.0, whiten=algo == 'ppo',
                     share_prompt=share, mixed_precision='no', device='cpu', progress=False)
    _, hist = rlhf(load_model(path, dtype=torch.float32, device='cpu'), tok, prompts, brevity, cfg)
    t = {h['step']: h['wall_s'] for h in hist}
    return (t[a.steps] - t[a.skip]) / (a.steps - a.skip)


def trl_rloo(path, tok, prompts, a) -> float:
    "Seconds per RL step of TRL's `RLOOTrainer` on the same prompts (BOS + prompt, as ours encodes them)."
    import trl
    from datasets import Dataset
    from transformers import PrinterCallback, TrainerCallback
    brevity.who = 'trl'
    stamps = {}

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw): stamps[state.global_step] = time.perf_counter()

    ds = Dataset.from_list([dict(prompt=tok.bos_token + p) for p in prompts])
    with tempfile.TemporaryDirectory() as d:
        args = trl.RLOOConfig(output_dir=d, max_steps=a.steps, per_device_train_batch_size=a.bs * a.k,
                              num_generations=a.k, max_completion_length=a.max_new_tokens, beta=a.beta,
                              learning_rate=a.lr, lr_scheduler_type='constant', warmup_steps=0, num_iterations=1,
                              gradient_accumulation_steps=1, temperature=1.0, top_p=1.0, top_k=0,
                              bf16=False, gradient_checkpointing=False, use_cpu=True, report_to=[],
                              save_strategy='no', logging_steps=a.steps, dataloader_num_workers=0, seed=0,
                              disable_tqdm=True, model_init_kwargs=dict(dtype=torch.float32))
        trainer = trl.RLOOTrainer(model=str(path), reward_funcs=brevity, args=args, train_dataset=ds,
                                  processing_class=tok, callbacks=[Clock()])
        trainer.remove_callback(PrinterCallback)
        trainer.train()
    return (stamps[a.steps] - stamps[a.skip]) / (a.steps - a.skip)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--steps', type=int, default=14, help='RL steps of each trainer')
    p.add_argument('--skip', type=int, default=2, help='steps before the clock starts')
    p.add_argument('--bs', type=int, default=4, help='prompts per step')
    p.add_argument('--k', type=int, default=4, help='answers per prompt')
    p.add_argument('--max-new-tokens', type=int, default=24)
    p.add_argument('--beta', type=float, default=0.05)
    p.add_argument('--lr', type=float, default=1e-5)
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    warnings.filterwarnings('ignore')
    import datasets, transformers
    transformers.logging.set_verbosity_error(); transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    train_tasks, _ = heldout_split(['closed_book_qa', 'counting'])
    prompts = [f"Q: {r['input']}\nA:" for r in task_records(train_tasks, 2, 'seen', seed=0)]
    base, tok = load_base('decoder')
    print(f'{len(prompts)} prompts; {a.steps} RL steps of {a.bs} prompts x {a.k} answers of <= {a.max_new_tokens} '
          f'tokens; fp32, {a.threads} thread(s); clock from step {a.skip}', flush=True)
    res = {}
    with tempfile.TemporaryDirectory() as d:
        base.save_pretrained(d); tok.save_pretrained(d)
        for name, run in [('trl RLOOTrainer', lambda: trl_rloo(d, tok, prompts, a)),
                          ('ours (rloo, share_prompt=False)', lambda: ours(d, tok, prompts, a, 'rloo', False)),
                          ('ours (rloo)', lambda: ours(d, tok, prompts, a, 'rloo')),
                          ('ours (ppo)', lambda: ours(d, tok, prompts, a, 'ppo'))]:
            c0 = time.process_time()
            res[name] = run()
            print(f'{name}: {res[name]:.3f} s/step ({time.process_time() - c0:.0f} CPU-s in all)', flush=True)
    print(f"\n| trainer | s / RL step | answers / s | mean answer chars |\n|---|---|---|---|")
    for name, s in res.items():
        who = 'trl' if name.startswith('trl') else name
        print(f'| {name} | {s:.3f} | {a.bs * a.k / s:.1f} | {np.mean(LENGTHS[who]):.1f} |')
    print(f"speedup_vs_trl={res['trl RLOOTrainer'] / res['ours (rloo)']:.2f}")


if __name__ == '__main__':
    main()
