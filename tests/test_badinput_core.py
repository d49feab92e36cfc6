"""Core on bad input: every error names the function, the argument (or the file) and what was expected."""
from pathlib import Path
import pytest, torch
from torch import nn
from instruct_nb.core import (ModelConfig, bench_matmul, byte_tokenizer, demo, get_device, latest_checkpoint,
                              load_checkpoint, load_model, load_tokenizer, lr_at, make_optimizer, n_params, save,
                              save_checkpoint, seed_everything, set_rng_state, shared_data, tiny_causal_lm, tiny_t5,
                              train_loop)

NAN = float('nan')
BATCHES = [{'x': torch.ones(1)}]

def _model_opt():
    torch.manual_seed(0)
    m = nn.Linear(2, 2)
    return m, torch.optim.AdamW(m.parameters())

def _save(tmp_path, **kw):
    m, opt = _model_opt()
    return save_checkpoint(tmp_path, m, opt, **kw)

# integers: wrong type (float, str, bool, nan) -> TypeError; out of range -> ValueError; both name the argument
@pytest.mark.parametrize('call, match', [
    (lambda: byte_tokenizer(n_sentinels=-1), r'byte_tokenizer: n_sentinels=-1: expected an integer >= 0'),
    (lambda: byte_tokenizer(n_sentinels=NAN), r'byte_tokenizer: n_sentinels=nan: expected an integer'),
    (lambda: byte_tokenizer(model_max_length=0), r'model_max_length=0: expected an integer >= 1'),
    (lambda: bench_matmul(reps=0), r'bench_matmul: reps=0'),
    (lambda: seed_everything(NAN), r'seed_everything: seed=nan: expected an integer'),
    (lambda: seed_everything('a'), r"seed_everything: seed='a'"),
    (lambda: tiny_causal_lm(byte_tokenizer(), seed=NAN), r'tiny_causal_lm: seed=nan'),
    (lambda: lr_at(-1, 10, 1e-3), r'lr_at: step=-1: expected an integer >= 0'),
    (lambda: lr_at(5, 0, 1e-3), r'lr_at: steps=0: expected an integer >= 1'),
    (lambda: lr_at(5, 10, 1e-3, -1), r'lr_at: warmup=-1'),
    (lambda: train_loop(nn.Linear(2, 2), BATCHES, steps=0), r'train_loop: steps=0: expected an integer >= 1'),
    (lambda: train_loop(nn.Linear(2, 2), BATCHES, steps=-1), r'train_loop: steps=-1'),
    (lambda: train_loop(nn.Linear(2, 2), BATCHES, steps=NAN), r'train_loop: steps=nan'),
    (lambda: train_loop(nn.Linear(2, 2), BATCHES, steps=3, warmup=-1), r'train_loop: warmup=-1'),
    (lambda: train_loop(nn.Linear(2, 2), BATCHES, steps=3, log_every=-1), r'train_loop: log_every=-1'),
    (lambda: demo(steps=0), r'demo: steps=0: expected an integer >= 1'),
    (lambda: demo(steps=-5), r'demo: steps=-5'),
])
def test_bad_integer_arguments_are_named(call, match):
    with pytest.raises((TypeError, ValueError), match=match): call()

@pytest.mark.parametrize('kw, match', [
    (dict(step=-1), r'save_checkpoint: step=-1: expected an integer >= 0'),
    (dict(step=NAN), r'save_checkpoint: step=nan'), (dict(step='x'), r"save_checkpoint: step='x'"),
    (dict(step=1.5), r'save_checkpoint: step=1.5'), (dict(step=True), r'save_checkpoint: step=True'),
    (dict(step=2, keep=NAN), r'save_checkpoint: keep=nan'), (dict(step=2, keep=0), r'keep=0: expected an integer >= 1'),
    (dict(step=2, state='abc'), r"save_checkpoint: state='abc': expected a dict"),
    (dict(step=2, state={'x': object()}), r'save_checkpoint: state cannot be saved as JSON'),
])
def test_save_checkpoint_refuses_bad_step_keep_state(tmp_path, kw, match):
    with pytest.raises((TypeError, ValueError), match=match): _save(tmp_path, **kw)
    assert latest_checkpoint(tmp_path) is None  # nothing was written

