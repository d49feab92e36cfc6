"""The main job end to end: `instruct-nb run --quick`, its outputs, re-runs that skip or redo stages, resume after a
kill, and one-line errors with the right exit codes."""
import json, math, shutil, subprocess, sys, time
from pathlib import Path

import pytest
import killrun

STAGES = ['mixture', 'sft', 'reward', 'rlhf', 'eval', 'scaling']


def cli(*args, timeout=900):
    return subprocess.run([sys.executable, '-m', 'instruct_nb', *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope='module')
def quick(tmp_path_factory):
    "One `instruct-nb run --quick`, shared by the tests that read its outputs (copy it before changing it)."
    out = tmp_path_factory.mktemp('run') / 'out'
    t0 = time.time()
    p = cli('run', '--quick', '--out', out, '--no-progress')
    print(f'instruct-nb run --quick: {time.time() - t0:.0f} s')
    assert p.returncode == 0, p.stderr[-3000:]
    return out, p


def test_quick_run_outputs(quick):
    out, p = quick
    for i, s in enumerate(STAGES, 1): assert f'[{i}/6] {s}:' in p.stdout
    for row in ('trained tasks, seen templates', 'held-out clusters', 'reward model score', 'KL from the SFT policy',
                'win rate of RLHF over SFT'):
        assert row in p.stdout, p.stdout
    m = json.loads((out / 'metrics.json').read_text())              # strict JSON: no NaN
    assert sorted(m['stages']) == sorted(STAGES)
    ev = m['stages']['eval']['metrics']
    for split in ('seen', 'unseen', 'heldout'):
        for model in ('base', 'sft', 'rlhf'): assert 0 <= ev['accuracy'][split][model]['accuracy'] <= 1
    w = ev['win_rate']
    assert w['lo'] <= w['win_rate'] <= w['hi'] and w['n'] > 0
    assert math.isfinite(m['stages']['rlhf']['metrics']['kl'])
    report = (out / 'report.md').read_text()
    for name in ('loss', 'rlhf', 'clusters', 'win_rate', 'scaling'):
        assert (out / 'plots' / f'{name}.png').stat().st_size > 1000
        assert f'(plots/{name}.png)' in report
    assert '"torch":' in report and '"sft":' in report             # versions and the exact config


def test_stage_models_load_with_transformers(quick):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
    out, _ = quick
    for s in ('sft', 'rlhf'):
        model, tok = AutoModelForCausalLM.from_pretrained(out / s), AutoTokenizer.from_pretrained(out / s)
        assert model(**tok('Q: hi\nA:', return_tensors='pt')).logits.shape[-1] == model.config.vocab_size
    rm = AutoModelForSequenceClassification.from_pretrained(out / 'reward')
    assert rm.config.num_labels == 1 and math.isfinite(rm.config.reward_std)
    assert not list((out / 'sft').glob('checkpoints'))             # finished stages keep their outputs only


def test_rerun_skips_and_changed_output_reruns_what_follows(quick, tmp_path):
    out = tmp_path / 'out'
    shutil.copytree(quick[0], out)
    p = cli('run', '--quick', '--out', out, '--no-progress')
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.count('finished earlier, outputs checked') == 6, p.stdout
    with open(out / 'sft' / 'model.safetensors', 'r+b') as f:      # damage SFT's model: it and what reads it rerun
        f.seek(-64, 2); f.write(b'\0' * 64)
    p = cli('run', '--quick', '--out', out, '--no-progress', '--stages', 'mixture,sft,reward')
    assert p.returncode == 0, p.stderr[-2000:]
    assert '[1/6] mixture: finished earlier' in p.stdout and '[2/6] sft: finished earlier' not in p.stdout
    assert '[3/6] reward: finished earlier' not in p.stdout and '[4/6]' not in p.stdout
    p = cli('run', '--quick', '--out', out, '--no-progress', '--stages', 'eval')   # rlhf is stale now
    assert p.returncode == 1 and "reads the output of 'rlhf'" in p.stderr, p.stderr


KILLED_RUN = '''
import json, sys, torch
torch.set_num_threads(1)
from killrun import arm
from instruct_nb.rlhf import _RLHFRun
arm(_RLHFRun)
from instruct_nb.pipeline import RunConfig, run
m = run(RunConfig.quick(rlhf=dict(max_steps=5, ckpt_every=1)), sys.argv[1], stages=['rlhf'], progress=False)
print('RESULT ' + json.dumps(m['stages']['rlhf']))
'''


def test_rlhf_stage_resumes_after_kill(quick, tmp_path):
    a, b = tmp_path / 'a', tmp_path / 'b'
    for d in (a, b): shutil.copytree(quick[0], d)
    killrun.run(KILLED_RUN, a, kill='step:3')
    assert (a / 'rlhf' / 'checkpoints').is_dir() and not (a / 'rlhf' / 'stage.json').exists()
    resumed, stdout = killrun.run(KILLED_RUN, a)
    assert 'resumed from' in stdout and 'at step 2' in stdout, stdout
    straight, _ = killrun.run(KILLED_RUN, b)
    assert resumed['metrics']['history'] == straight['metrics']['history']
    weights = [json.loads((d / 'rlhf' / 'stage.json').read_text())['outputs']['model.safetensors'] for d in (a, b)]
    assert weights[0] == weights[1]                                # the same bytes


@pytest.mark.parametrize('args, code, message', [
    (['--stages', 'sft,rhlf'], 2, "--stages: unknown stage 'rhlf'"),
    (['--seed', 'x'], 2, "invalid int value: 'x'"),
    (['--model', '/no/such/model'], 1, "model '/no/such/model' could not be loaded (no such folder)"),
    (['--device', 'bogus'], 1, "device 'bogus'"),
    (['--device', 'cuda:9'], 1, "device 'cuda:9'"),
    (['--config', 'missing.toml'], 1, "config file 'missing.toml' not found"),
])
def test_bad_arguments(tmp_path, args, code, message):
    p = cli('run', '--out', tmp_path / 'out', *args, timeout=120)
    assert p.returncode == code and message in p.stderr, (p.returncode, p.stderr)
    assert 'Traceback' not in p.stderr


def test_bad_config_and_out(tmp_path):
    (tmp_path / 'c.toml').write_text('[rlhf]\nbetta = 0.1\n')
    p = cli('run', '--out', tmp_path / 'out', '--config', tmp_path / 'c.toml', timeout=120)
    assert p.returncode == 1 and "[rlhf] has no setting 'betta'" in p.stderr, p.stderr
    (tmp_path / 'c.yaml').write_text('eval_n: -1\n')
    p = cli('run', '--out', tmp_path / 'out', '--config', tmp_path / 'c.yaml', timeout=120)
    assert p.returncode == 1 and 'RunConfig.eval_n=-1' in p.stderr, p.stderr
    (tmp_path / 'tag.yaml').write_text('seed: !!python/object/apply:os.system ["echo PWNED"]\n')
    p = cli('run', '--out', tmp_path / 'out', '--config', tmp_path / 'tag.yaml', timeout=120)
    assert p.returncode == 1 and 'PWNED' not in p.stdout, p.stdout
    error = p.stderr.strip().splitlines()                               # YAML's message and its caret: one line
    assert len(error) == 1 and 'does not parse: could not determine a constructor' in error[0], p.stderr
    (tmp_path / 'file').write_text('x')
    p = cli('run', '--out', tmp_path / 'file', timeout=120)
    assert p.returncode == 1 and 'is a file' in p.stderr and 'Traceback' not in p.stderr


def test_entry_points_agree():
    p = subprocess.run(['instruct-nb', '--version'], capture_output=True, text=True, timeout=60)
    q = cli('--version', timeout=60)
    assert p.returncode == q.returncode == 0 and p.stdout == q.stdout and p.stdout.startswith('instruct-nb ')
    assert 'run ' in cli('--help', timeout=60).stdout


def test_out_with_a_tilde_is_one_folder(tmp_path, monkeypatch):
    "`--out=~/x` (which the shell leaves unexpanded) is written and read in the same folder, under $HOME."
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.chdir(tmp_path)
    p = cli('run', '--quick', '--stages', 'mixture', '--out=~/runs/q', '--no-progress', timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert (tmp_path / 'home' / 'runs' / 'q' / 'mixture' / 'stage.json').is_file()
    assert not (tmp_path / '~').exists()


def test_empty_stage_list_is_a_usage_error(tmp_path):
    "`--stages ,` names no stage: a usage error (exit 2), not a traceback."
    p = cli('run', '--out', tmp_path / 'out', '--stages', ',', timeout=120)
    assert p.returncode == 2 and "--stages: unknown stage ','" in p.stderr and 'Traceback' not in p.stderr, p.stderr
