"Tests of instruct_nb.dpo: bad input refused at the public API naming the argument or record, exact resume after an interruption, the LoRA reference equal to the base model's log-probs, the fast log-probs equal to the naive ones, and chats."
import os
os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
import json, random

import pytest
import torch

from instruct_nb.core import byte_tokenizer, latest_checkpoint, tiny_causal_lm
from instruct_nb.dpo import (DPOConfig, collate_dpo, collate_fast, dpo, dpo_loss, pair_logps, prepare_dpo,
                             reference_logps, sequence_logps)

WORDS = ['apple', 'river', 'stone', 'cloud', 'green', 'tiger', 'piano', 'lemon', 'house', 'bread']


def pairs(n=32, seed=0):
    rng = random.Random(seed)
    words = [rng.choice(WORDS) for _ in range(n)]
    return [dict(prompt=f'say {w}:', chosen=f' {w}', rejected=f' {w.upper()}') for w in words]


def cfg(**kw): return DPOConfig.tiny(**{**dict(bs=8, lr=3e-3, mixed_precision='no', device='cpu'), **kw})


def logps4(b=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [-10 + torch.randn(b, generator=g) for _ in range(4)]


@pytest.mark.parametrize('i, bad, msg', [
    (1, torch.zeros(3), 'policy_rejected_logps has shape (3,), policy_chosen_logps (4,)'),
    (0, torch.zeros(4, 2), 'policy_chosen_logps must be a 1-D tensor'),
    (2, [0.0] * 4, 'ref_chosen_logps must be a 1-D tensor (B,) of sequence log-probs, got list'),
    (3, torch.tensor([0.0, float('nan'), 0.0, 0.0]), 'ref_rejected_logps holds NaN at index 1'),
])
def test_dpo_loss_names_the_bad_tensor(i, bad, msg):
    xs = logps4()
    xs[i] = bad
    with pytest.raises(ValueError) as e: dpo_loss(*xs)
    assert msg in str(e.value)


@pytest.mark.parametrize('kw, msg', [(dict(beta=0.0), 'beta=0.0'), (dict(beta=-1), 'beta=-1'),
                                     (dict(beta=float('inf')), 'beta=inf'), (dict(beta=True), 'beta=True'),
                                     (dict(label_smoothing=0.5), 'label_smoothing=0.5'),
                                     (dict(label_smoothing=-0.1), 'label_smoothing=-0.1'),
                                     (dict(loss_type='hinge'), "loss_type='hinge'")])
def test_dpo_loss_bad_settings(kw, msg):
    with pytest.raises(ValueError, match=msg.replace('(', r'\(')): dpo_loss(*logps4(), **kw)


def test_loss_at_start_is_log2_and_rewards_zero():
    x = logps4()
    loss, ch, rj = dpo_loss(x[0], x[1], x[0], x[1])
    assert abs(loss.item() - torch.log(torch.tensor(2.0)).item()) < 1e-6 and not ch.any() and not rj.any()


@pytest.mark.parametrize('kw, msg', [(dict(beta=0), 'DPOConfig.beta=0'), (dict(bs=0), 'DPOConfig.bs=0'),
                                     (dict(label_smoothing=0.5), 'DPOConfig.label_smoothing'),
                                     (dict(loss_type='kto'), 'DPOConfig.loss_type'), (dict(fmt='nope'), 'nope')])
def test_config_checks(kw, msg):
    with pytest.raises((ValueError, KeyError), match=msg): DPOConfig(**kw)


def test_bad_records_name_the_record():
    tok = byte_tokenizer()
    with pytest.raises(ValueError, match="record 1: no 'rejected' field"):
        dpo(tiny_causal_lm(tok), tok, [pairs(1)[0], dict(prompt='a', chosen='b')], cfg())
    with pytest.raises(ValueError, match="record 0: 'chosen' and 'rejected' are identical"):
        dpo(tiny_causal_lm(tok), tok, [dict(prompt='a', chosen=' b', rejected=' b')], cfg())
    with pytest.raises(ValueError, match='data is empty'): dpo(tiny_causal_lm(tok), tok, [], cfg())
    with pytest.raises(ValueError, match='tok is None'): dpo(tiny_causal_lm(tok), None, pairs(), cfg())
    with pytest.raises(ValueError, match="record 0: 'rejected' has"):
        prepare_dpo([dict(prompt='a', chosen=' b', rejected=' c' * 40)], tok, max_len=16)


def test_fast_logps_equal_naive_either_padding_and_chats():
    tok = byte_tokenizer()
    lm = tiny_causal_lm(tok, seed=1).eval()
    data = pairs(6) + [dict(chosen=[{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'hello'}],
                            rejected=[{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'go away'}])]
    tp = prepare_dpo(data, tok)
    with torch.no_grad():
        right = sequence_logps(lm, collate_dpo(tp, tok.pad_token_id))
        left = sequence_logps(lm, collate_dpo(tp, tok.pad_token_id, side='left'))
        torch.testing.assert_close(left, right, atol=1e-4, rtol=0)
        for share in (True, False):
            fast = pair_logps(lm, collate_fast(tp, tok.pad_token_id, share))
            torch.testing.assert_close(fast, right, atol=1e-4, rtol=0)


def run(out, **kw):
    tok = byte_tokenizer()
    return dpo(tiny_causal_lm(tok, seed=0), tok, pairs(), cfg(max_steps=8, log_every=1, ckpt_every=3), out=out, **kw)


class Stop(Exception): pass


def test_interrupted_run_resumes_exactly(tmp_path):
    straight, h1 = run(tmp_path / 'a')
    def stop(model): raise Stop()
    with pytest.raises(Stop): run(tmp_path / 'b', eval_fn=stop, eval_every=5)
    assert latest_checkpoint(tmp_path / 'b' / 'checkpoints').name == 'checkpoint-3'
    resumed, h2 = run(tmp_path / 'b')
    drop = ('cpu_s', 'wall_s')
    assert [{k: v for k, v in h.items() if k not in drop} for h in h1] == \
           [{k: v for k, v in h.items() if k not in drop} for h in h2]
    for (n, p), q in zip(straight.named_parameters(), resumed.parameters()): assert torch.equal(p, q), n
    assert json.loads((tmp_path / 'b' / 'dpo_config.json').read_text())['max_steps'] == 8
    assert h1[-1]['rewards/margins'] > h1[0]['rewards/margins']


def test_resume_refuses_other_settings_or_data(tmp_path):
    tok = byte_tokenizer()
    dpo(tiny_causal_lm(tok), tok, pairs(), cfg(max_steps=2), out=tmp_path)
    with pytest.raises(ValueError, match='other settings'):
        dpo(tiny_causal_lm(tok), tok, pairs(), cfg(max_steps=4, beta=0.5), out=tmp_path)
    with pytest.raises(ValueError, match='other data'):
        dpo(tiny_causal_lm(tok), tok, pairs(seed=1), cfg(max_steps=4), out=tmp_path)


def test_lora_reference_is_the_base_model():
    tok = byte_tokenizer()
    base = tiny_causal_lm(tok, seed=0)
    tp = prepare_dpo(pairs(), tok)
    with torch.no_grad(): want = sequence_logps(base.eval(), collate_dpo(tp, tok.pad_token_id)).view(2, -1).T
    model, hist = dpo(base, tok, pairs(), cfg(max_steps=10, lora_r=4))
    assert hasattr(model, 'peft_config') and hist[-1]['rewards/margins'] > 0.1
    torch.testing.assert_close(reference_logps(model, tp, tok.pad_token_id), want, atol=1e-4, rtol=0)
    with torch.no_grad(): now = sequence_logps(model, collate_dpo(tp, tok.pad_token_id)).view(2, -1).T
    assert (now - want).abs().max() > 0.1                   # the adapters moved the policy


def test_ipo_trains_and_uses_mean_logps():
    tok = byte_tokenizer()
    _, hist = dpo(tiny_causal_lm(tok), tok, pairs(), cfg(max_steps=10, loss_type='ipo', beta=0.5, log_every=5))
    assert hist[-1]['loss'] < hist[0]['loss'] and hist[-1]['rewards/margins'] > hist[0]['rewards/margins']


def test_loss_and_metrics_match_trl_on_its_own_batch(tmp_path):
    "TRL's DPOTrainer tokenizes and collates; on that batch our log-probs and loss give its loss and metrics."
    import trl
    from datasets import Dataset
    tok = byte_tokenizer()
    policy, ref = tiny_causal_lm(tok, seed=1), tiny_causal_lm(tok, seed=0)
    args = trl.DPOConfig(output_dir=str(tmp_path), beta=0.1, use_cpu=True, report_to=[], per_device_train_batch_size=4,
                         max_length=None)
    tr = trl.DPOTrainer(model=policy, ref_model=ref, args=args, train_dataset=Dataset.from_list(pairs(4)),
                        processing_class=tok)
    batch = next(iter(tr.get_train_dataloader()))
    with torch.no_grad():
        want = tr.compute_loss(tr.model, batch)
        pol, rf = sequence_logps(policy, batch), sequence_logps(ref, batch)
    loss, ch, rj = dpo_loss(*pol.chunk(2), *rf.chunk(2), beta=0.1)
    m = {k: v[-1] for k, v in tr._metrics['train'].items()}
    assert abs(loss.item() - want.item()) < 1e-5
    assert abs((ch - rj).mean().item() - m['rewards/margins']) < 1e-5
    assert abs(pol[4:].mean().item() - m['logps/rejected']) < 1e-3


def test_grad_accum_bf16_chats_and_separate_sequences_run():
    tok = byte_tokenizer()
    chats = [dict(prompt=[{'role': 'user', 'content': f'say {w}'}], chosen=[{'role': 'assistant', 'content': w}],
                  rejected=[{'role': 'assistant', 'content': w.upper()}]) for w in WORDS]
    _, hist = dpo(tiny_causal_lm(tok), tok, chats, cfg(max_steps=4, bs=2, grad_accum=2, mixed_precision='bf16',
                                                        share_prompt=False, log_every=2))
    assert [h['step'] for h in hist] == [2, 4] and all(torch.isfinite(torch.tensor(h['loss'])) for h in hist)
