"""Tests of instruct_nb.data (`instruct-nb data`) against a local HTTP server on 127.0.0.1 that serves the shared data
folder: downloads checked by size and sha256, written whole or not at all, skipped when present; the search order
of `core.shared_data` and its message when a file is missing; benchmarks/ifeval.py without the data."""
import functools, http.server, importlib.util, shutil, threading
from pathlib import Path

import pytest

from instruct_nb.core import data_cache, data_roots, shared_data
from instruct_nb.data import DATASETS, DataFile, download, fetch, fetch_hint, main, sha256_file

FILES = [f for fs in DATASETS.values() for f in fs]
SRC = shared_data('ifeval', 'input_data.jsonl', must_exist=False).parent.parent  # the data folder the tests read
needs_data = pytest.mark.skipif(not all((SRC / f.path).exists() for f in FILES),
                                reason=f'benchmark files not found under {SRC} (instruct-nb data fetch, or INSTRUCT_NB_DATA)')


class Handler(http.server.SimpleHTTPRequestHandler):
    "Serves its `directory`, records each path asked for on the server, logs nothing."
    def log_message(self, *args): pass
    def do_GET(self):
        self.server.asked.append(self.path)
        super().do_GET()


@pytest.fixture
def serve():
    "Start HTTP servers on 127.0.0.1 for folders; returns (base URL, server); all are stopped after the test."
    servers = []
    def start(folder):
        srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Handler, directory=str(folder)))
        srv.asked = []
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f'http://127.0.0.1:{srv.server_port}/', srv
    yield start
    for srv in servers: srv.shutdown(); srv.server_close()


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    "No INSTRUCT_NB_DATA / INSTRUCT_NB_DATA_URL from the caller, and a cache under tmp_path (never ~/.cache)."
    for k in ('INSTRUCT_NB_DATA', 'INSTRUCT_NB_DATA_URL'): monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv('INSTRUCT_NB_CACHE', str(tmp_path / 'cache'))
    return tmp_path


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob('*') if p.is_file())


# --- the manifest ---

def test_manifest_is_well_formed():
    assert set(DATASETS) == {'ifeval', 'mt_bench'}
    assert len({f.path for f in FILES}) == len(FILES) == 5
    for name, files in DATASETS.items():
        for f in files:
            assert f.path.split('/')[0] == name and len(f.sha256) == 64 and int(f.sha256, 16) >= 0 and f.size > 0
            assert f.url.startswith('https://raw.githubusercontent.com/')
    assert all('/google-research/google-research/' in f.url for f in DATASETS['ifeval'])
    assert all('/lm-sys/FastChat/' in f.url for f in DATASETS['mt_bench'])


@needs_data
def test_manifest_matches_the_shared_files():
    for f in FILES:
        assert ((SRC / f.path).stat().st_size, sha256_file(SRC / f.path)) == (f.size, f.sha256), f.path


def test_sha256_file_matches_hashlib(tmp_path):
    import hashlib
    p = tmp_path / 'x'; p.write_bytes(bytes(range(256)) * 9)
    assert sha256_file(p, chunk=5) == hashlib.sha256(p.read_bytes()).hexdigest()


# --- fetch from a local server ---

@needs_data
def test_fetch_all_then_loaders_find_it(serve, clean_env, monkeypatch, capsys):
    url, srv = serve(SRC)
    dest = clean_env / 'data'
    monkeypatch.setenv('INSTRUCT_NB_DATA', str(dest))
    assert main(['fetch', 'all', '--base-url', url]) == 0
    out = capsys.readouterr().out
    assert f'all: 5 files in {dest}' in out and 'set INSTRUCT_NB_DATA' not in out
    assert files_under(dest) == sorted(f.path for f in FILES)                    # no temporary files left
    assert all((dest / f.path).read_bytes() == (SRC / f.path).read_bytes() for f in FILES)
    assert sorted(srv.asked) == sorted('/' + f.path for f in FILES)
    assert shared_data('ifeval', 'input_data.jsonl') == dest / 'ifeval' / 'input_data.jsonl'
    from instruct_nb.judge import load_mt_bench
    qs = load_mt_bench()                                   # GPT-4's reference answers joined from the fetched file
    assert len(qs) == 80 and all('reference' in q for q in qs if 101 <= q['question_id'] <= 130)


@needs_data
def test_second_fetch_downloads_nothing(serve, clean_env, capsys):
    url, srv = serve(SRC)
    assert main(['fetch', 'ifeval', '--base-url', url]) == 0                   # into the default cache
    assert files_under(data_cache()) == sorted(f.path for f in DATASETS['ifeval'])
    assert data_cache() == clean_env / 'cache' / 'data'
    n = len(srv.asked)
    capsys.readouterr()
    assert main(['fetch', 'ifeval', '--base-url', url]) == 0
    assert len(srv.asked) == n and capsys.readouterr().out.count('already there') == 2


@needs_data
def test_base_url_from_the_environment(serve, clean_env, monkeypatch):
    url, srv = serve(SRC)
    monkeypatch.setenv('INSTRUCT_NB_DATA_URL', url)
    paths = fetch('mt_bench', dest=clean_env / 'd')
    assert [p.name for p in paths] == ['question.jsonl', 'reference_answer_gpt-4.jsonl', 'judge_prompts.jsonl']
    assert sorted(srv.asked) == sorted('/' + f.path for f in DATASETS['mt_bench'])