# real numbers: nan, infinities, negatives and out-of-range values
@pytest.mark.parametrize('call, match', [
    (lambda: lr_at(5, 10, NAN), r'lr_at: lr=nan: expected a finite number >= 0'),
    (lambda: lr_at(5, 10, -1.0), r'lr_at: lr=-1.0'),
    (lambda: lr_at(5, 10, 1e-3, 0, NAN), r'lr_at: min_ratio=nan'),
    (lambda: lr_at(5, 10, 1e-3, 0, -0.5), r'lr_at: min_ratio=-0.5: expected a finite number >= 0 and <= 1'),
    (lambda: train_loop(nn.Linear(2, 2), BATCHES, steps=3, clip=NAN), r'train_loop: clip=nan'),
    (lambda: train_loop(nn.Linear(2, 2), BATCHES, steps=3, clip=-1), r'train_loop: clip=-1'),
    (lambda: train_loop(nn.Linear(2, 2), BATCHES, steps=3, lr=NAN), r'train_loop: lr=nan'),
    (lambda: train_loop(nn.Linear(2, 2), BATCHES, steps=3, lr=-1.0), r'train_loop: lr=-1.0'),
])
def test_bad_number_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match): call()

@pytest.mark.parametrize('kw, match', [
    (dict(d_model=0), r'ModelConfig: d_model=0: expected an integer >= 1'),
    (dict(d_model=30, n_heads=4), r'd_model=30 is not divisible by n_heads=4'),
    (dict(n_layers=-1), r'ModelConfig: n_layers=-1'), (dict(max_len=0), r'ModelConfig: max_len=0'),
    (dict(d_model=32.0), r'ModelConfig: d_model=32.0: expected an integer'),
    (dict(dropout=1.5), r'ModelConfig: dropout=1.5: expected a finite number >= 0 and < 1'),
    (dict(dropout=NAN), r'ModelConfig: dropout=nan'),
])
def test_model_config_checks_its_sizes(kw, match):
    with pytest.raises((TypeError, ValueError), match=match): ModelConfig(**kw)

# objects of the wrong kind: a string where a list, tokenizer or model is expected
@pytest.mark.parametrize('call, match', [
    (lambda: byte_tokenizer(extra_special_tokens='<ab>'),
     r"extra_special_tokens='<ab>': expected a list of strings"),
    (lambda: byte_tokenizer(extra_special_tokens=[None]), r'extra_special_tokens\[0\]=None: expected a non-empty'),
    (lambda: tiny_causal_lm('gpt2'), r"tiny_causal_lm: tok='gpt2': expected a tokenizer"),
    (lambda: tiny_t5(byte_tokenizer(), cfg='tiny'), r"tiny_t5: cfg='tiny': expected a ModelConfig"),
    (lambda: n_params('x'), r"n_params: model='x': expected a torch nn.Module"),
    (lambda: load_checkpoint('.', 'x'), r"load_checkpoint: model='x': expected a torch nn.Module"),
    (lambda: demo(prompt=None), r'demo: prompt=None: expected a string'),
])
def test_wrong_kind_of_object_is_named(call, match):
    with pytest.raises(TypeError, match=match): call()

def test_specials_from_a_list_are_single_tokens():
    tok = byte_tokenizer(extra_special_tokens=['<ab>'])
    assert len(tok('<ab>')['input_ids']) == 1

@pytest.mark.parametrize('call, match', [
    (lambda: get_device('tpu'), r"'tpu' is not a device name"),
    (lambda: demo(device='gpu'), r"demo: device='gpu' is not a device name"),
    (lambda: load_model('gpt2', device='gpu7'), r"load_model: device='gpu7' is not a device name"),
    (lambda: train_loop(nn.Linear(2, 2), BATCHES, steps=1, device='gpu'), r"train_loop: device='gpu'"),
])
def test_bad_device_names_are_named(call, match):
    with pytest.raises(ValueError, match=match): call()

@pytest.mark.parametrize('call, match', [
    (lambda: load_model('/nonexistent/model'), r"load_model: '/nonexistent/model' does not exist"),
    (lambda: load_tokenizer('/nonexistent/tok'), r"load_tokenizer: '/nonexistent/tok' does not exist"),
    (lambda: load_tokenizer('./no/such/tok'), r"'./no/such/tok' does not exist"),
    (lambda: load_model('~/no-such-model-xyz'), r"'~/no-such-model-xyz' does not exist"),
])
def test_missing_local_paths_are_named(call, match):
    with pytest.raises(FileNotFoundError, match=match): call()

@pytest.mark.parametrize('call, name', [
    (lambda: load_model('not a model'), "load_model: cannot load 'not a model'"),
    (lambda: load_model('no-such-org/no-such-model-xyz', device='cpu'),
     "load_model: cannot load 'no-such-org/no-such-model-xyz'"),
    (lambda: load_tokenizer('no-such-org/no-such-tok'), "load_tokenizer: cannot load 'no-such-org/no-such-tok'"),
])
def test_unknown_model_names_are_one_line(call, name):
    with pytest.raises(OSError) as e: call()
    assert str(e.value).startswith(name + ': not a model folder here, and the Hub'), str(e.value)
    assert '\n' not in str(e.value)

