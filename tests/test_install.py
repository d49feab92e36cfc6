"""The installed package: version, entry point, modules import, safe defaults, README in sync."""
import configparser, importlib, pkgutil, re, subprocess, sys
from pathlib import Path
import instruct_nb

ROOT = Path(__file__).resolve().parent.parent

def test_version_matches_settings():
    cfg = configparser.ConfigParser(); cfg.read(ROOT / 'settings.ini')
    assert instruct_nb.__version__ == cfg['DEFAULT']['version']

def test_every_module_imports():
    names = [m.name for m in pkgutil.iter_modules(instruct_nb.__path__) if not m.name.startswith('_')]
    assert 'core' in names and 'cli' in names
    for n in names: importlib.import_module(f'instruct_nb.{n}')

def test_console_script_help():
    out = subprocess.run(['instruct-nb', '--help'], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert 'demo' in out.stdout

def test_unknown_command_fails():
    out = subprocess.run(['instruct-nb', 'frobnicate'], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "unknown command 'frobnicate'" in out.stderr

def test_no_remote_code_or_pickle_by_default():
    src = '\n'.join(p.read_text() for p in Path(instruct_nb.__file__).parent.glob('*.py'))
    assert not re.search(r'trust_remote_code\s*=\s*True', src)
    assert 'pickle.load' not in src
    assert all('weights_only=True' in l for l in src.splitlines() if 'torch.load(' in l)

def test_readme_in_sync_with_index():
    out = subprocess.run([sys.executable, str(ROOT / 'tools' / 'render_readme.py'), '--check'], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout

def test_readme_has_exactly_the_two_commands_ci_runs():
    readme = (ROOT / 'README.md').read_text()
    cmds = [l for l in readme.splitlines() if l.startswith('python3 -m venv')]
    assert len(cmds) == 2, cmds
    assert cmds[0].endswith('instruct-nb run') and cmds[1].endswith('bash tests/run.sh')
    assert 'pip install torch==' in cmds[0] and 'pip install torch==' in cmds[1]
    assert 'Install and run the tests:' in (ROOT / '.ci' / 'run').read_text()


def test_shipped_models_match_their_sha256():
    import hashlib
    base = Path(instruct_nb.__file__).parent / 'assets' / 'base'
    sums = dict(l.split()[::-1] for l in (base / 'SHA256SUMS').read_text().splitlines() if l and not l.startswith('#'))
    shipped = {p.relative_to(base).as_posix() for p in base.glob('*/*') if p.suffix in ('.safetensors', '.json')}
    assert shipped == set(sums), shipped ^ set(sums)
    for name, digest in sums.items(): assert hashlib.sha256((base / name).read_bytes()).hexdigest() == digest, name
