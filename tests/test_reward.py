"Tests of instruct_nb.reward that notebooks test badly: a run killed with SIGKILL (mid-step and mid-save) resumes exactly, bad input names the record, the trained model saved and loaded end to end, LoRA, and the loss against TRL."
import json, os, textwrap
os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

import numpy as np
import pytest
import torch

from instruct_nb.core import byte_tokenizer, latest_checkpoint, load_model, tiny_causal_lm
from instruct_nb.reward import (RewardConfig, collate_pairs, evaluate_pairs, pair_accuracy, pairwise_loss,
                                prepare_pairs, reward_model, rewards, score_texts, task_pairs, train_reward)
import killrun

TASKS = ['city_country', 'review_sentiment', 'event_headline']

# One training run as a script: a tiny decoder on task pairs, checkpoints every 3 steps, 2 micro-batches a step.
# `killrun.arm` kills it where the test's KILL says.
RUN = textwrap.dedent('''
    import sys, json, hashlib
    import torch
    torch.set_num_threads(1)
    import instruct_nb.reward as R
    from instruct_nb.core import byte_tokenizer, tiny_causal_lm
    from killrun import arm; arm(R._RewardRun)
    tok = byte_tokenizer()
    data = R.task_pairs(['city_country', 'review_sentiment', 'event_headline'], n=8, seed=0)
    cfg = R.RewardConfig.tiny(max_steps=12, ckpt_every=3, log_every=1, mixed_precision='no', grad_accum=2, bs=3)
    model, hist = R.train_reward(tiny_causal_lm(tok), tok, data, cfg, out=sys.argv[1])
    digest = hashlib.sha256(b''.join(p.detach().numpy().tobytes() for p in model.parameters())).hexdigest()
    print('RESULT ' + json.dumps(dict(losses=[h['loss'] for h in hist], accuracy=[h['accuracy'] for h in hist],
                                      digest=digest, mean=model.config.reward_mean)))
''')


def _run(out, kill=''): return killrun.run(RUN, out, kill)


@pytest.fixture(scope='module')
def unbroken(tmp_path_factory):
    return _run(tmp_path_factory.mktemp('unbroken') / 'run')[0]


def test_sigkill_mid_step_and_mid_save_resumes_exactly(unbroken, tmp_path):
    out = tmp_path / 'run'
    _run(out, 'step:5')                                     # dies after step 5: checkpoint-3 is the newest
    assert latest_checkpoint(out / 'checkpoints').name == 'checkpoint-3'
    _run(out, 'save:9')                                     # resumes at 3, dies while saving checkpoint-9
    assert latest_checkpoint(out / 'checkpoints').name == 'checkpoint-6'
    assert list((out / 'checkpoints').glob('.tmp-checkpoint-9-*'))   # the half-written save is there, and ignored
    res, log = _run(out)
    assert 'resumed from' in log and 'at step 6' in log
    assert res['losses'] == unbroken['losses'] and res['accuracy'] == unbroken['accuracy']
    assert res['digest'] == unbroken['digest']              # the same weights, bit for bit
    assert res['mean'] == unbroken['mean']
    assert (out / 'model.safetensors').exists() and (out / 'reward_config.json').exists()


def test_resume_refuses_other_settings_or_data(tmp_path):
    tok, data = byte_tokenizer(), task_pairs(TASKS, n=4, seed=0)
    cfg = RewardConfig.tiny(max_steps=2, mixed_precision='no')
    train_reward(tiny_causal_lm(tok), tok, data, cfg, out=tmp_path)
    with pytest.raises(ValueError, match='other settings'):
        train_reward(tiny_causal_lm(tok), tok, data, RewardConfig.tiny(max_steps=4, bs=2, mixed_precision='no'), out=tmp_path)
    with pytest.raises(ValueError, match='other data'):
        train_reward(tiny_causal_lm(tok), tok, task_pairs(TASKS, n=4, seed=1), RewardConfig.tiny(max_steps=4, mixed_precision='no'),
                     out=tmp_path)


GOOD = dict(prompt='Q: 2 + 3?\nA:', chosen=' 5', rejected=' 6')

