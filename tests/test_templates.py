"Heavier property runs and bad-input cases for `instruct_nb.templates` (the notebook runs the light versions)."
import os, random, re, time, warnings
os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
os.environ.setdefault('HF_DATASETS_OFFLINE', '1')

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from instruct_nb.core import byte_tokenizer, CHAT_TOKENS
from instruct_nb.templates import (FORMATS, Format, get_format, render, parse, check_messages, chat_template,
                                   tokenize_chat, tokenize_chats, stop_ids, to_messages, collate_chats, loss_html,
                                   _encode, _span)

NAMES = sorted(FORMATS)
ALL = list(HealthCheck)
# text made to collide with the formats: arbitrary Unicode plus the characters and fragments markers are made of
FRAGS = ['{x}', '{0}', '{{y}}', '\n', '\t', '\n\n', ' ', '###', 'USER', 'ASSISTANT', 'Human', 'Assistant', '<|im_end',
         '<|', '|>', '</s', 'Response', 'Input', ':', '<|eot_id', 'im_start|>']
TEXT = st.lists(st.one_of(st.text(max_size=6), st.sampled_from(FRAGS)), max_size=6).map(''.join)


@st.composite
def conversations(draw, fmt, text=TEXT, max_turns=5):
    f = get_format(fmt)
    msgs = [{'role': 'system', 'content': draw(text)}] if 'system' in f.prefix and draw(st.booleans()) else []
    for _ in range(draw(st.integers(1, max_turns))):
        m = {'role': draw(st.sampled_from(['user', 'assistant'])), 'content': draw(text)}
        if m['role'] == 'user' and f.input_sep and draw(st.booleans()): m['input'] = draw(text.filter(bool))
        msgs.append(m)
    return msgs


def _try_render(msgs, fmt, gen=False):
    "The rendered text, or None when `render` refuses the conversation (which must be for a control marker)."
    try: return render(msgs, fmt, gen)
    except ValueError as e:
        assert 'control marker' in str(e), e
        return None


# ---------------------------------------------------------------- formats are well formed
def _delimiters(f: Format):
    turns = ('user', 'assistant')
    ds = {f.suffix[r] + f.sep + f.prefix[t] for r in f.prefix for t in turns}
    if f.input_sep: ds.add(f.input_sep)
    return ds

@pytest.mark.parametrize('name', NAMES)
def test_format_well_formed(name):
    """Parsing takes the first occurrence of a delimiter as the boundary. That is right when every delimiter contains a
    control marker and no delimiter can start inside content and end inside the next one unless that content holds a marker."""
    f = get_format(name)
    ds = _delimiters(f)
    for d in ds: assert any(mk in d for mk in f.markers), (name, d)
    for d1 in ds:
        for d2 in ds | {f.suffix[r] for r in f.prefix}:
            for k in range(1, min(len(d1), len(d2) + 1)):
                if d1[-k:] == d2[:k]:  # d1 could straddle content and d2: its content part must hold a marker
                    assert any(mk in d1[:-k] for mk in f.markers), (name, d1, d2, k)
    pres = [f.prefix[r] for r in ('user', 'assistant')]
    assert not any(a != b and b.startswith(a) for a in pres for b in pres)


# ---------------------------------------------------------------- render / parse round trip
@pytest.mark.parametrize('name', NAMES)
@settings(max_examples=400, deadline=None, suppress_health_check=ALL)
@given(data=st.data())
def test_round_trip(name, data):
    msgs, gen = data.draw(conversations(name)), data.draw(st.booleans())
    text = _try_render(msgs, name, gen)
    if text is None: return
    assert parse(text, name, gen) == msgs


@pytest.mark.parametrize('name', NAMES)
@settings(max_examples=200, deadline=None, suppress_health_check=ALL)
@given(data=st.data())
def test_round_trip_plain_unicode(name, data):
    "Any Unicode at all (no marker fragments needed): render must accept or name a marker, and parse must invert it."
    msgs = data.draw(conversations(name, text=st.text(max_size=40)))
    text = _try_render(msgs, name)
    if text is not None: assert parse(text, name) == msgs


