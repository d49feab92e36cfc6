"""Core: tokenizer round trip on any Unicode, no network, load/save round trip, bad input, killed runs resuming."""
import json, signal, socket, subprocess, sys
import pytest, torch
from hypothesis import given, settings, strategies as st
from instruct_nb.core import (byte_tokenizer, tiny_causal_lm, tiny_t5, tiny_reward_model, save, load_model,
                              load_tokenizer, train_loop, latest_checkpoint, CHAT_TOKENS)

TOK = byte_tokenizer(n_sentinels=10)

@settings(max_examples=300, deadline=None)
@given(st.text())
def test_byte_tokenizer_round_trips_any_text(s):
    if any(t in s for t in TOK.all_special_tokens): return  # control tokens are single ids (next test)
    ids = TOK(s, add_special_tokens=False)['input_ids']
    assert ids == list(s.encode('utf-8'))
    assert TOK.decode(ids) == s

@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(CHAT_TOKENS + ['a', 'é', '{x}', '\n', '<|', '|>']), max_size=20))
def test_control_tokens_are_single_and_round_trip(parts):
    s = ''.join(parts)
    ids = TOK(s, add_special_tokens=False)['input_ids']
    assert TOK.decode(ids) == s
    n_ctrl = sum(1 for i in ids if i in TOK.convert_tokens_to_ids(CHAT_TOKENS))
    assert n_ctrl == sum(s.count(t) for t in CHAT_TOKENS)

@pytest.fixture
def no_network(monkeypatch):
    def guard(*a, **k): raise AssertionError('a test touched the network')
    monkeypatch.setattr(socket.socket, 'connect', guard)
    monkeypatch.setattr(socket, 'create_connection', guard)

@pytest.mark.parametrize('factory', [tiny_t5, tiny_causal_lm, tiny_reward_model])
def test_save_load_round_trip_offline(factory, tmp_path, no_network):
    m = factory(TOK).eval()
    p = save(m, TOK, tmp_path / 'm')
    assert (p / 'model.safetensors').exists()
    m2, tok2 = load_model(p, device='cpu').eval(), load_tokenizer(p)
    x = TOK(['abc {0} ✓'], return_tensors='pt')
    kw = dict(x, decoder_input_ids=x['input_ids'][:, :2]) if m.config.is_encoder_decoder else dict(x)
    with torch.no_grad(): assert torch.equal(m(**kw).logits, m2(**kw).logits)
    assert tok2.convert_tokens_to_ids('<|im_start|>') == TOK.convert_tokens_to_ids('<|im_start|>')

def test_unknown_hub_name_fails_fast_offline(no_network):
    with pytest.raises(Exception):
        load_model('no-such-org/no-such-model-xyz', device='cpu')

def test_pickle_weights_are_refused(tmp_path):
    m = tiny_causal_lm(TOK)
    m.save_pretrained(tmp_path, safe_serialization=True)
    (tmp_path / 'model.safetensors').rename(tmp_path / 'other.bin')
    torch.save(m.state_dict(), tmp_path / 'pytorch_model.bin')
    with pytest.raises(Exception):
        load_model(tmp_path, device='cpu')

def test_train_loop_on_t5_forward_backward():
    t5 = tiny_t5(TOK)
    x = TOK(['copy: abc'], return_tensors='pt')
    x['labels'] = TOK(['abc'], return_tensors='pt')['input_ids']
    losses = train_loop(t5, [x], steps=5, lr=1e-3, device='cpu')
    assert len(losses) == 5 and all(l == l for l in losses)


class _Stop(Exception): pass

def _t5_run(ckpt, stop_at=None):
    "8 AdamWScale steps on a tiny T5, checkpointing every 2; optionally crash after step `stop_at`."
    from instruct_nb.core import make_optimizer, seed_everything
    seed_everything(0)
    t5 = tiny_t5(TOK)
    x = TOK(['copy: abc'], return_tensors='pt'); x['labels'] = TOK(['abc'], return_tensors='pt')['input_ids']
    def cb(step, loss, m):
        if step == stop_at: raise _Stop
    losses = train_loop(t5, [x], steps=8, lr=2e-2, device='cpu', optimizer=make_optimizer(t5, 'adamw_scale', 2e-2),
                        ckpt_dir=ckpt, ckpt_every=2, callback=cb)
    return t5, losses

def test_adamw_scale_resumes_exactly(tmp_path):
    "A T5 run with `AdamWScale` that crashes and resumes from its checkpoint ends with the weights of an unbroken run."
    full, losses = _t5_run(tmp_path / 'a')
    with pytest.raises(_Stop): _t5_run(tmp_path / 'b', stop_at=4)   # dies in the 5th step; the checkpoint after 4 survives
    resumed, losses_b = _t5_run(tmp_path / 'b')
    assert losses_b == losses and losses[-1] < losses[0]
    for p, q in zip(full.parameters(), resumed.parameters()): assert torch.equal(p, q)


