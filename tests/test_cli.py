"""End to end: the README's main job runs and the loss goes down."""
import re, subprocess

def test_demo_runs_and_loss_falls():
    out = subprocess.run(['instruct-nb', 'demo', '--steps', '40'], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    first, last = map(float, re.search(r'loss ([\d.]+) -> ([\d.]+)', out.stdout).groups())
    assert last < 0.6 * first, out.stdout
    assert 'sample:' in out.stdout

def test_demo_bad_argument():
    out = subprocess.run(['instruct-nb', 'demo', '--steps', 'many'], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "--steps: expected a whole number >= 1, got 'many'" in out.stderr


def test_demo_bad_values_are_one_line_errors():
    for args, code, msg in [(['--steps', '0'], 2, "--steps: expected a whole number >= 1, got '0'"),
                            (['--device', 'bogus'], 1, "device 'bogus'"),
                            (['--device', 'cuda:9'], 1, "device 'cuda:9'")]:
        out = subprocess.run(['instruct-nb', 'demo', *args], capture_output=True, text=True, timeout=120)
        assert out.returncode == code and msg in out.stderr and 'Traceback' not in out.stderr, (args, out.stderr)


def test_pretrain_bad_values_stop_before_training(tmp_path):
    "`instruct-nb pretrain` refuses bad numbers and an --out that is a file with status 2, one line, no traceback."
    (tmp_path / 'f').write_text('x')
    for args, msg in [(['--steps', '-5'], "argument --steps: expected a whole number >= 1, got '-5'"),
                      (['--minutes', '0'], "argument --minutes: expected a number > 0, got '0'"),
                      (['--out', str(tmp_path / 'f')], 'exists and is not a directory')]:
        out = subprocess.run(['instruct-nb', 'pretrain', '--tiny', *args], capture_output=True, text=True, timeout=120)
        assert out.returncode == 2 and msg in out.stderr and 'Traceback' not in out.stderr, (args, out.stderr)
        assert out.stdout == ''                                                   # nothing ran


def test_data_unknown_dataset():
    from instruct_nb.cli import COMMANDS
    if 'data' not in COMMANDS: import pytest; pytest.skip('`instruct-nb data` is not registered in instruct_nb.cli')
    out = subprocess.run(['instruct-nb', 'data', 'fetch', 'squad'], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "invalid choice: 'squad'" in out.stderr and 'Traceback' not in out.stderr
