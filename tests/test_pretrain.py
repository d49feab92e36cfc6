"""Tests of instruct_nb.pretrain, instruct_nb.corpus and instruct_nb.probes: span corruption against closed forms, the
tokenizer, the CLI, the shipped models and what they answer."""
import json, math, os
os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
from pathlib import Path

import numpy as np
import pytest
import torch

from instruct_nb.corpus import corpus, train_bpe
from instruct_nb.pretrain import (BASE_DIR, PretrainConfig, load_base, main, noise_mask, span_corrupt, t5_batches,
                                  token_stream)
from instruct_nb.probes import answer


@pytest.fixture(scope='module')
def tok():
    return train_bpe(corpus(100_000, seed=3), vocab_size=400, n_sentinels=100)


@pytest.mark.parametrize('length', [2, 3, 10, 57, 128, 513])
def test_noise_mask_counts(length):
    rng = np.random.default_rng(length)
    n_noise = min(max(round(length * 0.15), 1), length - 1)
    k = min(max(round(n_noise / 3), 1), n_noise, length - n_noise)
    for _ in range(20):
        m = noise_mask(length, rng)
        assert m.shape == (length,) and m.sum() == n_noise and not m[0]
        starts = m & ~np.concatenate([[False], m[:-1]])
        assert starts.sum() == k


def test_noise_mask_span_lengths_match_closed_form():
    "Noise-span lengths follow the uniform-composition law P(j) = C(n-j-1, k-2) / C(n-1, k-1)."
    rng, n, k = np.random.default_rng(0), 30, 10
    lens = []
    for _ in range(4000):
        m = noise_mask(200, rng)
        d = np.diff(np.concatenate([[0], m.astype(int), [0]]))
        lens += list(np.flatnonzero(d == -1) - np.flatnonzero(d == 1))
    lens = np.array(lens)
    assert abs(lens.mean() - 3.0) < 1e-9                            # n/k exactly, since every draw has n=30, k=10
    for j in range(1, 6):
        p = math.comb(n - j - 1, k - 2) / math.comb(n - 1, k - 1)
        assert abs((lens == j).mean() - p) < 0.01


def test_span_corrupt_roundtrip():
    "Putting the target spans back in place of the sentinels restores the original sequence."
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 50, 100)
    sids = list(range(1000, 1100))
    m = noise_mask(100, rng)
    inp, tgt = span_corrupt(ids, m, sids, 999)
    assert inp[-1] == tgt[-1] == 999
    spans, cur = {}, None
    for t in tgt[:-1]:
        if t >= 1000: cur = t; spans[cur] = []
        else: spans[cur].append(t)
    rebuilt = [x for t in inp[:-1] for x in (spans.get(t, []) if t >= 1000 else [t])]
    assert rebuilt == list(ids)


def test_span_corrupt_needs_enough_sentinels():
    m = np.array([False, True, False, True, False, True])
    with pytest.raises(ValueError, match='3 noise spans need 4 sentinels'):
        span_corrupt(np.arange(6), m, [100, 101], 9)


def test_tokenizer(tok):
    s = 'Q: {x}? 世界 🙂 123'
    assert tok.decode(tok(s)['input_ids']) == s
    assert [tok.convert_tokens_to_ids(t) for t in ('<pad>', '<s>', '</s>')] == [0, 1, 2]
    assert len(tok('<extra_id_99><|im_end|>')['input_ids']) == 2


def test_t5_batches_shapes(tok):
    stream = token_stream(tok, corpus(20_000, seed=4))
    b = next(t5_batches(stream, tok, 64, 4))
    assert b['input_ids'].shape == (4, 64 - 10 + 3 + 1) and b['labels'].shape == (4, 10 + 3 + 1)


def test_config_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind='bert'"):
        PretrainConfig('bert')


def test_cli_tiny_reproducible(tmp_path):
    "The same seed gives the same weights."
    outs = []
    for d in ('a', 'b'):
        main(['--tiny', '--steps', '3', '--out', str(tmp_path / d), '--log-every', '0'])
        outs.append(json.loads((tmp_path / d / 'meta.json').read_text()))
        m, _ = load_base(path=tmp_path / d)
        outs[-1]['w'] = next(m.parameters()).detach().clone()
    assert outs[0]['final_loss'] == outs[1]['final_loss']
    assert torch.equal(outs[0]['w'], outs[1]['w'])