@pytest.mark.parametrize('name', NAMES)
@settings(max_examples=150, deadline=None, suppress_health_check=ALL)
@given(data=st.data())
def test_prompt_is_prefix_of_full_text(name, data):
    "The generation prompt after the prompt messages is a prefix of the text with the answer: what RLHF relies on."
    msgs = data.draw(conversations(name))
    if msgs[-1]['role'] != 'assistant' or all(m['role'] == 'system' for m in msgs[:-1]): return
    full, prompt = _try_render(msgs, name), _try_render(msgs[:-1], name, True)
    if full is None or prompt is None: return
    assert full.startswith(prompt)


def test_braces_literal():
    for name in NAMES:
        t = render([{'role': 'user', 'content': '{x} {0} {{y}} {'}, {'role': 'assistant', 'content': '}{'}], name)
        assert '{x} {0} {{y}} {' in t and '}{' in t


@pytest.mark.parametrize('name', NAMES)
def test_markers_rejected(name):
    f = get_format(name)
    for mk in f.markers:
        for role in ('user', 'assistant'):
            msgs = [{'role': 'user', 'content': 'q'}, {'role': role, 'content': f'a {mk} b'}]
            with pytest.raises(ValueError, match='control marker'): render(msgs, name)
            with pytest.raises(ValueError, match='control marker'): tokenize_chat(msgs + [{'role': 'assistant', 'content': 'x'}], byte_tokenizer(), name)
            render(msgs, name, check=False)  # written anyway when asked


@pytest.mark.parametrize('name', NAMES)
def test_system_prompt_handled_or_rejected(name):
    msgs = [{'role': 'system', 'content': 'S'}, {'role': 'user', 'content': 'U'}, {'role': 'assistant', 'content': 'A'}]
    if 'system' in get_format(name).prefix: assert parse(render(msgs, name), name) == msgs
    else:
        with pytest.raises(ValueError, match='has no system prompt'): render(msgs, name)


@pytest.mark.parametrize('bad, msg', [
    ([{'role': 'user'}], "field 'content' must be a string"),
    ([{'content': 'x'}], "field 'role' is None"),
    ([{'role': 'User', 'content': 'x'}], "field 'role' is 'User'"),
    ([{'role': 'user', 'content': 3}], 'got int'),
    ([{'role': 'user', 'content': float('nan')}], 'got float'),
    (['hello'], 'expected a dict'),
    ('hello', 'non-empty list'),
    ([], 'non-empty list'),
    ([{'role': 'system', 'content': 'S'}], 'no user or assistant message'),
    ([{'role': 'assistant', 'content': 'x', 'input': 'y'}], "'input' must be a string on a user message"),
    ([{'role': 'user', 'content': 'x', 'input': 'y'}],
     "message 0 (user): field 'input' cannot be written in format 'chatml'"),
    ([{'role': 'user', 'content': 'x', 'input': ''}], "field 'input' cannot be written in format 'chatml'"),
])
def test_bad_messages(bad, msg):
    with pytest.raises(ValueError, match=re.escape(msg)): render(bad, 'chatml')


# ---------------------------------------------------------------- the optional `input` field
INPUTS = st.one_of(st.just('absent'), st.none(), st.just(''), TEXT.filter(bool), st.integers(), st.just(['x']))

def _refusal(msgs, f):
    "The error `render` must raise for the `input` fields of `msgs` in `f` (the first bad one), or None."
    for i, m in enumerate(msgs):
        v = m.get('input')
        if v is None: continue
        if m['role'] != 'user' or not isinstance(v, str):
            return f"message {i} ({m['role']}): field 'input' must be a string"
        if not f.input_sep: return f"message {i} (user): field 'input' cannot be written in format {f.name!r}"
        if not v: return f"message {i} (user): field 'input' is empty"
    return None

@pytest.mark.parametrize('name', NAMES)
@settings(max_examples=300, deadline=None, suppress_health_check=ALL)
@given(data=st.data())
def test_input_round_trips_or_is_refused(name, data):
    """Every class of `input` value, on any message, in every format: absent or None (no input), text (written by
    `alpaca_stanford` and parsed back, refused by the rest), empty text, a non-string, on a non-user message. `render`
    either refuses it naming the message, the field and the format, also with check=False, or `parse` gives it back."""
    f = get_format(name)
    msgs = data.draw(conversations(name, max_turns=4))
    for m in msgs:
        v = data.draw(INPUTS)
        if v == 'absent': m.pop('input', None)
        else: m['input'] = v
    want, gen = _refusal(msgs, f), data.draw(st.booleans())
    if want:
        for check in (True, False):
            with pytest.raises(ValueError, match=re.escape(want)): render(msgs, name, gen, check=check)
        return
    text = _try_render(msgs, name, gen)
    if text is None: return
    assert parse(text, name, gen) == [{k: v for k, v in m.items() if v is not None} for m in msgs]
    tok = _TOKS['byte']
    tok.chat_template = chat_template(name)
    want_text = render(msgs, name, gen, eos=tok.eos_token)
    assert tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen) == want_text


