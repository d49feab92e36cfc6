"Tests of the task suite (`instruct_nb.tasks`) and FLAN mixtures (`instruct_nb.flan`)."
import collections, os, random, re
os.environ.setdefault('HF_DATASETS_OFFLINE', '1')

import pyarrow as pa
import pytest
from datasets import Dataset
from hypothesis import given, settings, strategies as st

from instruct_nb import world as W
from instruct_nb.flan import (TASKS, make_mixture, split_clusters, dedup, fill_columns, cot_answer, options_block,
                              INVERSIONS, mixing_rates, allocate, VARIANTS)
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
    cols = {k: pa.array([v]) for k, v in ex.items()}
    assert fill_columns('A {w} B {c}', cols, 1).to_pylist() == [fill('A {w} B {c}', ex)]


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


# --- few-shot exemplars never repeat the query ---------------------------------------------------------------------
from instruct_nb.flan import FEWSHOT_SEPS, mixture_counts, pools, submixture_rates, task_size, _variant_weights


def _fewshot_parts(row, cands):
    "(exemplar inputs, query input) of a few-shot row, read back with the task's rendered pool inputs `cands`."
    t, X = TASKS[row['task']], row['input']
    for sio, sex in FEWSHOT_SEPS:
        if t.templates[row['template_id']][0].endswith(':'): sio = ' '
        body = X[:len(X) - len(sio.rstrip())] if sio.rstrip() else X
        if not X.endswith(sio.rstrip()): continue
        for q in sorted(cands, key=len, reverse=True):
            if not body.endswith(q) or not (len(body) == len(q) or body[:len(body) - len(q)].endswith(sex)): continue
            prefix, p, shots = body[:len(body) - len(q)], 0, []
            while p < len(prefix):                                  # exemplar: input, sio, output, sex
                s = max((c for c in cands if prefix.startswith(c + sio, p)), key=len, default=None)
                if s is None: break
                end = prefix.find(sex, p + len(s) + len(sio))
                if end < 0: break
                shots.append(s); p = end + len(sex)
            if p == len(prefix) and shots: return shots, q
    raise AssertionError(f'cannot read back {X!r}')


def _exemplar_report(mix, seed=0):
    "(few-shot rows, exemplars equal to their query, rows with a repeated exemplar)."
    counts, cands = collections.Counter(mix['task']), {}
    rows = same = repeated = 0
    for row in mix:
        if row['variant'] != 'few_shot': continue
        t, tid = TASKS[row['task']], row['template_id']
        if (t.name, tid) not in cands:                              # the pool make_mixture drew, rendered naively
            cands[t.name, tid] = {t.format(ex, tid)[0] for ex in t.examples(min(counts[t.name], task_size(t)), seed)}
        shots, q = _fewshot_parts(row, cands[t.name, tid])
        rows += 1; same += shots.count(q); repeated += len(set(shots)) < len(shots)
    return rows, same, repeated


@pytest.mark.parametrize('kw', [dict(temperature=3),
                                dict(tasks=['animal_sound', 'thing_colour', 'next_letter', 'city_country'], n=400,
                                     variants=['few_shot']),
                                dict(tasks=['animal_sound', 'thing_colour', 'number_to_word', 'next_letter'], n=2000,
                                     variants=['few_shot'], k=5, seed=3)], ids=['default-T3', 'small', 'small-k5'])
def test_no_exemplar_equals_its_query(kw):
    rows, same, repeated = _exemplar_report(make_mixture(**kw), kw.get('seed', 0))
    assert rows >= 400 and same == 0 and repeated == 0, (rows, same, repeated)   # before: 19 in 2,868 rows; 65 in 400


def test_too_few_distinct_examples_give_fewer_exemplars():
    for n_q in (1, 2, 3, 4, 6):
        t = Task.from_dataset(Dataset.from_dict(dict(q=[f'q{i}?' for i in range(n_q)], a=['y'] * n_q)), fields=['q'],
                              answer='a', name='few', templates=[('{q}', '{answer}')])
        d = len({ex['q'] for ex in t.examples(n_q)})
        m = make_mixture(tasks=[t], n=90, variants=['few_shot'], k=3)
        assert collections.Counter(m['variant']) == ({'few_shot': 90} if d > 1 else {'zero_shot': 90})
        for x in m['input']:
            qs = re.findall(r'q\d\?', x)
            assert len(qs) == 1 + min(3, d - 1) and len(set(qs)) == len(qs), (d, x)