@pytest.mark.parametrize('rec, msg', [
    (dict(prompt='Q', rejected='b'), "record 1: no 'chosen' field"),
    (dict(prompt='Q', chosen='a'), "record 1: no 'rejected' field"),
    (dict(prompt='Q', chosen='', rejected='b'), "record 1: field 'chosen' is empty"),
    (dict(prompt='', chosen='a', rejected='b'), "record 1: field 'prompt' is empty"),
    (dict(prompt='Q', chosen='a', rejected='a'), "record 1: 'chosen' and 'rejected' are identical"),
    (dict(GOOD, margin='1'), "record 1: field 'margin' must be a finite number, got str '1'"),
    (dict(GOOD, margin=float('inf')), "record 1: field 'margin' must be a finite number"),
    (dict(GOOD, chosen=5), "record 1: field 'chosen' must be a string or a list of messages"),
    (dict(chosen=[{'role': 'user', 'content': 'hi'}], rejected='b'), "record 1: 'chosen' must end with a non-empty assistant"),
    (dict(chosen=[{'role': 'robot', 'content': 'hi'}], rejected='b'), "record 1: chosen[0] has role 'robot'"),
    (dict(GOOD, chosen='x' * 400), "record 1: 'chosen' has 401 tokens"),
    ('not a record', 'record 1: expected a dict, got str'),
])
def test_bad_records_are_named(rec, msg):
    tok = byte_tokenizer()
    with pytest.raises(ValueError, match=msg.replace('[', r'\[').replace(']', r'\]').replace('+', r'\+')):
        train_reward(tiny_causal_lm(tok), tok, [GOOD, rec], RewardConfig.tiny())


def test_bad_data_containers():
    tok = byte_tokenizer()
    with pytest.raises(ValueError, match='data is empty'): train_reward(tiny_causal_lm(tok), tok, [], RewardConfig.tiny())
    with pytest.raises(ValueError, match='not one dict'): train_reward(tiny_causal_lm(tok), tok, GOOD, RewardConfig.tiny())
    with pytest.raises(ValueError, match="record 1: no 'margin' while record 0 has one"):
        prepare_pairs([dict(GOOD, margin=1), GOOD], tok)


def test_end_to_end_train_save_load_score(tmp_path):
    "Trained on three tasks, the model orders most held-out pairs right; saved and loaded, it scores the same."
    torch.manual_seed(0)
    tok = byte_tokenizer()
    cfg = RewardConfig.tiny(max_steps=60, bs=8, log_every=20, lr=2e-3, mixed_precision='no')
    model, hist = train_reward(tiny_causal_lm(tok), tok, task_pairs(TASKS, n=40, seed=0), cfg, out=tmp_path)
    assert [h['step'] for h in hist] == [20, 40, 60] and hist[-1]['loss'] < hist[0]['loss']
    res = evaluate_pairs(model, tok, task_pairs(TASKS, n=10, seed=1))
    acc = pair_accuracy(res)
    assert acc.iloc[-1].accuracy > 0.7, acc
    loaded = load_model(tmp_path, dtype=torch.float32, device='cpu')
    assert type(loaded).__name__ == 'LlamaForSequenceClassification'
    assert loaded.config.reward_mean == model.config.reward_mean and loaded.config.reward_std > 0
    p, c = ['Q: Capital of Spain?\nA:'] * 2, [' Madrid', ' Paris']
    np.testing.assert_allclose(score_texts(loaded, tok, p, c), score_texts(model, tok, p, c), atol=1e-6)
    saved = json.loads((tmp_path / 'reward_config.json').read_text())
    assert saved['max_steps'] == 60


def test_lora_trains_adapters_and_head_and_saves_merged(tmp_path):
    tok = byte_tokenizer()
    base = tiny_causal_lm(tok)
    before = {n: p.clone() for n, p in base.model.named_parameters()}
    cfg = RewardConfig.tiny(max_steps=10, lora_r=4, lr=3e-3, mixed_precision='no')
    model, hist = train_reward(base, tok, task_pairs(TASKS, n=8, seed=0), cfg, out=tmp_path)
    assert hist[-1]['loss'] < hist[0]['loss']
    assert not hasattr(model, 'peft_config') and (tmp_path / 'model.safetensors').exists()
    changed = [n for n, p in model.model.named_parameters() if not torch.equal(p, before[n])]
    assert changed and all('proj' in n for n in changed)    # LoRA merged into the linear layers, embeddings untouched


def test_loss_matches_trl_reward_trainer(tmp_path):
    import trl
    from datasets import Dataset
    tok = byte_tokenizer()
    rm = reward_model(tiny_causal_lm(tok))
    recs = [dict(r, margin=0.25 * (i % 4)) for i, r in enumerate(task_pairs(TASKS, n=4, seed=0))]
    pairs = prepare_pairs(recs, tok)
    ds = Dataset.from_list([dict(chosen_ids=p['chosen_ids'], rejected_ids=p['rejected_ids'], margin=p['margin'])
                            for p in pairs])
    args = trl.RewardConfig(output_dir=str(tmp_path), center_rewards_coefficient=0.01, report_to=[], use_cpu=True)
    trainer = trl.RewardTrainer(model=rm, args=args, train_dataset=ds, processing_class=tok)
    batch = trainer.data_collator([ds[i] for i in range(len(ds))])
    ours = collate_pairs(pairs, tok.pad_token_id)
    assert all(torch.equal(batch[k], ours[k]) for k in ('input_ids', 'attention_mask', 'margin'))
    rc, rr = rewards(rm, ours).chunk(2)
    torch.testing.assert_close(pairwise_loss(rc, rr, ours['margin'], 0.01), trainer.compute_loss(rm, dict(batch)))
