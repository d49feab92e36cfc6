"""Judges and win rates (`instruct_nb.judge`): verdict parsing on messy judge text, position swap, bootstrap interval,
length-controlled win rate against an independent fit and a hand computation, reward-model and LLM judges, MT-Bench."""
import json, math
import numpy as np
import pandas as pd
import pytest, torch
from hypothesis import given, settings, strategies as st
from instruct_nb.core import byte_tokenizer, tiny_causal_lm, tiny_reward_model, shared_data
from instruct_nb.judge import (parse_pairwise, parse_rating, to_verdict, judge_pair, compare, win_rate, lc_win_rate,
                               instruction_difficulty, chatml, get_chat_fmt, score_judge, reward_scorer, qa_messages,
                               load_judge_prompts, judge_prompt, llm_pairwise, llm_rating, load_mt_bench, chat_model,
                               mt_bench_answers, grade_single, grade_pairwise, plot_categories)

torch.set_num_threads(1)
MT = shared_data('mt_bench', must_exist=False)
need_data = pytest.mark.skipif(not (MT / 'question.jsonl').exists(),
                               reason=f'MT-Bench reference data not found at {MT} (set INSTRUCT_NB_DATA or add ../shared/data)')

MESSY_PAIR = [
    ('Assistant A is more helpful.\n\nFinal verdict: [[A]]', 'A'),
    ('Following the format "[[A]]" if A is better, "[[B]]" if B is better, "[[C]]" for a tie, my verdict is [[B]]', 'B'),
    ('[[C]]', 'tie'), ('Verdict: [[ b ]].', 'B'), ('**Final Verdict: [[A]]**', 'A'), ('It is a tie: [[Tie]]', 'tie'),
    ('My final verdict is [B].', 'B'), ('[[A]]\n\nWait, I reconsider: B handles the edge case. [[B]]', 'B'),
    ('Both answers are fine.', None), ('[[E]]', None), ('[[AB]]', None), ('', None),
]
MESSY_RATING = [
    ('The answer is accurate. Rating: [[8]]', 8.0), ('Rating: [[7.5]]', 7.5), ('Rating: [[ 10 ]]', 10.0),
    ('You must rate ... for example: "Rating: [[5]]".\nMy evaluation... Rating: [[3]]', 3.0), ('Rating: [[6/10]]', 6.0),
    ('Rating: [9]', 9.0), ('Rating: 4', 4.0), ('Rating: [[0]]', None), ('Rating: [[11]]', None), ('Rating: [[-3]]', None),
    ('excellent!', None),
]

@pytest.mark.parametrize('text,want', MESSY_PAIR)
def test_parse_pairwise_messy(text, want): assert parse_pairwise(text) == want

@pytest.mark.parametrize('text,want', MESSY_RATING)
def test_parse_rating_messy(text, want): assert parse_rating(text) == want

@settings(max_examples=200, deadline=None)
@given(st.text(), st.sampled_from(['A', 'B', 'C']))
def test_the_final_verdict_wins_whatever_precedes_it(prefix, v):
    assert parse_pairwise(f'{prefix}\nFinal verdict: [[{v}]]') == ('tie' if v == 'C' else v)

@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(1, 10))
def test_the_final_rating_wins(prefix, r):
    assert parse_rating(f'{prefix}\nRating: [[{r}]]') == r

@pytest.mark.parametrize('g1,g2,out', [('A', 'B', 'win'), ('B', 'A', 'loss'), ('A', 'A', 'tie'), ('B', 'B', 'tie'),
                                       ('tie', 'tie', 'tie'), ('A', 'tie', 'tie'), ('A', 'nonsense', 'error')])
def test_position_swap_table(g1, g2, out):
    calls = iter([g1, g2])
    assert judge_pair(lambda q, a, b: next(calls), 'q', 'a', 'b')['outcome'] == out

def test_swap_passes_answers_in_both_orders():
    seen = []
    judge_pair(lambda q, a, b: seen.append((a, b)) or 'A', 'q', 'first', 'second')
    assert seen == [('first', 'second'), ('second', 'first')]