# --- bad hyperparameters name the argument ---------------------------------------------------------------------------
NAN, INF = float('nan'), float('inf')
INTEGERS = {  # name -> (call, the lowest value allowed); trailing spaces tell apart the calls of one argument
    'n': (lambda v: make_mixture(n=v), 1), 'n ': (lambda v: mixture_counts(n=v), 1),
    'n  ': (lambda v: allocate(v, dict(a=1)), 0),
    'k': (lambda v: make_mixture(n=10, k=v), 1), 'max_len': (lambda v: make_mixture(n=10, max_len=v), 1),
    'cap': (lambda v: make_mixture(n=10, cap=v), 1), 'cap ': (lambda v: mixing_rates(dict(a=1), cap=v), 1),
    'num_proc': (lambda v: make_mixture(n=10, num_proc=v), 1), 'seed': (lambda v: make_mixture(n=10, seed=v), 0),
}

@pytest.mark.parametrize('name', list(INTEGERS))
@pytest.mark.parametrize('bad', [-1, NAN, INF, 2.5, 3000.0, True, '4'])
def test_bad_integer_hyperparameters_name_the_argument(name, bad):
    call, lo = INTEGERS[name]
    with pytest.raises(TypeError if isinstance(bad, (bool, str)) else ValueError) as e: call(bad)
    assert f'{name.strip()} must be an integer >= {lo}' in str(e.value)
    if lo == 1:
        with pytest.raises(ValueError, match=f'{name.strip()} must be an integer >= 1.*, got 0'): call(0)


@pytest.mark.parametrize('call,message', [
    *[(lambda v=v: make_mixture(n=10, temperature=v), 'temperature must be a finite number > 0')
      for v in (0, -1, NAN, INF, '2')],
    *[(lambda v=v: make_mixture(n=10, label_rate=v), 'label_rate must be a share in [0, 1]') for v in (-0.1, 1.5, NAN)],
    (lambda: mixing_rates(dict(a=1, b=NAN)), "sizes['b'] must be a finite number >= 0"),
    (lambda: make_mixture(n=10, split='train'), "split must be 'seen', 'unseen' or 'all'"),
])
def test_bad_real_hyperparameters_name_the_argument(call, message):
    with pytest.raises((TypeError, ValueError)) as e: call()
    assert message in str(e.value)


def test_cap_none_means_no_cap():
    assert mixing_rates(dict(a=10, b=1000), cap=None) == mixing_rates(dict(a=10, b=1000), cap=10**9)
    with pytest.raises(ValueError, match=r'cap must be an integer >= 1 \(None: no cap\), got 0'):
        mixing_rates(dict(a=1), cap=0)


def _subs(v): return dict(a=(['parity'], 1), b=(['plural'], v))

@pytest.mark.parametrize('call,message', [
    *[(lambda v=v: make_mixture(n=10, rates=dict(parity=1, plural=v)),
       f"rates['plural'] must be a finite number >= 0, got {v}")
      for v in (-1, NAN, INF)],
    (lambda: make_mixture(n=10, rates=dict(parity=0, plural=0)), 'rates must give some key a weight > 0'),
    (lambda: make_mixture(n=10, rates=[('parity', 1)]), 'rates must be a dict name -> weight'),
    (lambda: allocate(10, dict(a=NAN)), "rates['a'] must be a finite number >= 0"),
    *[(lambda v=v: make_mixture(n=10, variants=dict(zero_shot=1, few_shot=v)),
       "variants['few_shot'] must be a finite number >= 0") for v in (-0.5, NAN, INF, 'x')],
    (lambda: make_mixture(n=10, variants=dict(zero_shot=0, few_shot=0)), 'variants must give some key a weight > 0'),
    (lambda: make_mixture(n=10, variants=[]), 'variants must give some key a weight > 0'),
    (lambda: _variant_weights(TASKS['addition'], dict(zero_shot=NAN)), "variants['zero_shot'] must be a finite number"),
    *[(lambda v=v: make_mixture(n=10, submixtures=_subs(v)), "submixture weights['b'] must be a finite number >= 0")
      for v in (-1, NAN, INF)],
    (lambda: submixture_rates(dict(a=(['x'], 0)), dict(x=5)), 'submixture weights must give some key a weight > 0'),
    (lambda: make_mixture(n=10, submixtures=dict(a=['parity'])), "submixture 'a' must be a pair (task names, weight)"),
    (lambda: make_mixture(n=10, submixtures=dict(a=([], 1))), "submixture 'a' has no tasks"),
    (lambda: make_mixture(n=10, rates=dict(parity=1), submixtures=_subs(1)), 'pass rates or submixtures, not both'),
])
def test_bad_weights_name_the_key(call, message):
    with pytest.raises((TypeError, ValueError)) as e: call()
    assert message in str(e.value)


