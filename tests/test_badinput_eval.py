"""Bad input to evaluation, judging, IFEval, FLAN mixtures and chat templates: every error names the argument or record,
with TypeError for a wrong type and ValueError for a bad value; nothing is accepted silently. One test per class of input."""
import math
import numpy as np
import pandas as pd
import pytest, torch
from instruct_nb.core import byte_tokenizer, tiny_causal_lm, tiny_t5
from instruct_nb import evaluate as E, judge as J, ifeval as I, flan as F, templates as T

torch.set_num_threads(1)
TOK, T5TOK = byte_tokenizer(), byte_tokenizer(n_sentinels=100)
LM, T5 = tiny_causal_lm(TOK, seed=1).eval(), tiny_t5(T5TOK, seed=1).eval()
UA = [{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'yo'}]
RES = [dict(instruction_id_list=['a:x', 'b:y'], follow_instruction_list=[True, False])]
NAN = float('nan')

def small_mixture_parts():
    "A two-row mixture's `ts`, `counts` and example pools, for `build_mixture`."
    ts, counts = F.mixture_counts([next(iter(F.TASKS))], n=2)
    return ts, counts, F.pools([ts[t] for t in counts], [min(counts[t], F.task_size(ts[t])) for t in counts])

def check(err, call, *names):
    with pytest.raises(err) as e: call()
    for name in names: assert name in str(e.value), (name, str(e.value))

@pytest.mark.parametrize('call,names', [
    (lambda: E.normalize_answer(None), ['normalize_answer', 'NoneType']),
    (lambda: E.normalize_answer(5), ['normalize_answer', 'int']),
    (lambda: E.normalize_answer(b'ab'), ['normalize_answer', 'bytes']),
    (lambda: E.exact_match(['a'], 'a'), ['pred', 'list']),
    (lambda: E.exact_match('a', None), ['target', 'NoneType']),
    (lambda: T.parse(None, 'chatml'), ['parse', 'text']),
    (lambda: T.parse(5, 'chatml'), ['parse', 'text']),
    (lambda: T.parse(b'<|im_start|>', 'chatml'), ['parse', 'bytes']),
    (lambda: I.check('punctuation:no_comma', None), ['response', 'NoneType']),
    (lambda: I.check('punctuation:no_comma', b'hi'), ['response', 'bytes']),
    (lambda: I.count_words(None), ['count_words', 'NoneType']),
    (lambda: I.detect_language(None), ['detect_language', 'NoneType']),
    (lambda: F.cot_answer(None), ['cot_answer', 'NoneType']),
    (lambda: T.render(UA, 'chatml', eos=None), ['eos', 'NoneType']),
    (lambda: T.render(UA, 'chatml', eos=5), ['eos', 'int']),
])
def test_a_non_string_for_a_string_is_a_type_error_naming_it(call, names): check(TypeError, call, *names)

@pytest.mark.parametrize('call,names', [
    (lambda: E.generate(T5, T5TOK, ['hi'], specials='<s>'), ['specials', "'<s>'"]),
    (lambda: E.score_options(LM, TOK, ['q'], [['a']], specials='<s>'), ['specials']),
    (lambda: E.rank_classify('ab'), ['scores']),
    (lambda: I.scores('abc'), ['scores', 'str']),
    (lambda: I.breakdown('abc'), ['breakdown', 'str']),
    (lambda: F.options_block('abc'), ['options', "'abc'"]),
    (lambda: F.options_block(None), ['options', 'None']),
    (lambda: E.generate(T5, T5TOK, ['hi'], prefix='ab'), ['prefix', "'ab'"]),
])
def test_a_string_for_a_list_is_a_type_error_naming_it(call, names): check(TypeError, call, *names)