@pytest.mark.parametrize('name', NAMES)
def test_input_refused_by_the_chat_template_too(name):
    "A Jinja template of a format without an input field raises on one, as `render` does; `alpaca_stanford` writes it."
    tok, msgs = byte_tokenizer(), [{'role': 'user', 'content': 'Q'}, {'role': 'assistant', 'content': 'A'},
                                   {'role': 'user', 'content': 'Translate.', 'input': 'cat'}]
    tok.chat_template = chat_template(name)
    if get_format(name).input_sep:
        assert tok.apply_chat_template(msgs, tokenize=False) == render(msgs, name, eos=tok.eos_token)
        assert parse(render(msgs, name), name) == msgs
    else:
        with pytest.raises(Exception, match=f'format {re.escape(name)}: no input field, but message 2 has one'):
            tok.apply_chat_template(msgs, tokenize=False)


def test_to_messages_input_goes_to_alpaca_stanford_only():
    msgs = to_messages({'instruction': 'Translate.', 'input': 'cat', 'output': 'chat'})
    assert parse(render(msgs, 'alpaca_stanford'), 'alpaca_stanford') == msgs
    for name in NAMES:
        if name != 'alpaca_stanford':
            with pytest.raises(ValueError, match=f"field 'input' cannot be written in format '{re.escape(name)}'"):
                tokenize_chat(msgs, _TOKS['byte'], name)


@pytest.mark.parametrize('name', NAMES)
def test_parse_rejects_garbage(name):
    for text in ['', 'garbage', '<|im_start|>user\nunterminated']:
        try: out = parse(text, name)
        except ValueError as e: assert 'cannot parse' in str(e); continue
        assert render(out, name, check=False) == text  # whatever parse accepts must render back to the text


# ---------------------------------------------------------------- Jinja chat templates
@pytest.mark.parametrize('name', NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=ALL)
@given(data=st.data())
def test_chat_template_matches_render(name, data):
    tok = _TOKS['byte']
    msgs, gen = data.draw(conversations(name)), data.draw(st.booleans())
    text = _try_render(msgs, name, gen)
    if text is None: return
    tok.chat_template = chat_template(name)
    want_text = render(msgs, name, gen, eos=tok.eos_token)
    assert tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen) == want_text
    eos_after_answers = get_format(name).stop is None and any(m['role'] == 'assistant' for m in msgs)
    assert (want_text != text) == eos_after_answers


# ---------------------------------------------------------------- tokenizers
def _bpe_tokenizer(add_bos=False, vocab_size=600):
    "A byte-level BPE trained here on a few sentences, GPT-2 style (regex pre-tokenizer, trimmed offsets)."
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, processors, trainers
    from transformers import PreTrainedTokenizerFast
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    specials = ['<pad>', '<s>', '</s>'] + CHAT_TOKENS
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    rng = random.Random(0)
    words = 'the model answers questions about colours numbers and cities with short clear sentences'.split()
    corpus = [' '.join(rng.choices(words, k=12)) + ' USER: ASSISTANT: ### Response: Human:' for _ in range(300)]
    tk.train_from_iterator(corpus, trainer)
    tk.post_processor = (processors.TemplateProcessing(single='<s> $A', special_tokens=[('<s>', tk.token_to_id('<s>'))])
                         if add_bos else processors.ByteLevel(trim_offsets=True))
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token='<pad>', bos_token='<s>', eos_token='</s>',
                                   additional_special_tokens=CHAT_TOKENS)

_TOKS = {'byte': byte_tokenizer(), 'bpe': _bpe_tokenizer(), 'bpe_bos': _bpe_tokenizer(add_bos=True)}
WORDS = st.sampled_from(['the', ' model', 'é', '世界', '🙂', '{x}', '\n', '\t', ' ', 'answer', '  ', 'USER', '\n\n'])
WTEXT = st.lists(WORDS, max_size=8).map(''.join)


