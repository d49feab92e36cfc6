"Tests of instruct_nb.rlhf that notebooks test badly: a run killed with SIGKILL (mid-step and mid-save) resumes exactly, bad input at the public API names the argument, a reward model and a policy loaded from paths end to end, PTX, the adaptive KL controller inside the trainer, GAE on ragged answers, and shared prompts and the single-step shortcut inside the trainer."
import os, textwrap
from dataclasses import replace
os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

import pytest
import torch

from instruct_nb.core import byte_tokenizer, latest_checkpoint, load_model, save, tiny_causal_lm, tiny_reward_model
from instruct_nb.rlhf import (AdaptiveKL, FixedKL, RLHFConfig, advantages, gae, grpo_advantages, kl_penalty,
                              logprobs_from_logits, policy_loss, rloo_advantages, rlhf, shape_rewards, value_loss,
                              whiten)
import killrun

PROMPTS = [f'Q: write {w}\nA:' for w in ('a word', 'a name', 'a sound', 'a letter', 'many as', 'something')]
def share_of_a(prompts, answers): return [a.count('a') / max(len(a), 1) for a in answers]

# One RL run as a script: PPO on the toy reward, checkpoints every 2 steps, 2 minibatches a pass.
# `killrun.arm` kills it where the test's KILL says.
RUN = textwrap.dedent('''
    import sys, json, hashlib
    import torch
    torch.set_num_threads(1)
    import instruct_nb.rlhf as R
    from instruct_nb.core import byte_tokenizer, tiny_causal_lm
    from killrun import arm; arm(R._RLHFRun)
    tok = byte_tokenizer()
    prompts = [f'Q: write {w}\\nA:' for w in ('a word', 'a name', 'a sound', 'a letter', 'many as', 'something')]
    reward = lambda p, a: [x.count('a') / max(len(x), 1) for x in a]
    cfg = R.RLHFConfig.tiny(max_steps=8, ckpt_every=2, lr=1e-2, minibatches=2, kl_target=1.0, kl_horizon=50)
    model, hist = R.rlhf(tiny_causal_lm(tok), tok, prompts, reward, cfg, out=sys.argv[1])
    digest = hashlib.sha256(b''.join(p.detach().numpy().tobytes() for p in model.parameters())).hexdigest()
    print('RESULT ' + json.dumps(dict(scores=[h['objective/scores'] for h in hist],
                                      loss=[h['loss/policy_avg'] for h in hist], beta=[h['beta'] for h in hist],
                                      digest=digest)))
''')


def _run(out, kill=''): return killrun.run(RUN, out, kill)


def test_sigkill_mid_step_and_mid_save_resumes_exactly(tmp_path):
    unbroken = _run(tmp_path / 'unbroken')[0]
    out = tmp_path / 'run'
    _run(out, 'step:3')                                     # dies after step 3: checkpoint-2 is the newest
    assert latest_checkpoint(out / 'checkpoints').name == 'checkpoint-2'
    _run(out, 'save:6')                                     # resumes at 2, dies while saving checkpoint-6
    assert latest_checkpoint(out / 'checkpoints').name == 'checkpoint-4'
    res, log = _run(out)
    assert 'resumed from' in log and 'at step 4' in log
    assert res == unbroken                                  # scores, losses, beta and weights, bit for bit
    assert len(set(res['beta'])) > 1                        # the adaptive beta moved, and was restored
    assert (out / 'model.safetensors').exists() and (out / 'value_head.safetensors').exists()
    assert (out / 'rlhf_config.json').exists()


def test_resume_refuses_other_settings_or_prompts(tmp_path):
    tok, cfg = byte_tokenizer(), RLHFConfig.tiny(max_steps=2)
    rlhf(tiny_causal_lm(tok), tok, PROMPTS, share_of_a, cfg, out=tmp_path)
    with pytest.raises(ValueError, match='other settings'):
        rlhf(tiny_causal_lm(tok), tok, PROMPTS, share_of_a, RLHFConfig.tiny(max_steps=4, bs=4), out=tmp_path)
    with pytest.raises(ValueError, match='other data'):
        rlhf(tiny_causal_lm(tok), tok, PROMPTS[1:], share_of_a, RLHFConfig.tiny(max_steps=4), out=tmp_path)


