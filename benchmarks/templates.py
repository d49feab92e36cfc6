"""Throughput of `tokenize_chats` (batched, offsets-based loss masks) vs transformers' `apply_chat_template` with
`return_assistant_tokens_mask`, one conversation at a time, on the same conversations, side by side in one run.

    python benchmarks/templates.py [N]
"""
import random, sys, time
from instruct_nb.core import byte_tokenizer
from instruct_nb.templates import tokenize_chats, chat_template

def convs(n, seed=0):
    rng = random.Random(seed)
    words = 'the a model answer question colour blue four paris {x} é 世界 🙂 \n'.split(' ')
    return [[{'role': r, 'content': ' '.join(rng.choices(words, k=rng.randint(3, 30)))}
             for _ in range(2) for r in ('user', 'assistant')] for _ in range(n)]

n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
tok, cs = byte_tokenizer(), convs(n)
t0 = time.perf_counter(); out = tokenize_chats(cs, tok, 'chatml'); ours = time.perf_counter() - t0
tok.chat_template = chat_template('chatml')
m = min(n, 2_000)
t0 = time.perf_counter()
for c in cs[:m]: tok.apply_chat_template(c, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
ref = (time.perf_counter() - t0) * n / m
print(f'{n} conversations: tokenize_chats {n / ours:,.0f}/s; apply_chat_template loop {n / ref:,.0f}/s '
      f'(timed on {m}, extrapolated)')
print(f'speedup_vs_apply_chat_template={ref / ours:.2f}')