@pytest.mark.parametrize('tname', sorted(_TOKS))
def test_encode_fast_path_matches_tokenizer_call(tname):
    tok = _TOKS[tname]
    texts = [render(c, 'chatml') for c in _random_convs(50)]
    enc = tok(texts, add_special_tokens=False, return_offsets_mapping=True)
    for e, ref_ids, ref_offs in zip(_encode(tok, texts), enc['input_ids'], enc['offset_mapping']):
        assert e.ids == ref_ids and [tuple(o) for o in e.offsets] == [tuple(o) for o in ref_offs]


@pytest.mark.parametrize('tname', sorted(_TOKS))
@settings(max_examples=200, deadline=None, suppress_health_check=ALL)
@given(text=WTEXT.filter(bool), data=st.data())
def test_span_matches_naive(tname, text, data):
    "Token ranges from `char_to_token` equal the naive scan over all offsets (trimmed offsets and multi-byte included)."
    tok = _TOKS[tname]
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    s = data.draw(st.integers(0, len(text) - 1)); e = data.draw(st.integers(s + 1, len(text)))
    idx = [i for i, (a, b) in enumerate(enc['offset_mapping']) if b > s and a < e]
    want = (idx[0], idx[-1] + 1) if idx else None
    got = _span(enc.encodings[0], s, e)
    if want is None: assert got[0] >= got[1]
    else: assert got == want, (text, s, e, enc['offset_mapping'])