def test_bad_dtype_lists_the_allowed_ones():
    match = r"load_model: dtype='float99': expected None, a torch dtype or one of float32, float16, bfloat16"
    with pytest.raises(ValueError, match=match): load_model('gpt2', dtype='float99')

# damaged checkpoints: one error type (ValueError) naming the folder and the file, nothing loaded
DAMAGE = {
    'truncated_weights': ('model.safetensors', lambda f: f.write_bytes(f.read_bytes()[:5])),
    'weights_folder': ('model.safetensors', lambda f: (f.unlink(), f.mkdir())),
    'state_not_json': ('trainer_state.json', lambda f: f.write_text('{bad')),
    'state_not_utf8': ('trainer_state.json', lambda f: f.write_bytes(b'{"step": 2, \xff}')),
    'state_a_list': ('trainer_state.json', lambda f: f.write_text('[1, 2]')),
    'optimizer_garbage': ('optimizer.pt', lambda f: f.write_bytes(b'garbage')),
    'rng_wrong_shape': ('rng.pt', lambda f: torch.save(dict(python=[1, 2, 3, 4], numpy={}, torch=None, cuda=[]), f)),
    'rng_missing': ('rng.pt', lambda f: f.unlink()),
}

@pytest.mark.parametrize('kind', DAMAGE)
def test_damaged_checkpoint_names_folder_and_file(tmp_path, kind):
    name, damage = DAMAGE[kind]
    _save(tmp_path, step=1); ck = _save(tmp_path, step=2)
    damage(ck / name)
    m, opt = _model_opt()
    with torch.no_grad(): m.weight.fill_(7.0)
    for where in (tmp_path, ck):  # the run's folder (its newest checkpoint) or the checkpoint itself
        with pytest.raises(ValueError, match=rf'checkpoint .*checkpoint-2 is damaged: {name} cannot be read') as e:
            load_checkpoint(where, m, opt)
        assert 'delete the folder to resume from checkpoint-1' in str(e.value)
    assert torch.all(m.weight == 7.0)  # nothing was half loaded
    assert load_checkpoint(tmp_path / 'checkpoint-1', m, opt)['step'] == 1  # the older one is intact

@pytest.mark.parametrize('parts', [(), ('',), ('.',)])
def test_shared_data_refuses_an_empty_path(parts):
    with pytest.raises(ValueError, match=r"expected a file's path"): shared_data(*parts)

def test_files_where_folders_are_expected_are_named(tmp_path):
    f = tmp_path / 'afile'; f.write_text('x')
    m, opt = _model_opt()
    with pytest.raises(ValueError, match=r"save_checkpoint: path='.*afile' is a file: expected a folder"):
        save_checkpoint(f, m, opt, 1)
    with pytest.raises(ValueError, match=r"load_model: '.*afile' is a file"): load_model(str(f))

def test_damaged_model_weights_are_named(tmp_path):
    p = save(tiny_causal_lm(byte_tokenizer(), ModelConfig(d_model=16, n_layers=1, n_heads=2, d_ff=32, max_len=32)),
             None, tmp_path / 'm')
    w = p / 'model.safetensors'; w.write_bytes(w.read_bytes()[:5])
    with pytest.raises(ValueError, match=r'load_model: .*m: the weights \(\*\.safetensors\) are damaged'):
        load_model(p, device='cpu')

@pytest.mark.parametrize('call, match', [
    (lambda: make_optimizer(nn.Linear(2, 2), lr=NAN), r'make_optimizer: lr=nan'),
    (lambda: make_optimizer(nn.Linear(2, 2), weight_decay=-1.0), r'make_optimizer: weight_decay=-1.0'),
    (lambda: set_rng_state('x'), r'set_rng_state: state=x: expected a dict'),
])
def test_optimizer_and_rng_arguments_are_named(call, match):
    with pytest.raises((TypeError, ValueError), match=match): call()


def test_jsonl_that_python_json_would_bend(tmp_path):
    "NaN/Infinity (not JSON) and a key given twice in one object (json.loads keeps the last) are named by line."
    from instruct_nb.core import read_jsonl
    (tmp_path / 'a.jsonl').write_text('{"a": 1}\n{"a": NaN}\n')
    with pytest.raises(ValueError, match='line 2: NaN is not JSON'): read_jsonl(tmp_path / 'a.jsonl')
    (tmp_path / 'b.jsonl').write_text('{"a": 1, "b": {"c": 1, "c": 2}}\n')
    with pytest.raises(ValueError, match="line 1: the key 'c' appears twice"): read_jsonl(tmp_path / 'b.jsonl')
    (tmp_path / 'c.jsonl').write_text('{"a": null, "b": [1.5, -2e3]}\n')
    assert read_jsonl(tmp_path / 'c.jsonl') == [{'a': None, 'b': [1.5, -2000.0]}]
