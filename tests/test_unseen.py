"""The unseen-tasks chapter's library and benchmarks end to end, with budgets of seconds and a private cache."""
import json, os, subprocess, sys
from pathlib import Path

import pandas as pd
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


def test_one_template_keeps_the_rows_and_their_mix():
    tasks = ['parity', 'addition', 'city_country']
    many = tuning_data(tasks, n_per_task=40).to_pandas()
    one = tuning_data(tasks, n_per_task=40, templates='one').to_pandas()
    assert len(one) == len(many) == 120 and (one.groupby('task').size() == 40).all()
    assert (one.groupby(['task', 'variant']).template_id.nunique() == 1).all()
    assert (many.groupby('task').template_id.nunique() > 1).all()


def test_loco_mixes_in_rewrite_rows(tmp_path):
    from instruct_nb.unseen import _rewrite_rows
    rows = _rewrite_rows(30)
    assert len({r['prompt'].split('\n')[0] for r in rows}) == 30                # each row its own instruction
    r = loco(['closed_book_qa'], cpu_minutes=0.02, n_train=5, n_eval=3, rewrites=30, cache=tmp_path)
    assert r['info']['rows'] == 5 * len(r['train']) + 30
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match=f'rewrites={bad!r}: expected a whole number >= 0'):
            loco(['closed_book_qa'], rewrites=bad, cache=tmp_path)


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


def test_loco_also_scores_classification_with_the_options_listed(tmp_path):
    r = loco(['sentiment'], cpu_minutes=0.02, n_train=5, n_eval=6, cache=tmp_path)
    runs = r['runs']
    assert {'listed_base', 'listed_tuned'} <= set(runs)
    assert (runs['tuned'].method == 'rank').all() and len(runs['listed_tuned']) == len(runs['tuned'])
    assert list(runs['listed_tuned'].target) == list(runs['tuned'].target)           # the same examples, in order
    assert 'listed_base' not in set(loco(['closed_book_qa'], cpu_minutes=0.02, n_train=5, n_eval=3, cache=tmp_path)['runs'])


def test_diversity_split_never_trains_on_test_instructions():
    first = lambda rows: {r['input'].split('\n')[0] for r in rows}
    for k in (10, 198):                       # 200 examples: 66 of each rule type, so at most 66 instructions each
        sp = diversity_split(k, n=200)
        assert len(first(sp['train'])) == k and not first(sp['train']) & first(sp['unseen'])
        shares = pd.Series([r['rule'] for r in sp['train']]).value_counts().to_dict()
        assert shares == dict(replace=67, delete=67, after=66)
    big = diversity_split(12_072)             # the default 18,000 examples; `delete` has only 72 instructions to give
    assert big['quota'] == dict(replace=6000, delete=72, after=6000) and len(first(big['train'])) == 12_072
    with pytest.raises(ValueError, match='k=0'): diversity_split(0)
    with pytest.raises(ValueError, match='k=199: expected 1 to 198 distinct instructions for n=200'):
        diversity_split(199, n=200)


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
