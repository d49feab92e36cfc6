"Bad input to the trainers (sft, reward, dpo, rlhf): every error names the argument, field or record and the bad value; nothing is read one character at a time or cut short in silence."
import os
os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

import pandas as pd
import pytest
import torch

from instruct_nb.core import byte_tokenizer, tiny_causal_lm
from instruct_nb.dpo import DPOConfig, dpo
from instruct_nb.reward import (RewardConfig, pair_accuracy, pairwise_loss, preference, reward_metrics, reward_model,
                                sample_answers, score_texts, train_reward)
from instruct_nb.rlhf import RLHFConfig, encode_prompts, logprobs_from_logits, rlhf
from instruct_nb.templates import get_format
from instruct_nb.sft import SFTConfig, accuracy_ci, length_grouped, pack, sft, task_records

CONFIGS = [SFTConfig, RewardConfig, DPOConfig, RLHFConfig]
NAN, INF = float('nan'), float('inf')

# field -> bad values, shared by the configs that have the field
NOT_A_NUMBER = {'lr': ['x', None, [1], True], 'seed': ['1', None, [1], 1.5, True],
                'min_lr_ratio': ['1', None, [1], True],
                'max_steps': ['10', None, 1e9, True], 'cpu_minutes': ['1', True], 'warmup': [True, 2.0],
                'lora_alpha': ['1', None, True], 'lora_targets': [5, [], ['q', 5]], 'packing': ['yes', 1],
                'label_smoothing': ['x'], 'gamma': ['x', True], 'lam': ['x', True], 'kl_target': ['x', True],
                'progress': ['no'], 'mixed_precision': ['bf32', 16], 'optimizer': ['sgd', None]}
OUT_OF_RANGE = {'lr': [NAN, INF, 0, -1], 'seed': [-1], 'min_lr_ratio': [NAN, -0.1, 1.5], 'max_steps': [0, -3],
                'lora_alpha': [NAN, INF, -1, 0], 'cpu_minutes': [0, NAN, INF], 'lora_dropout': [NAN, -0.1, 1.5],
                'label_smoothing': [NAN, -0.1, 0.5], 'gamma': [NAN, 1.5], 'lam': [-0.1, NAN],
                'kl_target': [INF, 0, NAN],
                'center_coef': [NAN, -1, INF], 'beta': [NAN, -1], 'bs': [0, -1]}


def _cases(table):
    return [(cls, k, v) for cls in CONFIGS for k, vs in table.items() if k in cls.__dataclass_fields__ for v in vs]


@pytest.mark.parametrize('cls, field, value', _cases(NOT_A_NUMBER))
def test_config_wrong_type_names_the_field(cls, field, value):
    with pytest.raises(ValueError) as e: cls(**{field: value})
    assert str(e.value).startswith(f'{cls.__name__}.{field}={value!r}: '), str(e.value)


@pytest.mark.parametrize('cls, field, value', _cases(OUT_OF_RANGE))
def test_config_out_of_range_names_the_field(cls, field, value):
    with pytest.raises(ValueError) as e: cls(**{field: value})
    assert str(e.value).startswith(f'{cls.__name__}.{field}={value!r}: '), str(e.value)


def test_config_fields_that_disagree():
    for cls in CONFIGS:
        with pytest.raises(ValueError, match=f'{cls.__name__}.warmup=600: more than max_steps=500'):
            cls(warmup=600, max_steps=500)
        cls(warmup=600, max_steps=500, cpu_minutes=1.0)                       # the schedule follows the CPU time
    # the messages the notebooks and other tests pin keep their wording
    for make, msg in [(lambda: SFTConfig(lr=NAN), 'SFTConfig.lr=nan: must be a positive number'),
                      (lambda: SFTConfig(lora_alpha=NAN), 'SFTConfig.lora_alpha=nan: must be a positive number'),
                      (lambda: RewardConfig(lr=0), 'RewardConfig.lr=0: must be positive'),
                      (lambda: RLHFConfig(temperature=0), 'RLHFConfig.temperature=0: must be > 0'),
                      (lambda: RLHFConfig(kl_target=INF), 'RLHFConfig.kl_target=inf: must be > 0 (or None)'),
                      (lambda: RLHFConfig(top_p=1.5), 'RLHFConfig.top_p=1.5: must be at most 1'),
                      (lambda: DPOConfig(label_smoothing=0.5), 'DPOConfig.label_smoothing=0.5: must be in [0, 0.5)')]:
        with pytest.raises(ValueError) as e: make()
        assert msg in str(e.value), str(e.value)
    # good settings still pass: presets, lists of module names, None where it means "not set"
    for c in [SFTConfig.tiny(), SFTConfig.t5(), SFTConfig.decoder(lora_targets=['q_proj', 'v_proj'], lora_alpha=8.0),
              RewardConfig.decoder(), DPOConfig.tiny(), DPOConfig(fmt=get_format('zephyr')),
              RLHFConfig.tiny(kl_target=1.0), RLHFConfig(mixed_precision=None)]:
        assert c is not None