def test_cli_resumes_after_a_crash(tmp_path, monkeypatch, capsys):
    "A run that dies in step 5 and is started again with the same command ends as an unbroken run: weights and meta."
    import instruct_nb.core as core
    args = ['--tiny', '--steps', '6', '--ckpt-every', '2', '--log-every', '0', '--out']
    main(args + [str(tmp_path / 'unbroken')])
    class Died(Exception): pass
    lr_at = core.lr_at
    def crash_in_step_5(step, *a, **kw):  # `train_loop` asks for the learning rate first thing in each step
        if step == 4: raise Died('the machine went away')
        return lr_at(step, *a, **kw)
    monkeypatch.setattr(core, 'lr_at', crash_in_step_5)
    with pytest.raises(Died): main(args + [str(tmp_path / 'b')])
    monkeypatch.undo()
    saved = sorted(p.name for p in (tmp_path / 'b' / 'checkpoints').glob('checkpoint-*'))
    assert saved == ['checkpoint-2', 'checkpoint-4']
    capsys.readouterr()
    main(args + [str(tmp_path / 'b')])
    assert 'checkpoint-4 at step 4' in capsys.readouterr().out
    metas = [json.loads((tmp_path / d / 'meta.json').read_text()) for d in ('unbroken', 'b')]
    assert metas[0]['loss_curve'] == metas[1]['loss_curve'] and len(metas[1]['loss_curve']) == 6
    assert metas[0]['final_loss'] == metas[1]['final_loss']
    from safetensors.torch import load_file
    fp32 = [load_file(tmp_path / d / 'checkpoints' / 'checkpoint-6' / 'model.safetensors') for d in ('unbroken', 'b')]
    assert fp32[0].keys() == fp32[1].keys() and all(torch.equal(fp32[0][k], fp32[1][k]) for k in fp32[0])
    models = [load_base(path=tmp_path / d)[0] for d in ('unbroken', 'b')]  # and the saved bf16 base models
    for p, q in zip(models[0].parameters(), models[1].parameters()): assert torch.equal(p, q)
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:  # another run into the same folder: refused before it trains
        main(['--tiny', '--steps', '8', '--ckpt-every', '2', '--log-every', '0', '--out', str(tmp_path / 'b')])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "argument --out:" in err and "'steps': (6, 8)" in err and 'Traceback' not in err


def _refused(argv, capsys):
    "The error line of `main(argv)`, which must exit with status 2 before building anything."
    import instruct_nb.pretrain as pt
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pt, 'build', lambda *a, **kw: pytest.fail(f'{argv} started a run'))
        mp.setattr(pt, '_fit_steps', lambda *a, **kw: pytest.fail(f'{argv} started a timing probe'))
        with pytest.raises(SystemExit) as e: main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and 'Traceback' not in err and err.startswith('usage: instruct-nb pretrain'), err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize('argv, msg', [
    (['--steps', '-5'], "argument --steps: expected a whole number >= 1, got '-5'"),
    (['--steps', '0'], "argument --steps: expected a whole number >= 1, got '0'"),
    (['--steps', '2.5'], "argument --steps: expected a whole number >= 1, got '2.5'"),
    (['--minutes', '0'], "argument --minutes: expected a number > 0, got '0'"),
    (['--minutes', '-1'], "argument --minutes: expected a number > 0, got '-1'"),
    (['--minutes', 'inf'], "argument --minutes: expected a number > 0, got 'inf'"),
    (['--corpus-mb', '0'], "argument --corpus-mb: expected a number >= 1e-06, got '0'"),
    (['--corpus-mb', 'nan'], "argument --corpus-mb: expected a number >= 1e-06, got 'nan'"),
    (['--threads', '0'], "argument --threads: expected a whole number >= 1, got '0'"),
    (['--seed', '-1'], "argument --seed: expected a whole number >= 0 and <= 4294967295, got '-1'"),
    (['--seed', str(2**32)], "argument --seed: expected a whole number >= 0 and <= 4294967295"),
    (['--log-every', '-1'], "argument --log-every: expected a whole number >= 0, got '-1'"),
    (['--ckpt-every', '-2'], "argument --ckpt-every: expected a whole number >= 0, got '-2'"),
    (['--steps', '3', '--minutes', '1'], 'argument --minutes: not allowed with argument --steps'),
    (['--device', 'gpu'], "argument --device: 'gpu' is not a device name"),
    (['--kind', 'gpt'], "argument --kind: invalid choice: 'gpt'"),
])
def test_cli_bad_numbers_are_refused_up_front(argv, msg, capsys, tmp_path):
    assert msg in _refused(['--tiny', '--out', str(tmp_path / 'out'), *argv], capsys)
    assert not (tmp_path / 'out').exists()