def test_reward_model_and_policy_from_paths(tmp_path):
    "The chapter's pipeline from saved folders: a reward model with its saved statistics scores the rollouts."
    tok = byte_tokenizer()
    rm = tiny_reward_model(tok, seed=1)
    rm.config.update(dict(reward_mean=0.3, reward_std=0.5))
    save(rm, tok, tmp_path / 'rm'); save(tiny_causal_lm(tok), tok, tmp_path / 'sft')
    model, hist = rlhf(tmp_path / 'sft', None, PROMPTS, tmp_path / 'rm', RLHFConfig.tiny(max_steps=3, bs=4),
                       out=tmp_path / 'rl')
    assert [h['step'] for h in hist] == [1, 2, 3] and all(abs(h['objective/scores']) < 50 for h in hist)
    again = load_model(tmp_path / 'rl', dtype=torch.float32, device='cpu')
    assert type(again).__name__ == 'LlamaForCausalLM'
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), again.parameters()))


def test_ptx_and_k3_and_rloo_in_the_trainer():
    tok = byte_tokenizer()
    ids = torch.randint(0, 256, (2, 32))
    ptx = iter([dict(input_ids=ids, labels=ids)] * 100)
    _, hist = rlhf(tiny_causal_lm(tok), tok, PROMPTS, share_of_a,
                   RLHFConfig.tiny(max_steps=2, ptx=0.5, kl_kind='k3'), ptx_data=ptx)
    assert all(torch.isfinite(torch.tensor(h['loss/ptx_avg'])) for h in hist)
    assert all(h['objective/kl'] >= 0 for h in hist)                              # k3 is never negative
    _, hist = rlhf(tiny_causal_lm(tok), tok, PROMPTS, share_of_a, RLHFConfig.tiny(max_steps=2, algo='rloo', bs=2, k=3))
    assert 'loss/value_avg' not in hist[0] and hist[-1]['episode'] == 12


def test_missing_eos_penalty_and_beta_in_advantages():
    B, T = 4, 3
    batch = dict(mask=torch.ones(B, T, dtype=torch.long), old_logp=torch.full((B, T), -1.0),
                 ref_logp=torch.full((B, T), -1.5), values=torch.zeros(B, T), scores=torch.tensor([1.0, 2, 3, 4]),
                 ended=torch.tensor([True, False, True, False]))
    _, _, m = advantages(batch, RLHFConfig(beta=0.1, missing_eos_penalty=2.0, whiten=False), 0.1)
    assert m['objective/kl'] == pytest.approx(1.5)                                # 3 tokens of k1 = 0.5
    assert m['objective/scores'] == pytest.approx(2.5)                            # logged before the penalty
    assert m['objective/rlhf_reward'] == pytest.approx(2.5 - 1.0 - 0.15)
    adv, ret, _ = advantages(batch, RLHFConfig(algo='rloo', k=2, beta=0.1, whiten=False), 0.1)
    assert ret is None and adv.tolist() == pytest.approx([-1.0, 1.0, -1.0, 1.0])


def test_gae_on_ragged_answers_equals_each_answer_alone():
    torch.manual_seed(0)
    lens, T = [1, 4, 6, 2], 6
    r, v = torch.randn(4, T), torch.randn(4, T)
    mask = torch.tensor([[1] * n + [0] * (T - n) for n in lens])
    adv, ret = gae(r, v, 0.97, 0.9, mask)
    for i, n in enumerate(lens):
        a1, r1 = gae(r[i:i + 1, :n], v[i:i + 1, :n], 0.97, 0.9)
        torch.testing.assert_close(adv[i, :n], a1[0]); torch.testing.assert_close(ret[i, :n], r1[0])
        assert adv[i, n:].abs().sum() == 0


Z, M = torch.zeros(2, 3), torch.ones(2, 3)