@pytest.fixture(scope='module')
def tok(): return byte_tokenizer()


@pytest.fixture(scope='module')
def lm(tok): return tiny_causal_lm(tok)


@pytest.fixture(scope='module')
def rm(tok): return reward_model(tiny_causal_lm(tok))


def test_string_where_a_list_is_expected(tok, lm, rm):
    for call, msg in [(lambda: score_texts(rm, tok, 'ab', ['x', 'y']), 'prompts must be a list of strings, got the'),
                      (lambda: score_texts(rm, tok, ['a', 'b'], 'xy'), 'completions must be a list of strings'),
                      (lambda: score_texts(rm, tok, ['a', 3], ['x', 'y']), 'prompts[1] must be a string, got int'),
                      (lambda: sample_answers(lm, tok, 'q'), 'prompts must be a list of strings, got the string'),
                      (lambda: encode_prompts(tok, 'qq', 8), 'prompts must be a list of strings, got the string')]:
        with pytest.raises(TypeError) as e: call()
        assert msg in str(e.value), str(e.value)


def test_lengths_or_shapes_that_differ(tok, rm):
    with pytest.raises(ValueError, match='2 prompts but 1 completions'): score_texts(rm, tok, ['a', 'b'], ['x'])
    a, b = torch.zeros(3), torch.zeros(2)
    with pytest.raises(ValueError, match=r'r_chosen has shape \(3,\) but r_rejected \(2,\)'): pairwise_loss(a, b)
    with pytest.raises(ValueError, match=r'r_chosen has shape \(3,\) but r_rejected \(2,\)'): reward_metrics(a, b)
    with pytest.raises(TypeError, match='r_chosen must be a tensor, got list'): pairwise_loss([1.0], [0.0])
    z = torch.randn(2, 3, 11)
    for y in (torch.full((2, 3), 11), torch.full((2, 3), -1)):
        with pytest.raises(ValueError, match=r'expected ids in \[0, 11\)'): logprobs_from_logits(z, y)


def test_counts_that_are_not_positive_integers(tok, lm, rm):
    for call, msg in [(lambda: length_grouped([3, 4], 0), 'bs must be an integer >= 1, got 0'),
                      (lambda: length_grouped([3, 4], 2, group=0), 'group must be an integer >= 1, got 0'),
                      (lambda: score_texts(rm, tok, ['a'], ['x'], bs=0), 'bs must be an integer >= 1, got 0'),
                      (lambda: sample_answers(lm, tok, ['q'], k=0), 'k must be an integer >= 1, got 0'),
                      (lambda: task_records(['city_country'], n=-1), 'n must be an integer >= 1, got -1'),
                      (lambda: pack([5, -1], 8), 'lengths[1]=-1: must be an integer >= 0'),
                      (lambda: pack([5, 2.5], 8), 'lengths[1]=2.5: must be an integer >= 0'),
                      (lambda: pair_accuracy(pd.DataFrame(dict(correct=[True])), n_boot=0),
                       'n_boot must be an integer >= 1, got 0'),
                      (lambda: sft(lm, tok, [dict(input='a', output='b')], SFTConfig.tiny(), eval_every=-1),
                       'eval_every must be an integer >= 0, got -1'),
                      (lambda: dpo(lm, tok, [dict(prompt='q', chosen='a', rejected='b')], DPOConfig.tiny(),
                                   eval_every=1.5),
                       'eval_every must be an integer >= 0, got float 1.5')]:
        with pytest.raises((TypeError, ValueError)) as e: call()
        assert msg in str(e.value), str(e.value)


