"""Held-out task accuracy (`instruct_nb.evaluate`): normalisation, batched generation and rank classification against
one-at-a-time references, the causal tokenisation boundary, few-shot prompts, aggregation, FLAN mixtures, bad input."""
import math, re, string
import numpy as np
import pytest, torch
from hypothesis import given, settings, strategies as st
from datasets import Dataset
from instruct_nb.core import byte_tokenizer, tiny_causal_lm, tiny_t5
from instruct_nb.evaluate import (check_records, normalize_answer, exact_match, generate, split_continuation,
                                  score_options, rank_classify, few_shot, evaluate_tasks, summarize, get_fmt)

torch.set_num_threads(1)
TOK, T5TOK = byte_tokenizer(), byte_tokenizer(n_sentinels=100)
LM, T5 = tiny_causal_lm(TOK, seed=1).eval(), tiny_t5(T5TOK, seed=1).eval()

def squad(s):  # the official SQuAD v1.1 normalize_answer, verbatim in structure
    def remove_articles(text): return re.sub(r'\b(a|an|the)\b', ' ', text)
    def white_space_fix(text): return ' '.join(text.split())
    def remove_punc(text): return ''.join(ch for ch in text if ch not in set(string.punctuation))
    return white_space_fix(remove_articles(remove_punc(s.lower())))

@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_answer_matches_squad_and_is_idempotent(s):
    assert normalize_answer(s) == squad(s)
    assert normalize_answer(normalize_answer(s)) == normalize_answer(s)
    assert exact_match(s, s)

def row(i, task='t', cluster='c', options=('yes', 'no'), output=None):
    opts = list(options)
    return dict(input=f'Example {i}: is {i} even?', output=output or (opts[i % 2] if opts else str(i)), task=task, cluster=cluster,
                template_id=0, variant='options' if opts else 'zero_shot', options=opts)

def naive(model, tok, prompt, option):
    "Sum of log p(option | prompt), one sequence at a time, from the model's loss (byte tokenizer: no boundary issues)."
    with torch.no_grad():
        if model.config.is_encoder_decoder:
            y = torch.tensor([list(option.encode()) + [tok.eos_token_id]])
            return -model(input_ids=torch.tensor([list(prompt.encode())]), labels=y).loss.item() * y.shape[1]
        x = torch.tensor([[tok.bos_token_id] + list((prompt + option).encode())])
        y = x.clone(); y[0, :1 + len(prompt.encode())] = -100
        return -model(input_ids=x, labels=y).loss.item() * len(option.encode())

@pytest.mark.parametrize('model,tok', [(LM, TOK), (T5, T5TOK)], ids=['causal', 't5'])
@pytest.mark.parametrize('bs', [1, 3, 64])
def test_score_options_matches_naive_loop_at_any_batch_size(model, tok, bs):
    prompts = ['Q: colour of the sky?\nA:', 'x', 'A long prompt ' * 5 + '?']
    options = [['blue', 'green', 'no idea at all'], ['y', 'yy'], ['é', '{braces}', 'a']]
    got = score_options(model, tok, prompts, options, bs=bs)
    for g, p, os_ in zip(got, prompts, options):
        ref = [naive(model, tok, p, o) for o in os_]
        np.testing.assert_allclose(g[:, 0], ref, rtol=1e-4, atol=1e-4)
        assert g[:, 1].tolist() == [len(o.encode()) + model.config.is_encoder_decoder for o in os_]
    assert rank_classify(got) == [int(np.argmax([naive(model, tok, p, o) for o in os_])) for p, os_ in zip(prompts, options)]

@pytest.mark.parametrize('model,tok', [(LM, TOK), (T5, T5TOK)], ids=['causal', 't5'])
def test_batched_generation_equals_one_at_a_time(model, tok):
    prompts = ['a', 'Hello there, how are you doing today?', '12345'] + ([] if model.config.is_encoder_decoder else [''])
    got = generate(model, tok, prompts, max_new_tokens=6, bs=4)
    assert got == [generate(model, tok, [p], max_new_tokens=6)[0] for p in prompts]
    if model.config.is_encoder_decoder:                              # an empty encoder input is an error, not a crash
        with pytest.raises(ValueError, match='prompt 1 encodes to no tokens'): generate(model, tok, ['a', ''])