@pytest.mark.parametrize('call,names', [
    (lambda: E.score_options(LM, TOK, ['q'], [['a']], eos='yes'), ['eos', "'yes'"]),
    (lambda: E.score_options(LM, TOK, ['q'], [['a']], add_bos='no'), ['add_bos', "'no'"]),
    (lambda: E.generate(LM, TOK, ['q'], add_bos='no'), ['add_bos', "'no'"]),
    (lambda: F.make_mixture(n=2, dedupe='yes'), ['dedupe', "'yes'"]),
])
def test_a_truthy_non_bool_flag_is_refused(call, names): check(TypeError, call, *names)

@pytest.mark.parametrize('err,call,names', [
    (ValueError, lambda: E.generate(T5, T5TOK, ['hi'], prefix=[10 ** 9]), ['prefix', '1000000000', 'vocabulary']),
    (ValueError, lambda: E.generate(T5, T5TOK, ['hi'], prefix=[-1]), ['prefix[0]', '-1']),
    (TypeError, lambda: E.generate(T5, T5TOK, ['hi'], prefix=[1.5]), ['prefix[0]', '1.5']),
    (TypeError, lambda: T.tokenize_chat(UA, TOK, 'chatml', max_len='10'), ['max_len', "'10'"]),
    (TypeError, lambda: T.tokenize_chat(UA, TOK, 'chatml', max_len=NAN), ['max_len', 'nan']),
    (ValueError, lambda: T.tokenize_chat(UA, TOK, 'chatml', max_len=0), ['max_len', '0']),
    (TypeError, lambda: T.collate_chats([T.tokenize_chat(UA, TOK, 'chatml')], None), ['pad_id', 'None']),
    (ValueError, lambda: J.win_rate(['win', 'loss'], seed=-1), ['seed', '-1']),
    (ValueError, lambda: J.instruction_difficulty(pd.DataFrame(dict(model=['m', 'm'], instruction=['a', 'b'],
                                                                    preference=[1.0, 0.0])), l2=-1), ['l2', '-1']),
    (ValueError, lambda: I.check('length_constraints:number_words', 'hi', num_words=-5, relation='less than'),
     ['num_words', '-5']),
    (ValueError, lambda: I.check('detectable_content:number_placeholders', 'hi', num_placeholders=-1),
     ['num_placeholders', '-1']),
    (ValueError, lambda: F.build_mixture(*small_mixture_parts()[:1], {next(iter(F.TASKS)): -5}, small_mixture_parts()[2]),
     ['counts', '-5']),
    (ValueError, lambda: F.build_mixture(*small_mixture_parts()[:1], {next(iter(F.TASKS)): 2.5}, small_mixture_parts()[2]),
     ['counts', '2.5']),
])
def test_a_bad_count_or_number_names_the_argument(err, call, names): check(err, call, *names)

@pytest.mark.parametrize('call,names', [
    (lambda: J.lc_win_rate([1, 0, 1], [1, 2, 3], [1, 2]), ['len_base', '3 preferences']),
    (lambda: J.lc_win_rate([1, 0, 1], [1, 2, 3, 4], [1, 2, 3]), ['len_model']),
    (lambda: J.lc_win_rate([1, 0, 1], [1, 2, 3], [1, 2, 3], difficulty=[1, 2]), ['difficulty', '2 values']),
    (lambda: F.pools([F.TASKS[next(iter(F.TASKS))]], [1, 2]), ['pools', '1 tasks but 2']),
    (lambda: I.breakdown([dict(instruction_id_list=['a:x', 'b:y'], follow_instruction_list=[True])]),
     ['result 0', '2 instruction ids but 1 verdicts']),
    (lambda: F.build_mixture(*small_mixture_parts()[:2], []), ['exs', '0 example pools']),
    (lambda: F.fill_columns('{x}', {'x': ['a', 'b']}, 5), ["column 'x'", '2 rows', 'n is 5']),
])
def test_misaligned_lengths_are_a_value_error_naming_both(call, names): check(ValueError, call, *names)

