"Kill a training run with SIGKILL at a chosen moment, in a child process, to test that resuming it is exact."
import json, os, signal, subprocess, sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def arm(run_cls):
    """In the child, from `KILL`: 'step:N' dies right after step N is logged by `run_cls.log`; 'save:N' dies inside
    the save of checkpoint N, after its files are written and before the atomic rename."""
    import instruct_nb.core as core
    kill = os.environ.get('KILL', '')
    if kill.startswith('step:'):
        at, log = int(kill[5:]), run_cls.log
        def log_and_die(self, st, *a, **k):
            log(self, st, *a, **k)
            if st['step'] == at: os.kill(os.getpid(), signal.SIGKILL)
        run_cls.log = log_and_die
    if kill.startswith('save:'):
        at, rename = kill[5:], os.rename
        def rename_and_die(src, dst):
            if os.path.basename(str(dst)) == f'checkpoint-{at}': os.kill(os.getpid(), signal.SIGKILL)
            return rename(src, dst)
        core.os.rename = rename_and_die


def run(script: str, out, kill: str = ''):
    """Run `script` with `out` as its argument. Killed: the process. Otherwise: (the JSON it printed after 'RESULT ',
    its stdout)."""
    env = dict(os.environ, KILL=kill, PYTHONPATH=os.pathsep.join([str(TESTS.parent), str(TESTS)]))
    p = subprocess.run([sys.executable, '-c', script, str(out)], env=env, capture_output=True, text=True, timeout=600)
    if kill:
        assert p.returncode == -signal.SIGKILL, (p.returncode, p.stderr[-2000:])
        return p
    assert p.returncode == 0, p.stderr[-3000:]
    res = [l for l in p.stdout.splitlines() if l.startswith('RESULT ')]
    return json.loads(res[-1][7:]), p.stdout