def test_cli_device_not_here(capsys, tmp_path):
    if not torch.cuda.is_available():
        assert "argument --device: 'cuda': no such CUDA device here" in _refused(['--tiny', '--device', 'cuda'], capsys)
    line = _refused(['--tiny', '--device', f'cuda:{torch.cuda.device_count()}'], capsys)
    assert 'no such CUDA device here' in line


def test_cli_out_must_be_a_directory(capsys, tmp_path):
    f = tmp_path / 'model.bin'; f.write_text('x')
    assert f'argument --out: {f} exists and is not a directory' in _refused(['--tiny', '--out', str(f)], capsys)
    assert f'argument --out: {f} is a file, so {f / "sub"} cannot be a directory' in _refused(
        ['--tiny', '--out', str(f / 'sub')], capsys)


def test_cli_never_writes_nan(tmp_path, monkeypatch, capsys):
    "A diverged run: meta.json and the printed line are valid JSON with null for the loss, and the exit status is 1."
    import instruct_nb.pretrain as pt
    train_loop = pt.train_loop
    def diverging(*a, **kw): return [float('nan')] * len(train_loop(*a, **kw))
    monkeypatch.setattr(pt, 'train_loop', diverging)
    assert main(['--tiny', '--steps', '2', '--log-every', '0', '--out', str(tmp_path / 'd')]) == 1
    out, err = capsys.readouterr()
    printed = json.loads(out.strip().splitlines()[-1], parse_constant=lambda c: pytest.fail(f'{c} in the output'))
    meta = json.loads((tmp_path / 'd' / 'meta.json').read_text(), parse_constant=lambda c: pytest.fail(f'{c} in meta'))
    assert printed['final_loss'] is None and meta['final_loss'] is None and meta['loss_curve'] == [[1, None], [2, None]]
    assert 'the loss is not finite' in err


@pytest.mark.parametrize('kind', ['decoder', 't5'])
def test_shipped_base(kind):
    if not (BASE_DIR / kind / 'model.safetensors').exists(): pytest.skip(f'no shipped {kind} checkpoint')
    assert (BASE_DIR / kind / 'model.safetensors').stat().st_size <= 10_000_000
    model, tok = load_base(kind)
    assert next(model.parameters()).dtype == torch.float32
    meta = json.loads((BASE_DIR / kind / 'meta.json').read_text())
    assert meta['kind'] == kind and meta['train_tokens'] > 0 and meta['n_params'] > 1_000_000
    for fmt in ('plain', 'qa'):
        out = answer(model, tok, ['The first letter of'], max_new_tokens=4, fmt=fmt)
        assert len(out) == 1 and isinstance(out[0], str)
    with pytest.raises(ValueError, match="fmt='chat'"): answer(model, tok, ['x'], fmt='chat')


@pytest.mark.parametrize('kind', ['decoder', 't5'])
def test_shipped_base_answers_are_pinned(kind):
    "`answer` and `score_tasks` on the shipped models: golden values (the probing chapter's outputs)."
    from instruct_nb.probes import fact_recall, score_tasks
    from instruct_nb.tasks import TASKS
    if not (BASE_DIR / kind / 'model.safetensors').exists(): pytest.skip(f'no shipped {kind} checkpoint')
    model, tok = load_base(kind)
    if kind == 'decoder':
        names = ('first_letter', 'city_country', 'review_sentiment')
        prompts = [TASKS[n].format(TASKS[n].examples(1)[0], 0)[0] for n in names]
        assert answer(model, tok, prompts, fmt='plain') == ['A: c', 'A: Portugal', 'A: no']
        assert answer(model, tok, prompts, fmt='qa') == ['c', 'Portugal', 'coconut']
        res = score_tasks(model, tok, ['city_country', 'animal_sound'], n=10)
        assert res == dict(city_country=0.7, animal_sound=0.6)
    else: assert score_tasks(model, tok, ['letter_count', 'rhymes'], n=10) == {'letter_count': 0.5, 'rhymes': 0.5}
    want = dict(first_letter=1.0, add=0.1) if kind == 'decoder' else dict(first_letter=0.1, add=0.05)
    assert fact_recall(model, tok, skills=['first_letter', 'add']) == want       # T5: through `generate(..., prefix=)`
    with pytest.raises(KeyError, match="no task 'no_such_task'"): score_tasks(model, tok, ['no_such_task'])