@pytest.mark.parametrize('tname', sorted(_TOKS))
@pytest.mark.parametrize('name', NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=ALL)
@given(data=st.data())
def test_labels_match_transformers_assistant_mask(tname, name, data):
    "In every format our ids are transformers' ids and our labels mark exactly the tokens its assistant mask marks."
    tok = _TOKS[tname]
    msgs = data.draw(conversations(name, text=WTEXT))
    if not any(m['role'] == 'assistant' for m in msgs): return
    tok.chat_template = chat_template(name)
    ref = tok.apply_chat_template(msgs, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    enc = tokenize_chat(msgs, tok, name, add_bos=False)
    assert enc['input_ids'] == ref['input_ids']
    assert [int(l != -100) for l in enc['labels']] == ref['assistant_masks']


UNI = [{'role': 'user', 'content': '世界 means?'}, {'role': 'assistant', 'content': 'é « world » 🙂'}]
CONVS = {
    'one exchange': [{'role': 'user', 'content': 'Colour of the sky?'}, {'role': 'assistant', 'content': 'Blue.'}],
    'multi-turn': [{'role': 'user', 'content': 'Name a colour.'}, {'role': 'assistant', 'content': 'Teal.'},
                   {'role': 'user', 'content': 'Another {one}?'}, {'role': 'assistant', 'content': 'Ochre.'}],
    'system': [{'role': 'system', 'content': 'Be brief.'}] + UNI + [{'role': 'user', 'content': 'And?'},
                                                                     {'role': 'assistant', 'content': 'Done.'}],
    'unicode': UNI + [{'role': 'user', 'content': '🙂\t\n'}, {'role': 'assistant', 'content': '\n世'}],
    'empty answer': [{'role': 'user', 'content': 'Say nothing.'}, {'role': 'assistant', 'content': ''}],
    'ends with user': UNI + [{'role': 'user', 'content': 'Thanks.'}],
    'input': [{'role': 'user', 'content': 'Translate to French.', 'input': 'cat'},
              {'role': 'assistant', 'content': 'chat'}],
}

@pytest.mark.parametrize('tname', sorted(_TOKS))
@pytest.mark.parametrize('name', NAMES)
@pytest.mark.parametrize('conv', sorted(CONVS))
def test_eos_in_template_and_assistant_mask(tname, name, conv):
    """`apply_chat_template(..., return_assistant_tokens_mask=True)` with `chat_template(name)` gives `tokenize_chat`'s
    ids and labels mask, so every answer's end-of-turn marker or EOS is in the mask: the model learns to stop."""
    tok, f, msgs = _TOKS[tname], get_format(name), CONVS[conv]
    if 'system' not in f.prefix: msgs = [m for m in msgs if m['role'] != 'system']
    if not f.input_sep and any('input' in m for m in msgs): return          # refused: see the input tests
    tok.chat_template = chat_template(name)
    ref = tok.apply_chat_template(msgs, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    enc = tokenize_chat(msgs, tok, name, add_bos=False)
    assert enc['input_ids'] == ref['input_ids']
    assert [int(l != -100) for l in enc['labels']] == ref['assistant_masks']
    stop = tok.convert_tokens_to_ids(f.stop) if f.stop else tok.eos_token_id
    marked = [i for i, k in zip(ref['input_ids'], ref['assistant_masks']) if k]
    assert marked.count(stop) == sum(m['role'] == 'assistant' for m in msgs)   # one stop token per answer, all learnt


def test_chat_template_needs_eos_where_the_format_has_no_end_of_turn_marker():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    tk = Tokenizer(models.WordLevel({'a': 0, '[UNK]': 1}, unk_token='[UNK]'))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk)
    msgs = [{'role': 'user', 'content': 'a'}, {'role': 'assistant', 'content': 'a'}]
    for name in NAMES:
        tok.chat_template = chat_template(name)
        if get_format(name).stop: tok.apply_chat_template(msgs, tokenize=False)
        else:
            with pytest.raises(Exception, match=f'format {re.escape(name)}: the tokenizer has no eos_token'):
                tok.apply_chat_template(msgs, tokenize=False)
            assert tok.apply_chat_template(msgs[:1], tokenize=False, add_generation_prompt=True)  # no answer, no EOS


@pytest.mark.parametrize('tname', sorted(_TOKS))
@pytest.mark.parametrize('name', NAMES)
@settings(max_examples=30, deadline=None, suppress_health_check=ALL)
@given(data=st.data())
def test_label_tokens_decode_to_answers(tname, name, data):
    "Decoding the label tokens gives each assistant content followed by its end-of-turn marker or EOS."
    tok, f = _TOKS[tname], get_format(name)
    msgs = data.draw(conversations(name, text=WTEXT))
    if not any(m['role'] == 'assistant' for m in msgs): return
    enc = tokenize_chat(msgs, tok, name)
    stop = f.stop or tok.eos_token
    want = ''.join(m['content'] + stop for m in msgs if m['role'] == 'assistant')
    got = tok.decode([i for i in enc['labels'] if i != -100])
    if tname == 'byte': assert got == want
    else:  # a BPE token may straddle the prefix and the content (' A' after 'ASSISTANT:'): the label covers it whole,
        # so the labels may add the whitespace or colon that ends a prefix, and nothing else
        def clean(s): return re.sub(r'[\s:]', '', s)
        assert clean(got) == clean(want), (got, want)
    ids = enc['input_ids']
    assert ids[:2] != [tok.bos_token_id] * 2, 'double BOS'
    assert ids.count(tok.bos_token_id) <= 1 + sum(m['content'].count(tok.bos_token) for m in msgs)


def test_no_double_bos_with_tokenizer_that_adds_bos():
    tok = _TOKS['bpe_bos']
    msgs = [{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'yo'}]
    assert tok('x')['input_ids'][0] == tok.bos_token_id          # the tokenizer adds BOS on its own
    for name in NAMES:
        ids, f = tokenize_chat(msgs, tok, name)['input_ids'], get_format(name)
        first = tok.convert_tokens_to_ids(f.bos) if f.bos else tok.bos_token_id   # Llama 3 writes its own BOS
        assert ids[0] == first and ids[1] not in (first, tok.bos_token_id), name
        assert tokenize_chat(msgs, tok, name, add_bos=False)['input_ids'][0] != tok.bos_token_id


def test_stop_ids_and_mismatch_warning():
    tok = _TOKS['byte']
    assert stop_ids(tok, 'llama3') == [tok.convert_tokens_to_ids('<|eot_id|>'), tok.eos_token_id]
    assert stop_ids(tok, 'alpaca') == [tok.eos_token_id]
    assert stop_ids(tok, 'zephyr') == [tok.eos_token_id]              # '</s>' is the EOS itself
    from transformers import PreTrainedTokenizerFast
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders
    from transformers.convert_slow_tokenizer import bytes_to_unicode
    tk = Tokenizer(models.BPE(vocab={c: b for b, c in bytes_to_unicode().items()}, merges=[]))
    tk.pre_tokenizer, tk.decoder = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False), decoders.ByteLevel()
    tk.add_special_tokens(['<|endoftext|>'])
    plain = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token='<|endoftext|>')
    msgs = [{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'yo'}]
    with pytest.warns(UserWarning, match=r"'<\|eot_id\|>', which this tokenizer splits into 10 tokens"):
        tokenize_chat(msgs, plain, 'llama3')
    assert stop_ids(plain, 'llama3') == [plain.eos_token_id]
    plain.eos_token = None
    with pytest.raises(ValueError, match='has no eos_token'): tokenize_chat(msgs, plain, 'alpaca')