# --- Killed runs resume exactly -------------------------------------------------------------------------------------
# Each start is a fresh process that trains a tiny decoder (with dropout, so the RNG state matters) for 10 steps with
# checkpoints after steps 3, 6, 9 and 10. It can SIGKILL itself in a training step, or inside `save_checkpoint` once
# the files are written, just before the rename. A finished run prints its per-step losses and a digest of its weights.
WORKER = r"""
import hashlib, json, os, signal, sys
import torch
torch.set_num_threads(1)
from torch.utils.data import DataLoader, default_collate
from instruct_nb.core import ModelConfig, byte_tokenizer, seed_everything, tiny_causal_lm, train_loop

kinds, ckpt, kill = sys.argv[1].split(','), sys.argv[2], sys.argv[3]
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
if kill.startswith('save-'):  # die when the finished checkpoint-N is about to be renamed into place
    rename = os.rename
    os.rename = lambda src, dst: die() if os.path.basename(dst) == 'checkpoint-' + kill[5:] else rename(src, dst)

def batches(kind, tok):
    enc = tok([f'{i} little pigs went to market {i * 37}.' for i in range(12)], padding=True, return_tensors='pt')
    rows = [dict(input_ids=x, attention_mask=a, labels=x.masked_fill(a == 0, -100))
            for x, a in zip(enc['input_ids'], enc['attention_mask'])]
    if kind == 'list': return [default_collate(rows[i:i + 3]) for i in range(0, 12, 3)]
    if kind == 'loader': return DataLoader(rows, batch_size=3, shuffle=True)  # 4 batches an epoch: 2.5 epochs
    def endless():  # rows drawn with torch's global RNG: skipping on resume must not disturb the restored RNG
        while True: yield default_collate([rows[i] for i in torch.randint(0, 12, (3,)).tolist()])
    return endless()

def cb(step, loss, model):
    if kill == f'step-{step + 1}': die()  # after the optimiser step, before that step's checkpoint

for kind in kinds:
    seed_everything(0)
    tok = byte_tokenizer()
    model = tiny_causal_lm(tok, ModelConfig(d_model=32, n_layers=1, n_heads=2, d_ff=64, max_len=64, dropout=0.1))
    losses = train_loop(model, batches(kind, tok), 10, lr=1e-2, warmup=2, device='cpu', callback=cb,
                        ckpt_dir=None if ckpt == '-' else ckpt, ckpt_every=3)
    digest = hashlib.sha256(b''.join(p.detach().numpy().tobytes() for p in model.parameters())).hexdigest()
    print(json.dumps(dict(kind=kind, losses=losses, digest=digest)), flush=True)
"""

def _start(tmp, kinds: str, ckpt='-', kill='-'):
    (tmp / 'worker.py').write_text(WORKER)
    return subprocess.run([sys.executable, '-u', str(tmp / 'worker.py'), kinds, str(ckpt), kill],  # -u: unbuffered
                          capture_output=True, text=True, timeout=300)

# kind: the kills before the start that finishes; each leaves the newest checkpoint at or before the step it names
CHAINS = {'list': ['step-5', 'save-6'],  # resumes at 3 twice: a list restarts at index 3 % 4
          'loader': ['save-9'],          # resumes at 6: one shuffled epoch and 2 batches of the next are replayed
          'generator': ['step-5']}       # resumes at 3: 3 batches drawn from torch's RNG are replayed

@pytest.fixture(scope='module')
def unbroken(tmp_path_factory):
    "Per-step losses and final weights of unbroken runs (one process for all kinds: each run seeds itself)."
    r = _start(tmp_path_factory.mktemp('unbroken'), ','.join(CHAINS))
    assert r.returncode == 0, r.stderr
    return {d['kind']: d for d in map(json.loads, r.stdout.splitlines())}

@pytest.mark.skipif(not hasattr(signal, 'SIGKILL'), reason='needs POSIX signals')
@pytest.mark.parametrize('kind', list(CHAINS))
def test_killed_run_resumes_bit_for_bit(kind, tmp_path, unbroken):
    "SIGKILLed in a training step or in the middle of a save, then started again: the same losses and weights, exactly."
    ckpt, resumed_at = tmp_path / 'run', None
    for kill in CHAINS[kind]:
        r = _start(tmp_path, kind, ckpt, kill)
        assert r.returncode == -signal.SIGKILL, r.stderr
        if resumed_at: assert f'at step {resumed_at}' in r.stdout
        n = int(kill.split('-')[1])
        resumed_at = 3 * ((n - 1) // 3)  # the previous checkpoint still stands...
        assert latest_checkpoint(ckpt).name == f'checkpoint-{resumed_at}'
        if kill.startswith('save'):      # ...beside the new one, complete but hidden
            assert (next(ckpt.glob(f'.tmp-checkpoint-{n}-*')) / 'trainer_state.json').exists()
    r = _start(tmp_path, kind, ckpt)
    assert r.returncode == 0, r.stderr
    assert f'at step {resumed_at}' in r.stdout
    out = json.loads(r.stdout.splitlines()[-1])
    assert out['losses'] == unbroken[kind]['losses']  # exact float equality, all 10 steps
    assert out['digest'] == unbroken[kind]['digest']
    assert sorted(p.name for p in ckpt.iterdir()) == ['checkpoint-10', 'checkpoint-9']  # keep=2, the debris cleared