@pytest.mark.parametrize('call, msg', [
    (lambda: kl_penalty(Z, Z, 'kl'), "kind='kl': expected one of"),
    (lambda: kl_penalty(Z, Z[:, :2]), 'logp has shape (2, 3), ref_logp (2, 2)'),
    (lambda: logprobs_from_logits(torch.zeros(2, 3, 5), torch.zeros(2, 4, dtype=torch.long)),
     'logits has shape (2, 3, 5), tokens (2, 4)'),
    (lambda: gae(Z, Z[:1]), 'rewards has shape (2, 3), values (1, 3)'),
    (lambda: gae(Z, Z, gamma=-0.1), 'gamma=-0.1: must be between 0 and 1'),
    (lambda: gae(Z, Z, mask=M[:, :2]), 'mask has shape (2, 2), rewards (2, 3)'),
    (lambda: shape_rewards(torch.zeros(2), Z, M, beta=-1), 'beta=-1: the KL coefficient must be >= 0'),
    (lambda: shape_rewards(torch.zeros(3), Z, M, beta=0.1), 'scores has shape (3,), kl (2, 3)'),
    (lambda: shape_rewards(torch.zeros(2), Z, M, 0.1, missing_eos_penalty=-1), 'missing_eos_penalty=-1'),
    (lambda: whiten(Z, torch.zeros(2, 3)), 'mask selects 0 element(s)'),
    (lambda: policy_loss(Z, Z[:1], Z, M), 'logp has shape (2, 3), old_logp (1, 3)'),
    (lambda: policy_loss(Z, Z, torch.zeros(3), M), 'advantages has shape (3,)'),
    (lambda: policy_loss(Z, Z, Z, M, clip=-0.2), 'clip=-0.2: must be > 0'),
    (lambda: value_loss(Z, Z, Z[:, :1], M), 'returns has shape (2, 1), values (2, 3)'),
    (lambda: rloo_advantages(torch.zeros(5), 2), 'rewards has 5 answers: not a multiple of k=2'),
    (lambda: grpo_advantages(torch.zeros(4), 0), 'k=0: a group needs at least 2'),
    (lambda: AdaptiveKL(0.1, target=1.0, horizon=0), 'horizon=0: must be > 0'),
    (lambda: FixedKL(float('nan')), 'value=nan'),
    (lambda: RLHFConfig(temperature=0), 'RLHFConfig.temperature=0: must be > 0'),
    (lambda: RLHFConfig(top_p=1.5), 'RLHFConfig.top_p=1.5: must be at most 1'),
    (lambda: RLHFConfig(algo='dpo'), "RLHFConfig.algo='dpo'"),
    (lambda: RLHFConfig(kl_target=0), 'RLHFConfig.kl_target=0: must be > 0'),
    (lambda: RLHFConfig(bs=2, minibatches=3), 'RLHFConfig.minibatches=3: more than the 2 prompts'),
    (lambda: rlhf(tiny_causal_lm(), None, PROMPTS, share_of_a), 'tok is None'),
    (lambda: rlhf(tiny_causal_lm(), byte_tokenizer(), [], share_of_a), 'prompts must be a non-empty list'),
    (lambda: rlhf(tiny_causal_lm(), byte_tokenizer(), 'Q: hi', share_of_a), 'prompts must be a non-empty list'),
    (lambda: rlhf(tiny_causal_lm(), byte_tokenizer(), PROMPTS, 3.0), 'reward is a float'),
    (lambda: rlhf(tiny_causal_lm(), byte_tokenizer(), PROMPTS, lambda p, a: [1.0], RLHFConfig.tiny(max_steps=1)),
     'the reward function returned (1,) scores for 8 answers'),
])
def test_bad_input_names_the_argument(call, msg):
    with pytest.raises(ValueError) as e: call()
    assert msg in str(e.value), str(e.value)


def test_shared_prompts_change_no_number_in_training():
    # RLOO with k = 3 and 2 minibatches of whole groups: each prompt once, or once per answer, same first step
    tok = byte_tokenizer()
    cfg = RLHFConfig.tiny(max_steps=1, algo='rloo', bs=4, k=3, minibatches=2, lr=1e-2)
    runs = {}
    for share in (True, False):
        torch.manual_seed(0)
        model, hist = rlhf(tiny_causal_lm(tok), tok, PROMPTS, share_of_a, replace(cfg, share_prompt=share))
        runs[share] = (hist[0], torch.cat([p.detach().flatten() for p in model.parameters()]))
    for k in ('objective/scores', 'objective/kl', 'loss/policy_avg', 'val/ratio'):
        assert runs[True][0][k] == pytest.approx(runs[False][0][k], rel=1e-4, abs=1e-6), k
    assert torch.allclose(runs[True][1], runs[False][1], atol=1e-5)


def test_one_step_per_batch_needs_no_separate_pass():
    # ppo_epochs = minibatches = 1: the update's forward pass gives old_logp; the ratio is exactly 1
    tok = byte_tokenizer()
    _, hist = rlhf(tiny_causal_lm(tok), tok, PROMPTS, share_of_a, RLHFConfig.tiny(max_steps=2, ppo_epochs=1))
    assert all(h['val/ratio'] == pytest.approx(1.0, abs=1e-6) for h in hist)
    assert all(h['policy/clipfrac_avg'] == 0 for h in hist)