def test_win_rate_counts_interval_and_seed():
    outs = ['win'] * 30 + ['tie'] * 10 + ['loss'] * 20 + ['error'] * 3
    wr = win_rate(outs)
    assert (wr['win'], wr['tie'], wr['loss'], wr['error'], wr['n']) == (30, 10, 20, 3, 60)
    assert math.isclose(wr['win_rate'], 35 / 60) and wr['lo'] < wr['win_rate'] < wr['hi']
    assert win_rate(outs, seed=3) == win_rate(outs, seed=3)
    assert win_rate(['win'] * 5)['lo'] == 1.0 and win_rate(['loss'] * 5)['hi'] == 0.0
    narrow, wide = win_rate(outs, ci=0.5), win_rate(outs, ci=0.99)
    assert wide['lo'] <= narrow['lo'] <= narrow['hi'] <= wide['hi']

def _fit_reference(p, X):
    "Maximise the Bernoulli quasi-log-likelihood with scipy, independently of statsmodels."
    from scipy.optimize import minimize
    def nll(w):
        z = X @ w
        return -(p * z - np.logaddexp(0, z)).sum()
    def grad(w): return -X.T @ (p - 1 / (1 + np.exp(-(X @ w))))
    return minimize(nll, np.zeros(X.shape[1]), jac=grad, method='BFGS', options=dict(gtol=1e-10)).x

def test_lc_win_rate_matches_an_independent_fit():
    rng = np.random.default_rng(0)
    n = 200
    lm, lb = rng.integers(50, 800, n), rng.integers(50, 800, n)
    gam = rng.normal(0, 1, n)
    d = lm - lb; t = np.tanh(d / d.std(ddof=1))
    p = (rng.random(n) < 1 / (1 + np.exp(-(0.2 + 1.5 * t - 0.7 * gam)))).astype(float)
    p[rng.random(n) < 0.1] = 0.5                                                  # some ties
    r = lc_win_rate(p, lm, lb, difficulty=gam)
    w = _fit_reference(p, np.stack([np.ones(n), t, gam], 1))
    np.testing.assert_allclose([r['theta'], r['phi'], r['psi']], w, atol=1e-5)
    lc = np.mean(1 / (1 + np.exp(-(w[0] + w[2] * gam))))
    assert math.isclose(r['lc_win_rate'], lc, abs_tol=1e-6) and math.isclose(r['win_rate'], p.mean())
    assert r['phi'] > 0.5                                                          # the planted length effect is found

def test_lc_hand_computation_two_groups():
    logit = lambda x: math.log(x / (1 - x))
    p = np.array([1, 1, 1, 0] * 3 + [1, 0, 0, 0] * 3, float)                       # 0.75 when longer, 0.25 when shorter
    lm = np.array([500] * 12 + [100] * 12); lb = np.full(24, 300)
    r = lc_win_rate(p, lm, lb)
    assert math.isclose(r['theta'], (logit(.75) + logit(.25)) / 2, abs_tol=1e-7)  # = 0: the length explains it all
    assert math.isclose(r['lc_win_rate'], 0.5, abs_tol=1e-7) and math.isclose(r['win_rate'], 0.5)

def test_lc_without_length_differences_is_the_raw_rate():
    p = [1, 0, 1, 1, 0.5, 0]
    r = lc_win_rate(p, [100] * 6, [80] * 6)                                       # constant difference: no length term
    assert math.isclose(r['lc_win_rate'], np.mean(p), abs_tol=1e-6)

def test_instruction_difficulty_recovers_planted_order():
    rng = np.random.default_rng(1)
    gam = np.linspace(-2, 2, 10)
    rows = [dict(model=m, instruction=i, preference=float(rng.random() < 1 / (1 + np.exp(-(th + gam[i])))))
            for m, th in [('a', -.5), ('b', 0), ('c', .5)] for _ in range(30) for i in range(10)]
    g = instruction_difficulty(pd.DataFrame(rows))
    assert np.corrcoef(g.sort_index().to_numpy(), gam)[0, 1] > 0.95

def test_chatml_matches_templates_on_any_content():
    render = pytest.importorskip('instruct_nb.templates').render
    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.text(alphabet=st.characters(blacklist_characters='<>|')), min_size=1, max_size=4), st.booleans())
    def check(turns, gp):
        msgs = [dict(role='user' if i % 2 == 0 else 'assistant', content=t) for i, t in enumerate(turns)]
        assert chatml(msgs, gp) == render(msgs, 'chatml', add_generation_prompt=gp)
    check()

def test_reward_model_judge_is_consistent_under_swap():
    tok = byte_tokenizer()
    score = reward_scorer(tiny_reward_model(tok, seed=3), tok)
    qs = ['2+2?', 'Name a colour.', 'Hi']
    A, B = ['4', 'blue', 'Hello!'], ['five', 'a chair', 'Go away']
    res = compare(score_judge(score), qs, A, B)
    assert set(res.outcome) <= {'win', 'loss'}                                     # never an inconsistent tie
    assert res.outcome.tolist() == ['win' if score(q, a) > score(q, b) else 'loss' for q, a, b in zip(qs, A, B)]
    with pytest.raises(ValueError, match='over the reward model length'): score('x' * 600, 'y')

