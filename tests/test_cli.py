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
    assert out.returncode != 0 and "invalid int value: 'many'" in out.stderr