def test_slow_tokenizer_rejected():
    class Slow:
        is_fast = False
    with pytest.raises(ValueError, match='not a fast tokenizer'):
        tokenize_chat([{'role': 'user', 'content': 'q'}, {'role': 'assistant', 'content': 'a'}], Slow(), 'chatml')


# ---------------------------------------------------------------- truncation
@pytest.mark.parametrize('name', ['chatml', 'alpaca', 'llama3'])
@settings(max_examples=60, deadline=None, suppress_health_check=ALL)
@given(data=st.data())
def test_truncation_keeps_the_answer(name, data):
    tok = _TOKS['byte']
    msgs = data.draw(conversations(name, text=WTEXT, max_turns=4))
    msgs = [m for m in msgs if m['role'] != 'system'] + [{'role': 'assistant', 'content': data.draw(WTEXT)}]
    msgs = [{'role': 'user', 'content': 'question'}] + msgs
    full = tokenize_chat(msgs, tok, name)
    n = len(full['input_ids'])
    max_len = data.draw(st.integers(1, n + 5))
    want_last = _last_answer_labels(full['labels'])
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            enc = tokenize_chat(msgs, tok, name, max_len=max_len)
    except ValueError as e:
        assert 'does not fit' in str(e); return
    assert len(enc['input_ids']) == min(n, max_len) == len(enc['labels']) == len(enc['attention_mask'])
    assert enc['input_ids'][-len(want_last):] == full['input_ids'][-len(want_last):]
    assert _last_answer_labels(enc['labels']) == want_last
    assert enc['input_ids'][0] == full['input_ids'][0]               # BOS kept
    if n > max_len: assert any(f'truncated {n - max_len} tokens' in str(x.message) for x in w)
    else: assert not w


def _last_answer_labels(labels):
    i = len(labels)
    while i and labels[i - 1] == -100: i -= 1
    j = i
    while j and labels[j - 1] != -100: j -= 1
    return labels[j:i]


def test_truncation_warning_counts_batch():
    tok = _TOKS['byte']
    convs = [[{'role': 'user', 'content': 'x' * k}, {'role': 'assistant', 'content': 'ok'}] for k in (10, 100, 200)]
    with pytest.warns(UserWarning, match='2 of 3 conversations were longer than max_len=80'):
        out = tokenize_chats(convs, tok, 'chatml', max_len=80)
    assert [len(x) for x in out['input_ids']] == [len(tokenize_chat(convs[0], tok, 'chatml')['input_ids']), 80, 80]


# ---------------------------------------------------------------- records
@pytest.mark.parametrize('rec, msg', [
    ({'instruction': 'x'}, "record 0: missing field 'output'"),
    ({'output': 'x'}, "record 0: missing field 'instruction'"),
    ({'instruction': None, 'output': 'y'}, "field 'instruction' must be a string, got NoneType"),
    ({'instruction': 'x', 'input': 3, 'output': 'y'}, "field 'input' must be a string, got int"),
    ({'instruction': '', 'output': 'y'}, "field 'instruction' is empty"),
    ({'instruction': 'x', 'output': '  '}, "field 'output' is empty"),
    ({'conversations': 'hi'}, "field 'conversations' must be a non-empty list"),
    ({'conversations': [{'from': 'human', 'value': 'q'}, 'oops']}, 'conversations[1] must be a dict'),
    ({'conversations': [{'from': 'user', 'value': 'q'}]}, "conversations[0].'from' is 'user'"),
    ({'conversations': [{'value': 'q'}]}, "missing field conversations[0].'from'"),
    ({'conversations': [{'from': 'gpt', 'value': ''}]}, "conversations[0].'value' is empty"),
    ({'messages': [{'role': 'user', 'content': None}]}, "messages[0].'content' must be a string, got NoneType"),
    ({'messages': [{'role': 'function', 'content': 'x'}]}, "messages[0].'role' is 'function'"),
    ({'prompt': 'x', 'completion': 'y'}, 'not an Alpaca'),
    ('just text', 'expected a dict'),
])
def test_to_messages_bad_records(rec, msg):
    with pytest.raises(ValueError, match=re.escape(msg)): to_messages(rec, 0)


