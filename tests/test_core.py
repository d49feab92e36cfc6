"""Core: tokenizer round trip on arbitrary Unicode, no network, load/save round trip, bad input."""
import socket
import pytest, torch
from hypothesis import given, settings, strategies as st
from instruct_nb.core import (byte_tokenizer, tiny_causal_lm, tiny_t5, tiny_reward_model, save, load_model,
                              load_tokenizer, train_loop, CHAT_TOKENS)

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