def test_stop_strings_cut_the_output():
    full = generate(LM, TOK, ['Hello'], max_new_tokens=8)[0]
    c = full[3]
    assert generate(LM, TOK, ['Hello'], max_new_tokens=8, stop=[c])[0] == full.split(c)[0]

def test_prefix_starts_seq2seq_outputs():
    "An output forced to start with `prefix` is what HF's `generate` writes after it, batched or not; causal LMs refuse it."
    from instruct_nb.evaluate import encode_text
    s0, prompts = T5TOK.convert_tokens_to_ids('<extra_id_0>'), ['a', 'Hello there, how are you doing today?']
    got = generate(T5, T5TOK, prompts, max_new_tokens=5, bs=2, prefix=[s0])
    assert got == [generate(T5, T5TOK, [p], max_new_tokens=5, prefix=[s0])[0] for p in prompts]
    for p, g in zip(prompts, got):
        ref = T5.generate(input_ids=torch.tensor([encode_text(T5TOK, p, add_special_tokens=True)]), max_new_tokens=5,
                          decoder_input_ids=torch.tensor([[T5.config.decoder_start_token_id, s0]]), do_sample=False,
                          pad_token_id=T5TOK.pad_token_id, eos_token_id=T5TOK.eos_token_id)
        assert g == T5TOK.decode(ref[0, 2:], skip_special_tokens=True)
    with pytest.raises(ValueError, match='prefix is for seq2seq models'): generate(LM, TOK, ['a'], prefix=[s0])

def _bpe(texts, vocab=300):
    from tokenizers import Tokenizer, models, trainers, pre_tokenizers, decoders
    from transformers import PreTrainedTokenizerFast
    t = Tokenizer(models.BPE()); t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False); t.decoder = decoders.ByteLevel()
    t.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=t)

def test_split_continuation_with_bpe():
    bpe = _bpe(['Answer: yes', 'Answer: no', 'ab ab ab'] * 50)
    ctx, cont = split_continuation(bpe, 'Answer: ', 'yes')         # trailing space joins the option: " yes" is one token
    assert bpe.decode(cont) == ' yes' and len(cont) == 1 and ctx + cont == bpe('Answer: yes')['input_ids']
    assert len(bpe('ab')['input_ids']) == 1                          # "ab" is one token, so it merges across the boundary
    ctx, cont = split_continuation(bpe, 'a', 'b')                   # then the option is encoded on its own
    assert ctx == bpe('a')['input_ids'] and cont == bpe('b')['input_ids']

def test_check_records_errors_name_record_and_field():
    good = [row(0), row(1)]
    with pytest.raises(TypeError, match=r"record 1 \(t\): field 'output' must be a string"):
        check_records([good[0], {**good[1], 'output': float('nan')}])
    with pytest.raises(KeyError, match="record 0: missing field 'input'"):
        check_records([{k: v for k, v in good[0].items() if k != 'input'}])
    with pytest.raises(ValueError, match='empty'): check_records([])
    with pytest.raises(ValueError, match=r"prompt 0 has \d+ tokens"):
        generate(LM, TOK, ['x' * 520], max_new_tokens=1)
    with pytest.raises(ValueError, match='prompt 0 with option 0 has'):
        score_options(LM, TOK, ['x' * 600], [['a']])

def test_few_shot_uses_same_task_never_the_query_and_is_seeded():
    recs = check_records([row(i, task='t%d' % (i % 2)) for i in range(10)])
    ps = few_shot(recs, 3, fmt=lambda x: f'{x}\n', seed=0)
    for r, p in zip(recs, ps):
        shots = p.split('\n\n')[:-1]
        assert len(shots) == 3 and all(r['input'] not in s for s in shots)
        assert all(int(s.split(':')[0].split()[-1]) % 2 == int(r['task'][1]) for s in shots)  # same task
        assert p.endswith(r['input'] + '\n')
    assert ps == few_shot(recs, 3, fmt=lambda x: f'{x}\n', seed=0) and ps != few_shot(recs, 3, fmt=lambda x: f'{x}\n', seed=1)