def test_to_messages_names_record_by_id():
    with pytest.raises(ValueError, match='record abc-1:'): to_messages({'id': 'abc-1', 'conversations': []})


def test_to_messages_layouts_agree():
    a = to_messages({'instruction': 'Q', 'output': 'A'})
    b = to_messages({'conversations': [{'from': 'human', 'value': 'Q'}, {'from': 'gpt', 'value': 'A'}]})
    c = to_messages({'messages': [{'role': 'user', 'content': 'Q', 'extra': 1}, {'role': 'assistant', 'content': 'A'}]})
    assert a == b == c == [{'role': 'user', 'content': 'Q'}, {'role': 'assistant', 'content': 'A'}]


# ---------------------------------------------------------------- batches, datasets, speed
def _random_convs(n, seed=0, turns=2):
    rng = random.Random(seed)
    words = 'the a model answer question colour blue four paris {x} é 世界 🙂 \n'.split(' ')
    return [[{'role': r, 'content': ' '.join(rng.choices(words, k=rng.randint(3, 30)))}
             for _ in range(turns) for r in ('user', 'assistant')] for _ in range(n)]


def test_batch_equals_one_by_one():
    tok, convs = _TOKS['bpe'], _random_convs(200, seed=1)
    with pytest.warns(UserWarning, match='longer than max_len=160'):
        out = tokenize_chats(convs, tok, 'zephyr', max_len=160)
    for i, c in enumerate(convs[:50]):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            one = tokenize_chat(c, tok, 'zephyr', max_len=160)
        assert {k: v[i] for k, v in out.items()} == one


def test_datasets_map_and_collate():
    from datasets import Dataset
    import torch
    tok = _TOKS['byte']
    ds = Dataset.from_list([{'messages': c} for c in _random_convs(300)])
    with pytest.warns(UserWarning, match='truncated'):
        ds = ds.map(lambda b: tokenize_chats(b['messages'], tok, 'chatml', 256), batched=True, batch_size=64,
                    remove_columns=['messages'])
    assert len(ds) == 300 and max(len(x) for x in ds['input_ids']) <= 256
    batch = collate_chats([ds[i] for i in range(8)], tok.pad_token_id)
    assert batch['input_ids'].shape == batch['labels'].shape == batch['attention_mask'].shape
    assert (batch['labels'][batch['attention_mask'] == 0] == -100).all()
    left = collate_chats([ds[i] for i in range(8)], tok.pad_token_id, side='left')
    assert (left['attention_mask'][:, -1] == 1).all()
    with pytest.raises(ValueError, match='no examples'): collate_chats([], 0)
    with pytest.raises(ValueError, match="side='middle'"): collate_chats([ds[0]], 0, side='middle')


def test_loss_html():
    tok = _TOKS['byte']
    enc = tokenize_chat([{'role': 'user', 'content': 'a<b'}, {'role': 'assistant', 'content': 'ok'}], tok, 'chatml')
    h = loss_html(enc, tok)
    assert 'a&lt;b' in h and '#b7f0b1' in h and 'ok' in h and '↵<br>' in h


def test_many_conversations_with_truncation_warning():
    "Thousands of conversations in one call; over-long ones are counted in one warning (throughput: benchmarks/templates.py)."
    tok, convs = _TOKS['byte'], _random_convs(5_000, seed=2)
    with pytest.warns(UserWarning, match='of 5000 conversations were longer than max_len=512'):
        out = tokenize_chats(convs, tok, 'chatml', max_len=512)
    assert len(out['input_ids']) == 5_000 and max(map(len, out['input_ids'])) <= 512


def test_tokenizer_specials_in_content_rejected():
    tok = _TOKS['bpe']
    msgs = [{'role': 'user', 'content': 'end of text is </s> here'}, {'role': 'assistant', 'content': 'ok'}]
    for name in ('chatml', 'alpaca', 'llama3'):
        with pytest.raises(ValueError, match="message 0 \\(user\\) contains '</s>', a special token"):
            tokenize_chat(msgs, tok, name)
    assert tokenize_chat(msgs, tok, 'chatml', check=False)['input_ids'].count(tok.eos_token_id) == 1