@pytest.mark.parametrize('call,message', [
    (lambda: make_mixture(tasks=['first_leter']), "unknown task 'first_leter' (did you mean 'first_letter'"),
    (lambda: make_mixture(variants=['few_shots']), "unknown variants ['few_shots'] (did you mean 'few_shot'"),
    (lambda: _variant_weights(TASKS['addition'], dict(zeroshot=1)),
     "unknown variants ['zeroshot'] (did you mean 'zero_shot'"),
    (lambda: make_mixture(heldout_clusters=['arithmetc']), "unknown clusters ['arithmetc'] (did you mean 'arithmetic'"),
    (lambda: make_mixture(tasks=['parity', 'plural'], rates=dict(parit=1)),
     "rates name tasks not in the mixture: ['parit'] (did you mean 'parity'"),
    (lambda: make_mixture(submixtures=dict(strings=(['reverse_word', 'revers_word'], 1))),
     "submixture 'strings': task 'revers_word' is not in the mixture (did you mean 'reverse_word'"),
    (lambda: make_mixture(tasks=['parity'], submixtures=dict(s=(['parity', 'plural'], 1))),
     "submixture 's': task 'plural' is not in the mixture"),
    (lambda: submixture_rates(dict(s=(['a', 'c'], 1)), dict(a=1, b=2)),
     "submixture 's': task 'c' is not in the mixture"),
])
def test_unknown_names_are_errors_that_suggest_close_names(call, message):
    with pytest.raises((KeyError, ValueError)) as e: call()
    assert message in str(e.value)


def test_held_out_tasks_leave_their_submixtures():
    subs = dict(strings=(by_cluster()['string'], 3), nli=(by_cluster()['nli'], 1))
    m = make_mixture(n=400, submixtures=subs, heldout_clusters=['nli'], variants=['zero_shot'])
    assert set(m['cluster']) == {'string'} and len(m) == 400   # nli left the mixture; weights are relative
    with pytest.raises(ValueError, match='no tasks left'):
        make_mixture(n=10, tasks=['parity'], heldout_clusters=['arithmetic'], submixtures=dict(s=(['parity'], 1)))


@pytest.mark.parametrize('call,message', [
    (lambda: make_mixture(tasks='addition'), "tasks must be a list of names, got the string 'addition'"),
    (lambda: make_mixture(variants='few_shot'), "variants must be a list of names, got the string 'few_shot'"),
    (lambda: make_mixture(heldout_clusters='nli'), "heldout_clusters must be a list of names, got the string 'nli'"),
    (lambda: split_clusters('nli'), "heldout_clusters must be a list of names, got the string 'nli'"),
    (lambda: make_mixture(submixtures=dict(s=('addition', 1))),
     "submixture 's': task names must be a list of names, got the string 'addition'"),
    (lambda: dedup(Dataset.from_dict(dict(input=['a'], output=['b'])), against='abc'),
     'against must be a list of inputs or a Dataset'),
])
def test_a_string_for_a_list_of_names_is_an_error(call, message):
    with pytest.raises(TypeError) as e: call()
    assert message in str(e.value)