def test_load_base_errors(tmp_path):
    with pytest.raises(ValueError, match="kind='gpt'"): load_base('gpt')
    with pytest.raises(FileNotFoundError, match='no model.safetensors'): load_base(path=tmp_path)


def test_probe_batches_label_only_the_answer():
    "The SFT probe's data through the library's tokenizers: loss on the answer and `</s>` only, both layouts and T5."
    import sys
    sys.path.insert(0, str(Path(__file__).parent.parent / 'benchmarks'))
    from base_sft_probe import sft_data
    from instruct_nb.sft import example, heldout_split, tokenize_causal, tokenize_seq2seq
    tok = load_base('decoder')[1]
    for fmt, prompt in [('plain', 'Spell cat.\n'), ('qa', 'Q: Spell cat.\nA:')]:
        rec = dict(prompt=prompt, completion=('' if fmt == 'plain' else ' ') + 'c-a-t')
        e = tokenize_causal([example(rec)], tok)[0]
        ids, lab = e['input_ids'], e['labels']
        n = len(tok(tok.bos_token + prompt, add_special_tokens=False)['input_ids'])
        assert tok.decode(ids[:n]) == tok.bos_token + prompt and all(l == -100 for l in lab[:n])
        assert tok.decode([i for i, l in zip(ids, lab) if l != -100]).strip() == 'c-a-t' + tok.eos_token
    e = tokenize_seq2seq([example(dict(prompt='Q: Spell cat.\nA:', completion='c-a-t'))], tok)[0]
    assert tok.decode(e['labels']) == 'c-a-t' + tok.eos_token
    assert tok.decode(e['input_ids']) == 'Q: Spell cat.\nA:' + tok.eos_token
    train, held = heldout_split(['closed_book_qa', 'counting'])
    assert 'city_country' in held and 'longer_word' not in train and 'first_letter' in train  # longer_word shares `length`
    d = sft_data(train[:2], 3, 'qa')
    assert len(d) == 6 and all(r['prompt'].startswith('Q: ') and r['completion'].startswith(' ') for r in d)


def test_copy_score_indexing():
    "`copy_score` gives 1.0 to a perfect copier and 0.0 to a model that repeats its input token, for both kinds."
    from types import SimpleNamespace
    from instruct_nb.probes import copy_score
    tok = load_base('decoder')[1]
    V, L = len(tok), 20

    class Copier(torch.nn.Module):                      # decoder: at position t of the second copy, predict token t-L+1
        def __init__(self, shift): super().__init__(); self.shift, self.config = shift, SimpleNamespace(is_encoder_decoder=False)
        device = torch.device('cpu')
        def forward(self, input_ids, **kw):
            return SimpleNamespace(logits=torch.nn.functional.one_hot(torch.roll(input_ids, -self.shift, dims=1), V).float())

    class Filler(torch.nn.Module):                      # T5: logits at position i predict labels[i]; this oracle is always right
        config, device = SimpleNamespace(is_encoder_decoder=True), torch.device('cpu')
        def forward(self, input_ids, labels, **kw): return SimpleNamespace(logits=torch.nn.functional.one_hot(labels, V).float())

    assert copy_score(Copier(1 - L), tok, length=L) == 1.0
    assert copy_score(Copier(0), tok, length=L) == 0.0
    assert copy_score(Filler(), tok, length=L) == 1.0
    with pytest.raises(ValueError, match='need length=100000'): copy_score(Copier(0), tok, length=100_000)