def test_bad_coverage_choice_or_table():
    res = pd.DataFrame(dict(task=['a'] * 4, cluster=['x'] * 4, correct=[1, 0, 1, 1], corruption=['c'] * 4))
    for call, msg in [(lambda: accuracy_ci(res, ci=1.5), 'ci=1.5: must be a coverage in (0, 1)'),
                      (lambda: accuracy_ci(res, ci=NAN), 'ci=nan: must be a coverage in (0, 1)'),
                      (lambda: accuracy_ci(res.iloc[:0]), 'res has no rows'),
                      (lambda: accuracy_ci(res[['task', 'correct']]), "res has no column 'cluster'"),
                      (lambda: pair_accuracy(res, ci=2.0), 'ci=2.0: must be a coverage in (0, 1)'),
                      (lambda: pair_accuracy(res, by='bogus'), "res has no column 'bogus'"),
                      (lambda: pair_accuracy(res.iloc[:0]), 'res has no rows'),
                      (lambda: task_records(['city_country'], split='bogus'), "split='bogus': expected 'seen'")]:
        with pytest.raises(ValueError) as e: call()
        assert msg in str(e.value), str(e.value)


def test_wrong_container_for_settings_or_data(tok, lm):
    recs, pairs = [dict(input='a', output='b')], [dict(prompt='q', chosen='a', rejected='b')]
    for call, name in [(lambda: sft(lm, tok, recs, dict(max_steps=2)), 'SFTConfig'),
                       (lambda: train_reward(lm, tok, pairs, dict(max_steps=2)), 'RewardConfig'),
                       (lambda: dpo(lm, tok, pairs, dict(max_steps=2)), 'DPOConfig'),
                       (lambda: rlhf(lm, tok, ['q'], lambda p, a: [0.0] * len(a), dict(max_steps=2)), 'RLHFConfig')]:
        msg = rf'cfg must be an instance of {name}, got dict \(from a dict: {name}\(\*\*settings\)\)'
        with pytest.raises(TypeError, match=msg): call()
    for data in (None, 5, 'input'):
        msg = f'data must be a list of records or a `datasets.Dataset`, got {type(data).__name__}'
        with pytest.raises(TypeError, match=msg): sft(lm, tok, data, SFTConfig.tiny())


def test_pair_whose_answers_answer_different_prompts(tok):
    user = lambda q: [{'role': 'user', 'content': q}]
    bot = lambda a: [{'role': 'assistant', 'content': a}]
    good = dict(chosen=user('2 + 3?') + bot('5'), rejected=user('2 + 3?') + bot('6'))
    bad = dict(chosen=user('2 + 3?') + bot('5'), rejected=user('2 + 4?') + bot('6'))
    preference(good)
    msg = "record 1: 'chosen' and 'rejected' have different user turns"
    with pytest.raises(ValueError, match=msg): preference(bad, 1)
    with pytest.raises(ValueError, match=msg): train_reward(tiny_causal_lm(tok), tok, [good, bad], RewardConfig.tiny())
    with pytest.raises(ValueError, match=msg):
        dpo(tiny_causal_lm(tok), tok, [good, bad], DPOConfig.tiny(mixed_precision='no', device='cpu'))


def test_records_of_two_shapes_in_one_dataset(tok, lm):
    chat = dict(messages=[{'role': 'user', 'content': 'a'}, {'role': 'assistant', 'content': 'b'}])
    for other, shape in [(dict(prompt='a', completion='b'), 'prompt/completion'), (dict(text='ab'), 'plain text')]:
        with pytest.raises(ValueError, match=f'record 2 is {shape} but record 0 is conversational'):
            sft(lm, tok, [chat, chat, other], SFTConfig.tiny())
    from datasets import Dataset                       # a Dataset keeps the first row's columns: the others are None
    rows = Dataset.from_list([dict(prompt='a', completion='b'), chat])
    with pytest.raises(ValueError, match=r"record 1: expected a 'messages' column, .*; found \[\]"):
        sft(lm, tok, rows, SFTConfig.tiny())
    # one shape written two ways is one shape: mixture rows and messages are both conversations
    sft(lm, tok, [chat, dict(input='a', output='b')], SFTConfig.tiny(max_steps=2))


def test_rlhf_minibatches_must_divide_the_batch():
    with pytest.raises(ValueError, match=r'RLHFConfig.minibatches=3: does not divide bs=8'): RLHFConfig(bs=8, minibatches=3)
    RLHFConfig(bs=8, minibatches=4)


def test_reward_model_name_that_does_not_load(tok, lm):
    with pytest.raises(OSError) as e: rlhf(lm, tok, ['q'], 'not a model', RLHFConfig.tiny(max_steps=1))
    assert str(e.value).startswith("reward='not a model': load_model: cannot load 'not a model': not a model folder"), \
        str(e.value)
