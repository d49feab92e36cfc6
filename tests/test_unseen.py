"""The unseen-tasks chapter's library and benchmarks end to end, with budgets of seconds and a private cache."""
import json, os, subprocess, sys
from pathlib import Path

import pytest

from instruct_nb.unseen import diversity_run, diversity_split, loco, tuning_data, tuning_tasks

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', HF_DATASETS_OFFLINE='1')


def test_tuning_tasks_leave_out_the_cluster_and_its_skills():
    train = tuning_tasks(['reading_comprehension'])
    assert not any(t.startswith('event_') or t.startswith('extract_') for t in train)   # extraction parses events too
    assert 'review_sentiment' in train
    from instruct_nb.tasks import TASKS
    assert len({TASKS[t].cluster for t in tuning_tasks(['nli'], n_clusters=1)}) == 1
    with pytest.raises(ValueError, match='n_clusters=99'): tuning_tasks(['nli'], n_clusters=99)


def test_tuning_data_is_quiz_layout_prompt_completion():
    rows = tuning_data(['parity', 'addition'], n_per_task=5, variants='zero')
    assert len(rows) == 10 and all(r['prompt'].startswith('Q: ') and r['prompt'].endswith('\nA:') for r in rows)
    assert all(r['completion'].startswith(' ') for r in rows)
    with pytest.raises(ValueError, match="templates='two'"): tuning_data(['parity'], templates='two')
    with pytest.raises(ValueError, match="variants='cot'"): tuning_data(['parity'], variants='cot')


def test_loco_trains_once_then_reads_the_cache(tmp_path):
    r = loco(['closed_book_qa'], cpu_minutes=0.03, n_train=5, n_eval=3, cache=tmp_path)
    assert set(r['runs']) == {'zero_plain', 'zero_qa', 'few3_qa', 'tuned'}
    assert len(r['runs']['tuned']) == 3 * len(r['held']) == len(r['best_zero'])
    lo, g, hi = r['gain'][1], r['gain'][0], r['gain'][2]
    assert lo <= g <= hi
    saved = list((tmp_path / 'flan_effect').iterdir())
    assert len(saved) == 1 and (saved[0] / 'tune.json').exists()
    again = loco(['closed_book_qa'], cpu_minutes=0.03, n_train=5, n_eval=3, cache=tmp_path)
    assert again['info'] == r['info'] and again['gain'] == r['gain']                   # same model, same answers


def test_diversity_split_never_trains_on_test_instructions():
    for k in (10, 3000):
        sp = diversity_split(k, n=200)
        first = lambda rows: {r['input'].split('\n')[0] for r in rows}
        assert len(first(sp['train'])) == min(k, 200) and not first(sp['train']) & first(sp['unseen'])
    with pytest.raises(ValueError, match='k=0'): diversity_split(0)


def test_diversity_run_caches_its_result(tmp_path):
    r = diversity_run(10, n=40, cpu_minutes=0.02, cache=tmp_path)
    assert 0 <= r['unseen'] <= 1 and set(r['by_rule']) == {'replace', 'delete', 'after'}
    assert diversity_run(10, n=40, cpu_minutes=0.02, cache=tmp_path) == r


def test_flan_effect_benchmark_names_a_bad_cluster():
    p = subprocess.run([sys.executable, 'benchmarks/flan_effect.py', '--heldout', 'poetry'], cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and "unknown clusters ['poetry']" in p.stderr and 'Traceback' not in p.stderr


def test_instruction_diversity_benchmark_headline(tmp_path):
    p = subprocess.run([sys.executable, 'benchmarks/instruction_diversity.py', '--k', '3,10', '--n', '30',
                        '--cpu-minutes', '0.02'], cwd=ROOT, env=dict(ENV, INSTRUCT_NB_CACHE=str(tmp_path)),
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    last = p.stdout.strip().splitlines()[-1]
    assert last.startswith('unseen_instruction_accuracy=') and ' few_instruction_accuracy=' in last
    bad = subprocess.run([sys.executable, 'benchmarks/instruction_diversity.py', '--k', '0'], cwd=ROOT, env=ENV,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and '--k 0' in bad.stderr and 'Traceback' not in bad.stderr