@pytest.mark.parametrize('call,names', [
    (lambda: J.lc_win_rate([1, 0, 1], [1, NAN, 3], [1, 2, 3]), ['len_model[1]', 'nan']),
    (lambda: J.lc_win_rate([1, 0, 1], [1, 2, 3], [1, 2, math.inf]), ['len_base[2]', 'inf']),
    (lambda: J.lc_win_rate([1, 0, 1], [1, 2, 3], [1, 2, 3], difficulty=[1, NAN, 2]), ['difficulty[1]', 'nan']),
    (lambda: J.instruction_difficulty(pd.DataFrame(dict(model=['m', 'm'], instruction=['a', 'b'], preference=[1, NAN]))),
     ['row 1', 'preference']),
])
def test_nan_or_infinite_data_is_a_value_error_naming_the_entry(call, names): check(ValueError, call, *names)

@pytest.mark.parametrize('call,names', [
    (lambda: E.score_options(LM, TOK, ['q'], [[]]), ['options[0]', 'empty']),
    (lambda: E.rank_classify([np.zeros((0, 2))]), ['scores[0]', '(0, 2)']),
    (lambda: E.rank_classify([np.zeros(3)]), ['scores[0]', '(3,)']),
    (lambda: I.scores([{'follow_instruction_list': []}]), ['scores', 'no instructions']),
    (lambda: I.scores([]), ['scores', 'no results']),
    (lambda: I.check('keywords:existence', 'hi', keywords=[]), ['keywords', 'empty']),
    (lambda: I.detect_language(''), ['detect_language', "''"]),
])
def test_empty_input_is_a_value_error_not_a_silent_result(call, names): check(ValueError, call, *names)

def test_an_empty_response_is_in_no_language():
    assert I.check('language:response_language', '', language='en') is False
    assert I._language_is('  ', 'en') is False

@pytest.mark.parametrize('err,call,names', [
    (ValueError, lambda: I.breakdown(RES, by='bogus'), ['by', "'bogus'"]),
    (ValueError, lambda: I.check('language:response_language', 'hi', language='klingon'), ['language', "'klingon'"]),
    (TypeError, lambda: T.render(UA, ['chatml']), ['fmt', "['chatml']"]),
    (TypeError, lambda: E.exact_match('a', 'a', norm='lower'), ['norm', "'lower'"]),
])
def test_an_unknown_choice_names_the_argument(err, call, names): check(err, call, *names)

@pytest.mark.parametrize('err,call,names', [
    (TypeError, lambda: E.generate(None, TOK, ['hi']), ['model', 'NoneType']),
    (TypeError, lambda: E.generate(LM, None, ['hi']), ['tok', 'NoneType']),
    (TypeError, lambda: E.score_options(None, TOK, ['q'], [['a']]), ['model', 'NoneType']),
    (TypeError, lambda: E.score_options(LM, TOK, ['q'], None), ['options', 'NoneType']),
    (TypeError, lambda: E.summarize([1, 2]), ['summarize', 'list']),
    (KeyError, lambda: E.summarize(pd.DataFrame(dict(task=['t'], correct=[True]))), ['summarize', 'cluster']),
    (TypeError, lambda: J.lc_win_rate(['1', '0', '1'], [1, 2, 3], [1, 2, 3]), ['preference[0]', "'1'"]),
    (TypeError, lambda: I.scores([RES[0], None]), ['scores', 'result 1']),
    (TypeError, lambda: I.scores([dict(follow_instruction_list='yes')]), ['result 0', 'follow_instruction_list']),
    (TypeError, lambda: F.mixing_rates(['a', 'b']), ['sizes', 'list']),
    (TypeError, lambda: F.dedup([{'input': 'a'}]), ['dedup', 'ds', 'list']),
    (TypeError, lambda: T.collate_chats([None], 0), ['example 0']),
    (ValueError, lambda: T.collate_chats([{'input_ids': [1], 'labels': [1]}, {'input_ids': [1, 2]}], 0),
     ['example 1 has no labels']),
])
def test_a_wrong_object_or_record_is_named(err, call, names): check(err, call, *names)

