"Tests of the task suite (`instruct_nb.tasks`) and FLAN mixtures (`instruct_nb.flan`)."
import collections, os, random, re
os.environ.setdefault('HF_DATASETS_OFFLINE', '1')

import pyarrow as pa
import pytest
from datasets import Dataset
from hypothesis import given, settings, strategies as st

from instruct_nb import world as W
from instruct_nb.flan import (TASKS, make_mixture, split_clusters, dedup, render, cot_answer, options_block, INVERSIONS,
                              mixing_rates, allocate, VARIANTS)
from instruct_nb.tasks import Task, fill, by_cluster, score


def test_suite_shape():
    clusters = collections.Counter(t.cluster for t in TASKS.values())
    assert len(TASKS) >= 30 and len(clusters) >= 10
    assert all(len(t.templates) >= 10 and len(t.unseen_templates) == 3 for t in TASKS.values())
    assert len(INVERSIONS) >= 5


def test_examples_deterministic_and_correct():
    for t in TASKS.values():
        exs = t.examples(30, seed=11)
        assert exs == t.examples(30, seed=11)
        for ex in exs:
            if t.metric == 'accuracy': assert ex['answer'] in ex['options'], (t.name, ex)
            for tid in t.template_ids():
                i, o = t.format(ex, tid)
                assert o == ex['answer'] and len(i.encode()) < 250


def test_skill_answers_recomputed():
    for ex in TASKS['reverse_word'].examples(50): assert ex['answer'] == ex['w'][::-1]
    for ex in TASKS['addition'].examples(50): assert int(ex['answer']) == int(ex['a']) + int(ex['b'])
    for ex in TASKS['event_where'].examples(50): assert ex['answer'] == W.parse_event(ex['text'].split('.')[0] + '.')['where']
    for ex in TASKS['review_sentiment'].examples(50): assert ex['answer'] == W.sentiment(ex['text'])


@given(st.text(max_size=30))
@settings(max_examples=200, deadline=None)
def test_braces_in_data_are_safe(s):
    ex = dict(w=s, c='{w}')
    assert fill('A {w} B {c}', ex) == f'A {s} B {{w}}'
    assert render('A {w} B {c}', {k: pa.array([v]) for k, v in ex.items()}, 1).to_pylist() == [fill('A {w} B {c}', ex)]


def test_missing_field_names_task_template_field():
    with pytest.raises(KeyError, match="task 'reverse_word', template 2: missing field 'w'"): fill('{w}', {}, 'reverse_word', 2)
    t = Task.from_dataset(Dataset.from_dict(dict(q=['x'], a=['y'])), fields=['q'], answer='a', name='tiny',
                          templates=[('{q}', '{answer}')])
    t.templates = (('{question}', '{answer}'),)
    with pytest.raises(KeyError, match="task 'tiny', template 0: missing field 'question'"): make_mixture(tasks=[t], n=3)


def test_mixture_columns_size_determinism():
    a = make_mixture(n=3000, seed=4)
    assert a.column_names == ['input', 'output', 'task', 'cluster', 'template_id', 'variant', 'options']
    assert len(a) == 3000 and {'zero_shot', 'few_shot', 'options', 'cot'} <= set(a['variant']) <= set(VARIANTS)
    assert a.to_dict() == make_mixture(n=3000, seed=4).to_dict()
    assert a.to_dict() == make_mixture(n=3000, seed=4, num_proc=2).to_dict()


def test_rates_cap_temperature_heldout():
    r = mixing_rates(dict(a=10, b=1000), cap=100)
    assert r['a'] == pytest.approx(10 / 110)
    assert sum(allocate(12345, r).values()) == 12345
    m = make_mixture(n=800, rates=dict(parity=1, plural=3), variants=['zero_shot'])
    assert collections.Counter(m['task']) == dict(parity=200, plural=600)
    tr, ho = split_clusters(['arithmetic'])
    assert set(ho) == set(by_cluster()['arithmetic'])
    assert 'arithmetic' not in set(make_mixture(n=500, heldout_clusters=['arithmetic'])['cluster'])


def test_formats():
    m = make_mixture(n=2000, seed=2, options_style='random', label_rate=1.0, max_len=300)
    for row in m:
        if row['variant'] == 'few_shot': assert len(row['input'].encode()) <= 300
        if row['variant'] == 'cot': assert cot_answer(row['output'])
        if row['variant'] == 'options':  # an answer is an option text, or the label of the line that holds the right option
            assert row['output'] in row['options'] or any(l.startswith(row['output']) for l in row['input'].split('\n'))
    assert options_block(['yes', 'no']) == 'OPTIONS:\n- yes\n- no'
    cot = make_mixture(tasks=['first_letter'], n=50, variants=['cot'])
    for x, y in zip(cot['input'], cot['output']):
        assert cot_answer(y) == re.search(r'The word (\w+)', y).group(1)[0]


def test_inversion_verifiable():
    m = make_mixture(tasks=['reverse_word', 'plural'], n=200, variants=['inversion'])
    for x, y, t in zip(m['input'], m['output'], m['task']):
        assert (W.reverse(y) if t == 'reverse_word' else W.plural(y)) in x


def test_dedup_and_decontamination():
    m = make_mixture(tasks=['animal_sound'], n=400, variants=['zero_shot'])
    d = dedup(m)
    assert len(set(zip(d['input'], d['output']))) == len(d) < len(m)
    assert not set(dedup(m, against=m['input'][:10])['input']) & set(m['input'][:10])


def test_prompts_and_score():
    ps = TASKS['city_country'].prompts(30, seed=1, split='unseen')
    assert {p['template_id'] for p in ps} == set(TASKS['city_country'].template_ids('unseen'))
    assert score([p['output'] for p in ps], [p['answer'] for p in ps]) == 1.0