@needs_data
def test_a_changed_file_is_refused_and_nothing_is_left(serve, clean_env, capsys):
    mirror = clean_env / 'mirror'
    shutil.copytree(SRC / 'ifeval', mirror / 'ifeval')
    bad = mirror / 'ifeval' / 'input_data.jsonl'
    bad.write_bytes(bad.read_bytes().replace(b'at least 3 placeholders', b'at least 1 placeholders'))  # same size
    url, _ = serve(mirror)
    dest = clean_env / 'dest'
    assert main(['fetch', 'ifeval', '--base-url', url, '--dest', str(dest)]) == 1
    err = capsys.readouterr().err
    f = DATASETS['ifeval'][0]
    assert err.startswith('instruct-nb data fetch: ifeval/input_data.jsonl:') and 'Traceback' not in err
    assert f'expected sha256 {f.sha256}' in err and f'got sha256 {sha256_file(bad)}' in err
    assert files_under(dest) == []                                                 # neither the file nor a part


@needs_data
def test_a_wrong_file_in_place_is_replaced(serve, clean_env, capsys):
    url, _ = serve(SRC)
    dest = clean_env / 'dest'
    f = DATASETS['mt_bench'][2]
    (dest / 'mt_bench').mkdir(parents=True); (dest / f.path).write_text('{}\n')
    fetch('mt_bench', dest=dest, base_url=url)
    assert f'{f.path}: replacing' in capsys.readouterr().out and sha256_file(dest / f.path) == f.sha256


def test_missing_file_on_the_server(serve, clean_env, capsys):
    (clean_env / 'empty').mkdir()
    url, _ = serve(clean_env / 'empty')                                            # serves nothing at all
    assert main(['fetch', 'mt_bench', '--base-url', url, '--dest', str(clean_env / 'd')]) == 1
    err = capsys.readouterr().err
    assert f'could not download {url}mt_bench/question.jsonl (HTTP Error 404' in err and 'Traceback' not in err
    assert files_under(clean_env / 'd') == []


def test_unreachable_server(clean_env, capsys):
    f = DataFile('toy/x.jsonl', 'http://127.0.0.1:9/x.jsonl', '0' * 64, 1)        # port 9 (discard): nothing listens
    with pytest.raises(OSError, match=r'toy/x.jsonl: could not download http://127.0.0.1:9/x.jsonl'):
        download(f, clean_env / 'd', timeout=5)
    assert files_under(clean_env / 'd') == []


@pytest.mark.parametrize('argv', [['fetch', 'squad'], ['fetch', 'IFEval'], ['get', 'ifeval'], []])
def test_bad_command_line_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as e: main(argv)
    assert e.value.code == 2 and 'usage: instruct-nb data' in capsys.readouterr().err


def test_unknown_dataset_names_the_choices(capsys):
    with pytest.raises(SystemExit) as e: main(['fetch', 'squad'])
    assert e.value.code == 2
    assert "argument name: invalid choice: 'squad' (choose from 'ifeval', 'mt_bench', 'all')" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"dataset 'squad': expected one of \['ifeval', 'mt_bench', 'all'\]"):
        fetch('squad')


def test_list_says_what_is_missing(clean_env, monkeypatch, capsys):
    monkeypatch.setenv('INSTRUCT_NB_DATA', str(clean_env / 'empty'))
    assert main(['list']) == 0
    out = capsys.readouterr().out
    assert 'mt_bench/question.jsonl: missing: run `instruct-nb data fetch mt_bench` to download it' in out


# --- where shared_data looks ---

def test_search_order(clean_env, monkeypatch):
    cache = clean_env / 'cache' / 'data'
    assert data_roots()[0] == cache and all(r.parts[-2:] == ('shared', 'data') for r in data_roots()[1:])
    (cache / 'ifeval').mkdir(parents=True); (cache / 'ifeval' / 'input_data.jsonl').write_text('{}\n')
    assert shared_data('ifeval', 'input_data.jsonl') == cache / 'ifeval' / 'input_data.jsonl'  # the cache first
    override = clean_env / 'override'
    monkeypatch.setenv('INSTRUCT_NB_DATA', str(override))
    assert data_roots() == [override] and data_cache() == override                # the override, and only it
    with pytest.raises(FileNotFoundError) as e: shared_data('ifeval', 'input_data.jsonl')
    msg = str(e.value)
    assert "'ifeval/input_data.jsonl' not found (looked in " + str(override) + ')' in msg
    assert msg.endswith('run `instruct-nb data fetch ifeval` to download it')
    with pytest.raises(FileNotFoundError, match='set INSTRUCT_NB_DATA to a folder that holds it'):
        shared_data('ifeval', 'reference_results_strict.jsonl')


def test_fetch_hint():
    assert fetch_hint('mt_bench/judge_prompts.jsonl') == 'run `instruct-nb data fetch mt_bench` to download it'
    assert fetch_hint('scaling/flan_table3_num_tasks.csv') == 'set INSTRUCT_NB_DATA to a folder that holds it'


def test_ifeval_benchmark_exits_with_the_fetch_command(clean_env, monkeypatch):
    monkeypatch.setenv('INSTRUCT_NB_DATA', str(clean_env / 'empty'))
    spec = importlib.util.spec_from_file_location('bench_ifeval', Path(__file__).parents[1] / 'benchmarks' / 'ifeval.py')
    bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)
    with pytest.raises(SystemExit) as e: bench.main(repeat=1)
    assert isinstance(e.value.code, str)                                           # sys.exit(message): status 1
    assert e.value.code.startswith('benchmarks/ifeval.py: IFEval data missing:')
    assert 'run `instruct-nb data fetch ifeval`' in e.value.code