def test_qa_messages_pairs_turns_and_answers():
    assert qa_messages('2+2?', '4') == [dict(role='user', content='2+2?'), dict(role='assistant', content='4')]
    assert qa_messages(['Hi', 'Bye']) == [dict(role='user', content='Hi'), dict(role='user', content='Bye')]
    with pytest.raises(ValueError, match='2 user turns but 1 answers'): qa_messages(['a', 'b'], ['x'])

def test_scorer_errors_become_judge_errors():
    assert compare(score_judge(lambda q, a: float('nan')), ['q'], ['a'], ['b']).outcome[0] == 'error'
    with pytest.raises(TypeError, match='must return a string verdict'): to_verdict(1)

@need_data
def test_every_judge_prompt_fills():
    prompts = load_judge_prompts()
    assert len(prompts) == 8
    for kind in ('pair', 'single'):
        for q, ref in [('Q {x}', None), ('Q', 'R'), (['Q1', 'Q2'], None), (['Q1', 'Q2'], ['R1', 'R2'])]:
            ans = [['a1', 'a2'] if isinstance(q, list) else 'a'] * (2 if kind == 'pair' else 1)
            system, user = judge_prompt(prompts, kind, q, ans, ref)
            assert system and '{' not in user.replace('{x}', '') and (ref is None or 'R' in user)

@need_data
def test_llm_judges_with_a_scripted_llm():
    prompts = load_judge_prompts()
    seen = []
    def llm(system, user):
        seen.append(user)
        return 'Explanation... [[B]]' if "Assistant A's" in user or 'Assistant A:' in user else 'Rating: [[6]]'
    j = llm_pairwise(llm, prompts)
    assert compare(j, ['q'], ['a'], ['b']).outcome[0] == 'tie'                     # always "B": position bias -> tie
    assert llm_rating(llm, prompts)('q', 'a') == 6.0
    assert j(['q1', 'q2'], ['a1', 'a2'], ['b1', 'b2'], ref=['r1', 'r2']) == 'B' and '### Reference answer:\nr2' in seen[-1]

@need_data
def test_mt_bench_pipeline_end_to_end():
    qs = load_mt_bench()
    assert len(qs) == 80 and len({q['category'] for q in qs}) == 8
    assert all('reference' in q for q in qs if q['category'] in ('math', 'reasoning', 'coding'))
    sub = qs[::10]
    seen = []
    def chat(convs):
        seen.append([len(c) for c in convs])
        return [f"reply to: {c[-1]['content'][:20]}" for c in convs]
    ans = mt_bench_answers(chat, sub)
    assert seen == [[1] * 8, [3] * 8] and all(len(a['turns']) == 2 for a in ans)
    got = []
    def scorer(q, a, ref=None):
        got.append((q, a, ref)); return float(len(a if isinstance(a, str) else a[-1]) % 10 + 1)
    g = grade_single(scorer, sub, ans)
    assert len(g) == 16 and g.score.between(1, 10).all()
    for (q, a, ref), (_, r) in zip(got, g.iterrows()):
        qq = next(x for x in sub if x['question_id'] == r.question_id)
        assert (ref is not None) == (qq['category'] in ('math', 'reasoning', 'coding'))
        assert isinstance(q, str) if r.turn == 1 else q == qq['turns']
    pw = grade_pairwise(lambda q, a, b: 'A' if len(str(a)) > len(str(b)) else 'B', sub, ans, [dict(a, turns=['x', 'y']) for a in ans])
    assert (pw.outcome == 'win').all()
    plot_categories({'m': g})

@need_data
def test_chat_model_generates_through_chatml():
    tok = byte_tokenizer(model_max_length=8192)
    from instruct_nb.core import ModelConfig
    lm = tiny_causal_lm(tok, ModelConfig(d_model=32, n_layers=1, n_heads=2, d_ff=64, max_len=4096))
    qs = [q for q in load_mt_bench() if len(''.join(q['turns'])) < 600][:3]
    ans = mt_bench_answers(chat_model(lm, tok, max_new_tokens=4), qs)
    assert [len(a['turns']) for a in ans] == [2, 2, 2] and all(isinstance(t, str) for a in ans for t in a['turns'])