def test_evaluate_tasks_on_a_dataset_per_task_and_cluster():
    rows = [row(i, task=f't{i % 3}', cluster='a' if i % 3 < 2 else 'b') for i in range(12)] + \
           [row(i, task='gen', cluster='b', options=()) for i in range(4)]
    ds = Dataset.from_list(rows)
    res = evaluate_tasks(LM, TOK, ds, fmt=lambda x: x + '\nAnswer: ', max_new_tokens=4)
    assert len(res) == 16 and (res.method == 'rank').sum() == 12
    s = summarize(res)
    tasks = res.groupby('task').correct.mean()
    assert math.isclose(s['clusters'].set_index('cluster').accuracy['a'], (tasks['t0'] + tasks['t1']) / 2)
    assert math.isclose(s['accuracy'], s['clusters'].accuracy.mean()) and math.isclose(s['micro'], res.correct.mean())
    # rank predictions are exactly the argmax of score_options on the same prompts
    recs = [r for r in rows if r['options']]
    sc = score_options(LM, TOK, [r['input'] + '\nAnswer: ' for r in recs], [r['options'] for r in recs])
    assert res[res.method == 'rank'].prediction.tolist() == [r['options'][j] for r, j in zip(recs, rank_classify(sc))]

def test_evaluate_tasks_t5_and_mean_norm():
    rows = [row(i, options=('yes', 'no', 'maybe not')) for i in range(6)]
    a = evaluate_tasks(T5, T5TOK, rows, method='rank', norm='mean')
    sc = score_options(T5, T5TOK, [r['input'] for r in rows], [r['options'] for r in rows])
    assert a.prediction.tolist() == [r['options'][j] for r, j in zip(rows, rank_classify(sc, 'mean'))]

def test_flan_mixture_all_variants():
    flan = pytest.importorskip('instruct_nb.flan')
    ds = flan.make_mixture(tasks=['event_nli', 'word_sentiment', 'first_letter'], n=60, seed=0, options_style='random', label_rate=1.0, max_len=300)
    res = evaluate_tasks(LM, TOK, ds, fmt=lambda x: x + '\n', max_new_tokens=4, k=0)
    recs = ds.to_list()
    assert len(res) == len(recs)
    for r, m in zip(recs, res.method):                               # ranked iff the answer is one of the options
        assert (m == 'rank') == (r['output'] in r['options'])
    assert set(res.cluster) == set(ds['cluster'])

def test_named_chat_format_plugs_in():
    pytest.importorskip('instruct_nb.templates')
    p = get_fmt('chatml')('Is 2 even?')
    assert p.startswith('<|im_start|>user\nIs 2 even?') and p.endswith('<|im_start|>assistant\n')
    res = evaluate_tasks(LM, TOK, [row(0), row(1, options=())], fmt='chatml', max_new_tokens=3)
    assert len(res) == 2

def test_normalizer_and_extract_hooks():
    rows = [row(0, options=(), output='The Answer.')]
    ans = generate(LM, TOK, [rows[0]['input']], max_new_tokens=3)[0]
    assert evaluate_tasks(LM, TOK, rows, max_new_tokens=3, normalizer=None).correct[0] == (ans == 'The Answer.')
    assert evaluate_tasks(LM, TOK, rows, max_new_tokens=3, normalizer=lambda s: 'x').correct[0]      # maps all together
    seen = []
    res = evaluate_tasks(LM, TOK, rows, max_new_tokens=3, extract=lambda s: seen.append(s) or 'answer')
    assert res.correct[0] and seen == [ans, 'The Answer.']               # applied to the prediction and the target

def test_chat_few_shot_is_multi_turn():
    pytest.importorskip('instruct_nb.templates')
    recs = check_records([row(i) for i in range(4)])
    p = few_shot(recs, 2, fmt='chatml')[0]
    assert p.count('<|im_start|>user') == 3 and p.count('<|im_start|>assistant') == 3 and p.endswith('<|im_start|>assistant\n')