def test_plain_lists_fill_like_arrow_columns():
    "Plain Python lists are columns too: filled row-wise, not left as the literal template."
    assert F.fill_columns('<{x}>', {'x': ['a', 'b']}, 2).to_pylist() == ['<a>', '<b>']

def test_good_input_still_works():
    assert E.exact_match('The cat.', 'cat') and not E.exact_match('a', 'A', norm=None)
    assert E.rank_classify([np.array([[-1.0, 1], [-2.0, 1]])]) == [0]
    assert E.generate(T5, T5TOK, ['hi'], max_new_tokens=2, prefix=[T5TOK.convert_tokens_to_ids('<extra_id_0>')])
    assert len(E.score_options(LM, TOK, ['q'], [['a', 'b']], eos=False, add_bos=True)[0]) == 2
    assert I.scores(RES) == dict(prompt_level=0.0, instruction_level=0.5)
    assert I.breakdown(RES, by='group')['a'] == dict(n=1, followed=1, accuracy=1.0)
    assert T.collate_chats([{'input_ids': [1]}, {'input_ids': [1, 2]}], 0)['input_ids'].shape == (2, 2)
    assert len(T.tokenize_chat(UA, TOK, 'chatml', max_len=None)['input_ids']) > 0
    r = J.lc_win_rate([1, 0, 1, 0.5], [1, 2, 3, 4], [2, 2, 2, 2], difficulty=[0.1, -0.1, 0.0, 0.2], l2=0.1)
    assert 0 <= r['lc_win_rate'] <= 1


def test_none_for_a_list_and_turns_out_of_range():
    "None where a list of questions or records is expected, and a turn count the questions do not have."
    from instruct_nb.judge import compare, mt_bench_answers
    from instruct_nb.ifeval import evaluate as ifeval_evaluate
    with pytest.raises(TypeError, match='questions must be a list'): compare(lambda q, a, b: '[[A]]', None, ['a'], ['b'])
    with pytest.raises(TypeError, match='expected a list of records'): ifeval_evaluate(None)
    qs = [dict(question_id=1, category='writing', turns=['a', 'b'])]
    echo = lambda convs: ['x'] * len(convs)
    for bad in (0, 3, float('nan'), True, '2'):
        with pytest.raises(ValueError, match='mt_bench_answers: n_turns='): mt_bench_answers(echo, qs, n_turns=bad)
    assert mt_bench_answers(echo, qs, n_turns=1)[0]['turns'] == ['x']


def test_tokenize_flags_must_be_bools():
    "`add_bos='yes'` or `check=0` would be taken as truthy or falsy settings: refused by name."
    tok, ua = byte_tokenizer(), [dict(role='user', content='hi'), dict(role='assistant', content='yo')]
    for kw in (dict(add_bos='yes'), dict(add_bos=None), dict(check=0)):
        with pytest.raises(TypeError, match=f'{next(iter(kw))}='): T.tokenize_chat(ua, tok, 'chatml', **kw)


def test_judged_answers_must_be_text_and_rating_range_ordered():
    "None for an answer would be judged as if it were text; lo > hi makes every rating None."
    jd = lambda q, a, b: '[[A]]'
    with pytest.raises(TypeError, match=r'answers_a\[0\] = None'): J.compare(jd, ['q'], [None], ['b'])
    with pytest.raises(TypeError, match=r'answers_b\[1\] = 3'): J.compare(jd, ['q', 'r'], ['a', 'b'], ['b', 3])
    assert len(J.compare(jd, [['q1', 'q2']], [['a1', 'a2']], [['b1', 'b2']])) == 1     # multi-turn answers
    with pytest.raises(ValueError, match='lo <= hi'): J.parse_rating('[[5]]', lo=10, hi=1)


def test_ifeval_record_without_instructions():
    "A record with no instructions would count as followed (vacuously): refused, naming the record."
    rec = dict(key=7, prompt='p', response='hello world', instruction_id_list=[], kwargs=[])
    with pytest.raises(ValueError, match="record 7: field 'instruction_id_list' is empty"): I.evaluate([rec])
