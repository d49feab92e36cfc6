"Tests of instruct_nb.sft that notebooks test badly: a run killed with SIGKILL (mid-step and mid-save) resumes exactly, bad input, LoRA save and load, the T5 path end to end."
import json, os, subprocess, sys, textwrap
os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
from pathlib import Path

import pytest
import torch

from instruct_nb.core import byte_tokenizer, load_model, tiny_causal_lm, tiny_t5, latest_checkpoint
from instruct_nb.flan import make_mixture
from instruct_nb.sft import SFTConfig, as_messages, as_prompt_completion, sft
import killrun

# One training run as a script: a tiny decoder on a mixture, PTX from an endless generator, checkpoints every 3 steps.
# `killrun.arm` kills it where the test's KILL says.
RUN = textwrap.dedent('''
    import sys, json, hashlib
    import numpy as np, torch
    torch.set_num_threads(1)
    import instruct_nb.sft as S
    from instruct_nb.core import byte_tokenizer, tiny_causal_lm
    from instruct_nb.flan import make_mixture
    from killrun import arm; arm(S._Run)
    def ptx(tok):                                            # an endless generator with its own RNG
        rng = np.random.default_rng(0)
        while True:
            x = torch.from_numpy(rng.integers(0, 256, (2, 32)))
            yield dict(input_ids=x, labels=x)
    tok = byte_tokenizer()
    cfg = S.SFTConfig.tiny(max_len=384, max_steps=12, ckpt_every=3, log_every=1, ptx=0.5, mixed_precision='no', grad_accum=2, bs=2)
    model, hist = S.sft(tiny_causal_lm(tok), tok, make_mixture(n=48, seed=0, variants={'zero_shot': 1.0}), cfg, out=sys.argv[1], ptx_data=ptx(tok))
    digest = hashlib.sha256(b''.join(p.detach().numpy().tobytes() for p in model.parameters())).hexdigest()
    print('RESULT ' + json.dumps(dict(losses=[h['loss'] for h in hist if 'loss' in h], digest=digest)))
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
    assert res['losses'] == unbroken['losses']              # the whole history, step for step
    assert res['digest'] == unbroken['digest']              # and the same weights, bit for bit
    assert (out / 'model.safetensors').exists() and (out / 'trainer_state.json').exists()


def test_resume_refuses_other_settings_or_data(tmp_path):
    tok = byte_tokenizer()
    mix = make_mixture(n=16, seed=0)
    cfg = SFTConfig.tiny(max_len=1024, max_steps=2, mixed_precision='no')
    sft(tiny_causal_lm(tok), tok, mix, cfg, out=tmp_path)
    with pytest.raises(ValueError, match='other settings'):
        sft(tiny_causal_lm(tok), tok, mix, SFTConfig.tiny(max_len=1024, max_steps=4, bs=2, mixed_precision='no'), out=tmp_path)
    with pytest.raises(ValueError, match='other data'):
        sft(tiny_causal_lm(tok), tok, make_mixture(n=16, seed=1), SFTConfig.tiny(max_len=1024, max_steps=4, mixed_precision='no'), out=tmp_path)


def test_nan_loss_stops_and_keeps_the_checkpoint(tmp_path):
    tok = byte_tokenizer()
    cfg = SFTConfig.tiny(max_len=1024, max_steps=30, lr=1e12, warmup=0, clip=0, ckpt_every=1, mixed_precision='no')
    with pytest.raises(FloatingPointError, match='the last complete checkpoint is kept'):
        sft(tiny_causal_lm(tok), tok, make_mixture(n=16, seed=0), cfg, out=tmp_path)
    last = latest_checkpoint(tmp_path / 'checkpoints')
    assert last is not None
    state = json.loads((last / 'trainer_state.json').read_text())
    assert all(torch.isfinite(torch.tensor(h['loss'])) for h in state['history'])


@pytest.mark.parametrize('rec, msg', [
    ({'question': 'a', 'answer': 'b'}, "record 1: expected a 'messages' column"),
    ({'prompt': 'a', 'completion': ''}, "record 1: field 'completion' is empty"),
    ({'input': 'a', 'output': 3}, "record 1: field 'output' must be a string"),
    ({'messages': [{'role': 'user', 'content': 'a'}]}, 'record 1: no assistant message'),
    ({'messages': [{'role': 'robot', 'content': 'a'}]}, "record 1: messages[0] has role 'robot'"),
    ({'prompt': 'a', 'completion': 'x' * 2000}, 'record 1: the completion has'),
])
def test_bad_records_are_named(rec, msg):
    tok = byte_tokenizer()
    good = {'prompt': 'hi', 'completion': 'yo'} if 'prompt' in rec else {'input': 'hi', 'output': 'yo'}  # one shape
    with pytest.raises(ValueError, match=msg.replace('[', r'\[').replace(']', r'\]')):
        sft(tiny_causal_lm(tok), tok, [good, rec], SFTConfig.tiny(max_len=512))


def test_bad_data_containers():
    tok = byte_tokenizer()
    with pytest.raises(ValueError, match='data is empty'): sft(tiny_causal_lm(tok), tok, [], SFTConfig.tiny())
    with pytest.raises(ValueError, match='not one dict'): sft(tiny_causal_lm(tok), tok, {'input': 'a', 'output': 'b'}, SFTConfig.tiny())


def test_t5_target_too_long_is_an_error():
    tok = byte_tokenizer(n_sentinels=100)
    with pytest.raises(ValueError, match='record 0: the target has'):
        sft(tiny_t5(tok), tok, [{'prompt': 'a', 'completion': 'y' * 300}], SFTConfig.tiny(max_target_len=128))


def test_t5_learns_and_saves(tmp_path):
    tok = byte_tokenizer(n_sentinels=100)
    data = as_prompt_completion(make_mixture(n=64, seed=0))
    model, hist = sft(tiny_t5(tok), tok, data, SFTConfig.tiny(optimizer='adamw_scale', lr=1e-2, packing=False, max_len=512,
                                                              max_target_len=512, max_steps=20, mixed_precision='no'), out=tmp_path)
    assert hist[-1]['loss'] < hist[0]['loss']
    again = load_model(tmp_path, device='cpu')
    x = tok(['Reverse the word: cat'], return_tensors='pt')
    y = torch.tensor([[tok.pad_token_id, 99, 100]])
    assert torch.allclose(model(**x, decoder_input_ids=y).logits, again(**x, decoder_input_ids=y).logits, atol=1e-5)


def test_lora_trains_saves_and_loads(tmp_path):
    tok = byte_tokenizer()
    tiny_causal_lm(tok).save_pretrained(tmp_path / 'base')     # a base on disk: the adapter records its path
    base = load_model(tmp_path / 'base', device='cpu')
    cfg = SFTConfig.tiny(max_len=1024, lora_r=4, lora_alpha=8, max_steps=10, lr=1e-2, mixed_precision='no')
    model, hist = sft(base, tok, as_messages(make_mixture(n=32, seed=0)), cfg, out=tmp_path / 'adapter')
    assert hist[-1]['loss'] < hist[0]['loss']
    assert (tmp_path / 'adapter' / 'adapter_config.json').exists() and not (tmp_path / 'adapter' / 'config.json').exists()
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trained and all('lora_' in n for n in trained)
    merged = load_model(tmp_path / 'adapter', device='cpu')
    x = tok(['<s>hello'], return_tensors='pt', add_special_tokens=False)
    assert torch.allclose(merged(**x).logits, model(**x).logits, atol=1e-4)
    fresh = load_model(tmp_path / 'base', device='cpu')
    assert not torch.allclose(merged(**x).logits, fresh(**x).logits, atol=1e-4)   # the update is in the merged weights


def test_two_processes_equal_gradient_accumulation(tmp_path):
    "Two processes (torchrun, gloo on the CPU) each take their own micro-batches; one step equals one process accumulating both."
    script = textwrap.dedent('''
        import os, sys, json, torch
        torch.set_num_threads(1)
        from instruct_nb.core import byte_tokenizer, tiny_causal_lm
        from instruct_nb.flan import make_mixture
        from instruct_nb.sft import SFTConfig, sft
        tok, accum = byte_tokenizer(), int(sys.argv[2])
        cfg = SFTConfig.tiny(max_len=384, max_steps=4, log_every=1, mixed_precision='no', grad_accum=accum)
        model, hist = sft(tiny_causal_lm(tok), tok, make_mixture(n=64, seed=0, variants={'zero_shot': 1.0}), cfg, out=sys.argv[1])
        w = torch.cat([p.detach().flatten() for p in model.parameters()])
        res = dict(losses=[h['loss'] for h in hist], tokens=[h['num_tokens'] for h in hist], w=w[:2000].tolist())
        rank = os.environ.get('RANK', '0')                       # one file per process: their printed lines can interleave
        open(f'{sys.argv[1]}-result-{rank}.json', 'w').write(json.dumps(res))
    ''')
    (tmp_path / 'run.py').write_text(script)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]), OMP_NUM_THREADS='1')
    torchrun = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', '29517']
    p = subprocess.run(torchrun + [str(tmp_path / 'run.py'), str(tmp_path / 'two'), '1'], env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    two = [json.loads((tmp_path / f'two-result-{r}.json').read_text()) for r in (0, 1)]
    assert two[0] == two[1]                                      # both ranks hold the same model and the same metrics
    q = subprocess.run([sys.executable, str(tmp_path / 'run.py'), str(tmp_path / 'one'), '2'], env=env, capture_output=True, text=True, timeout=600)
    assert q.returncode == 0, q.stderr[-3000:]
    one = json.loads((tmp_path / 'one-result-0.json').read_text())
    assert one['tokens'] == two[0]['tokens']                     # the same micro-batches, split between the processes
    assert max(abs(a - b) for a, b in zip(one['losses'], two[0]['losses'])) < 1e-4
    assert max(abs(a - b) for a, b in zip(one['w'], two[0]['w'])) < 1e-4
    assert sorted(x.name for x in (tmp_path / 'two' / 'checkpoints').iterdir()) == ['checkpoint-4']   # the main process wrote it


def test_model_by_path(tmp_path):
    "A local path (or a Hub name) in place of a model: the model and its tokenizer are loaded from it."
    tok = byte_tokenizer()
    tiny_causal_lm(tok).save_pretrained(tmp_path / 'base'); tok.save_pretrained(tmp_path / 'base')
    cfg = SFTConfig.tiny(max_len=384, max_steps=3, mixed_precision='no')
    model, hist = sft(str(tmp_path / 'base'), None, make_mixture(n=8, seed=0, variants={'zero_shot': 1.0}), cfg)
    assert len(hist) == 1 and model.config.model_type == 'llama'
    with pytest.raises(ValueError, match='tok is None'): sft(tiny_causal_lm(tok), None, [{'input': 'a', 'output': 'b'}], cfg)
