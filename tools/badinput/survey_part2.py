# ---------------------------------------------------------------- configs (executed from survey.py)
CONF = [(SFT.SFTConfig, ['lr', 'max_steps', 'bs', 'grad_accum', 'warmup', 'max_len', 'weight_decay', 'clip', 'ptx', 'lora_r',
                         'min_lr_ratio', 'cpu_minutes', 'lora_dropout', 'keep', 'log_every', 'ckpt_every', 'seed', 'max_target_len', 'lora_alpha']),
        (R.RewardConfig, ['lr', 'max_steps', 'bs', 'grad_accum', 'warmup', 'max_len', 'center_coef', 'weight_decay', 'min_lr_ratio']),
        (D.DPOConfig, ['lr', 'max_steps', 'bs', 'grad_accum', 'beta', 'label_smoothing', 'warmup', 'max_len']),
        (RL.RLHFConfig, ['lr', 'max_steps', 'bs', 'k', 'beta', 'temperature', 'top_p', 'max_new_tokens', 'kl_target', 'clip', 'vf_coef',
                         'gamma', 'lam', 'ppo_epochs', 'minibatches', 'missing_eos_penalty', 'kl_horizon', 'max_prompt_len', 'ptx', 'vf_clip', 'grad_clip'])]
import dataclasses
for cls, fields in CONF:
    fs = {f.name: f for f in dataclasses.fields(cls)}
    for f in fields:
        if f not in fs: print('no field', cls.__name__, f, file=sys.stderr); continue
        for v in [NAN, INF, -1, 0, True, '1', None, [1]]:
            if v is None and 'None' in str(fs[f].type): continue
            if v == 0 and not isinstance(v, bool) and f in ('weight_decay', 'clip', 'ptx', 'lora_r', 'warmup', 'center_coef', 'label_smoothing',
                                                           'min_lr_ratio', 'lora_dropout', 'ckpt_every', 'missing_eos_penalty', 'gamma', 'lam',
                                                           'grad_clip', 'seed', 'log_every', 'vf_coef'):
                continue   # zero is legitimate here
            if v == -1 and f in ('missing_eos_penalty', 'seed'): continue
            if v is True and f in ('seed',): continue
            case(f'{cls.__name__}({f}={v!r})', lambda cls=cls, f=f, v=v: cls(**{f: v}), names=(f,))
    for f, v in [('optimizer', 'sgdx'), ('fmt', 'nope'), ('mixed_precision', 'fp8'), ('device', 'gpu'), ('loss_type', 'bogus'),
                 ('algo', 'trpo'), ('kl_kind', 'k9'), ('train_on', 'first'), ('lora_targets', 5), ('packing', 'yes')]:
        if f in fs: case(f'{cls.__name__}({f}={v!r})', lambda cls=cls, f=f, v=v: cls(**{f: v}), names=(f,))
case('RLHFConfig(algo="rloo", k=1)', lambda: RL.RLHFConfig(algo='rloo', k=1), names=('k',))
case('RLHFConfig(bs=16, minibatches=5) (not a divisor)', lambda: RL.RLHFConfig(bs=16, minibatches=5), names=('minibatches',))
case('SFTConfig(warmup=600, max_steps=500)', lambda: SFT.SFTConfig(warmup=600, max_steps=500), names=('warmup',))
case('SFTConfig(lora_r=0, merge_lora=True)', lambda: SFT.SFTConfig(lora_r=0, merge_lora=True), ok=lambda r: True, names=('merge_lora',))
case('SFTConfig.tiny(bogus_field=1)', lambda: SFT.SFTConfig.tiny(bogus_field=1), names=('bogus_field',))

# ---------------------------------------------------------------- trainers with bad data (refused before training)
tcfg = SFT.SFTConfig.tiny(max_steps=1, max_len=64, bs=2, warmup=0, progress=False, ptx=0.0)
sft_bad = {'prompt without completion': [{'prompt': 'q'}], 'completion int': [{'prompt': 'q', 'completion': 5}],
           'messages str': [{'messages': 'hello'}], 'messages bad role': [{'messages': [{'role': 'robot', 'content': 'x'}]}],
           'messages no assistant': [{'messages': [{'role': 'user', 'content': 'x'}]}],
           'no known column': [{'foo': 'bar'}], 'empty list': [], 'str data': 'hello', 'None data': None,
           'chosen/rejected only': [{'chosen': 'a', 'rejected': 'b'}], 'list of str': ['abc', 'def'],
           'prompt None': [{'prompt': None, 'completion': 'a'}], 'empty completion': [{'prompt': 'q', 'completion': ''}],
           'text int': [{'text': 5}], 'mixed shapes': [{'prompt': 'q', 'completion': 'a'}, {'messages': UA}],
           'completion too long': [{'prompt': 'q', 'completion': 'x' * 5000}]}
for k, data in sft_bad.items():
    case(f'sft.sft(lm, tok, <{k}>, SFTConfig.tiny(max_steps=1))', lambda data=data: SFT.sft(core.tiny_causal_lm(tok, cfg_small), tok, data, tcfg),
         names=('record', 'field', 'column', 'data', 'messages', 'prompt', 'completion', 'example', 'role', 'empty', 'assistant', 'text', 'max_len'))
case('sft.sft(lm, None, data)', lambda: SFT.sft(lm, None, [{'prompt': 'q', 'completion': 'a'}], tcfg), names=('tok',))
case('sft.sft("/nonexistent/model", None, data)', lambda: SFT.sft('/nonexistent/model', None, [{'prompt': 'q', 'completion': 'a'}], tcfg), names=('nonexistent',))
case('sft.sft(lm, tok, data, cfg={"lr": 1})', lambda: SFT.sft(lm, tok, [{'prompt': 'q', 'completion': 'a'}], {'lr': 1}), names=('cfg',))
case('sft.sft(lm, tok, data, cfg, eval_every=-1)', lambda: SFT.sft(lm, tok, [{'prompt': 'q', 'completion': 'a'}], tcfg, eval_every=-1), names=('eval_every',))
case('sft.sft(lm, tok, data, cfg, out=<a file>)', lambda: SFT.sft(lm, tok, [{'prompt': 'q', 'completion': 'a'}], tcfg, out=wfile('outfile', 'x')), names=('outfile', 'out'))
case('sft.example({"foo": 1})', lambda: SFT.example({'foo': 1}), names=('record', 'foo', 'field', 'column'))
case('sft.as_messages("abc")', lambda: SFT.as_messages('abc'), names=('data',))
case('sft.as_prompt_completion([{"input":"a","output":"b"}], layout="no placeholder")',
     lambda: SFT.as_prompt_completion([{'input': 'a', 'output': 'b'}], layout='no placeholder'), names=('layout',))
case('sft.as_prompt_completion([{"input":"a","output":"b"}], layout="{x} {y}")',
     lambda: SFT.as_prompt_completion([{'input': 'a', 'output': 'b'}], layout='{x} {y}'), names=('layout',))
case('sft.pack([5, 100], capacity=10)', lambda: SFT.pack([5, 100], 10), names=('capacity', 'length'))
case('sft.pack([5, -1], capacity=10)', lambda: SFT.pack([5, -1], 10), names=('length',))
case('sft.pack([5], capacity=0)', lambda: SFT.pack([5], 0), names=('capacity',))
case('sft.length_grouped([1,2,3], bs=0)', lambda: SFT.length_grouped([1, 2, 3], 0), names=('bs',))
case('sft.length_grouped([1,2,3], bs=NAN)', lambda: SFT.length_grouped([1, 2, 3], NAN), names=('bs',))
case('sft.length_grouped([1,2,3], bs=2, group=0)', lambda: SFT.length_grouped([1, 2, 3], 2, group=0), names=('group',))
case('sft.heldout_split(["no_cluster"])', lambda: SFT.heldout_split(['no_cluster']), names=('no_cluster',))
case('sft.heldout_split("counting")', lambda: SFT.heldout_split('counting'), names=('clusters',))
case('sft.task_records(["no_task"])', lambda: SFT.task_records(['no_task']), names=('no_task',))
case('sft.task_records([known], n=-1)', lambda: SFT.task_records([known_task], n=-1), names=('n',))
case('sft.task_records([known], split="bogus")', lambda: SFT.task_records([known_task], n=2, split='bogus'), names=('split',))
case('sft.task_records(known (str))', lambda: SFT.task_records(known_task, n=2), names=('tasks',))
res_df = pd.DataFrame(dict(task=['t', 't', 'u'], cluster=['a', 'a', 'b'], correct=[True, False, True]))
for kw, nm in [(dict(n_boot=0), 'n_boot'), (dict(ci=1.5), 'ci'), (dict(ci=NAN), 'ci'), (dict(by='bogus'), 'bogus'), (dict(n_boot=NAN), 'n_boot')]:
    case(f'sft.accuracy_ci(res, **{kw})', lambda kw=kw: SFT.accuracy_ci(res_df, **kw), names=(nm,))
case('sft.accuracy_ci(pd.DataFrame())', lambda: SFT.accuracy_ci(pd.DataFrame()), names=('cluster', 'correct', 'res'))

rm_small = core.tiny_reward_model(tok, cfg_small)
rcfg = R.RewardConfig.tiny(max_steps=1, bs=2, warmup=0, progress=False) if hasattr(R.RewardConfig, 'tiny') else R.RewardConfig(max_steps=1, bs=2, warmup=0, progress=False)
pair_bad = {'chosen only': [{'prompt': 'q', 'chosen': 'a'}], 'chosen int': [{'prompt': 'q', 'chosen': 1, 'rejected': 'b'}],
            'prompt/completion shape': [{'prompt': 'q', 'completion': 'a'}], 'messages shape': [{'messages': UA}],
            'empty': [], 'str': 'abc', 'chosen==rejected': [{'prompt': 'q', 'chosen': 'a', 'rejected': 'a'}],
            'implicit prompt, mismatched': [{'chosen': UA, 'rejected': [{'role': 'user', 'content': 'other'}, {'role': 'assistant', 'content': 'x'}]}],
            'chosen None': [{'prompt': 'q', 'chosen': None, 'rejected': 'b'}], 'chosen list of str': [{'prompt': 'q', 'chosen': ['a'], 'rejected': ['b']}],
            'empty chosen': [{'prompt': 'q', 'chosen': '', 'rejected': 'b'}]}
for k, data in pair_bad.items():
    case(f'reward.train_reward(rm, tok, <{k}>, RewardConfig(max_steps=1))', lambda data=data: R.train_reward(core.tiny_reward_model(tok, cfg_small), tok, data, rcfg),
         names=('record', 'field', 'column', 'data', 'chosen', 'rejected', 'prompt', 'pair', 'empty', 'message'), ok=(lambda r: True) if k == 'chosen==rejected' else None)
case('reward.pairwise_loss(t[2], t[3])', lambda: R.pairwise_loss(torch.zeros(2), torch.zeros(3)), names=('r_chosen', 'r_rejected', 'shape'))
case('reward.pairwise_loss(t, t, center_coef=NAN)', lambda: R.pairwise_loss(torch.zeros(2), torch.zeros(2), center_coef=NAN), names=('center_coef',))
case('reward.pairwise_loss(t, t, center_coef=-1)', lambda: R.pairwise_loss(torch.zeros(2), torch.zeros(2), center_coef=-1.0), names=('center_coef',))
case('reward.pairwise_loss([1.], [0.])', lambda: R.pairwise_loss([1.], [0.]), names=('r_chosen',))
case('reward.reward_metrics(t[2], t[3])', lambda: R.reward_metrics(torch.zeros(2), torch.zeros(3)), names=('r_chosen', 'shape'))
case('reward.score_texts(rm, tok, ["a","b"], ["x"])', lambda: R.score_texts(rm_small, tok, ['a', 'b'], ['x']), names=('prompts', 'completions'))
case('reward.score_texts(rm, tok, "ab", "xy")', lambda: R.score_texts(rm_small, tok, 'ab', 'xy'), names=('prompts', 'completions'))
case('reward.score_texts(rm, tok, ["a"], ["x"], max_len=0)', lambda: R.score_texts(rm_small, tok, ['a'], ['x'], max_len=0), names=('max_len',))
case('reward.score_texts(rm, tok, ["a"], ["x"], bs=0)', lambda: R.score_texts(rm_small, tok, ['a'], ['x'], bs=0), names=('bs',))
case('reward.task_pairs(["no_task"])', lambda: R.task_pairs(['no_task'], n=2), names=('no_task',))
case('reward.task_pairs([known], kinds=["bogus"])', lambda: R.task_pairs([known_task], n=2, kinds=['bogus']), names=('bogus',))
case('reward.task_pairs([known], kinds="verbose")', lambda: R.task_pairs([known_task], n=2, kinds='verbose'), names=('kinds',))
case('reward.sample_answers(lm, tok, ["q"], k=0)', lambda: R.sample_answers(lm, tok, ['q'], k=0, max_new_tokens=2), names=('k',))
case('reward.sample_answers(lm, tok, ["q"], temperature=0)', lambda: R.sample_answers(lm, tok, ['q'], temperature=0, max_new_tokens=2), names=('temperature',))
case('reward.sample_answers(lm, tok, ["q"], temperature=NAN)', lambda: R.sample_answers(lm, tok, ['q'], temperature=NAN, max_new_tokens=2), names=('temperature',))
case('reward.sample_answers(lm, tok, ["q"], temperature=-1)', lambda: R.sample_answers(lm, tok, ['q'], temperature=-1.0, max_new_tokens=2), names=('temperature',))
case('reward.sample_answers(lm, tok, "q")', lambda: R.sample_answers(lm, tok, 'q', max_new_tokens=2), names=('prompts',))
pres = pd.DataFrame(dict(task=['t', 'u'], corruption=['a', 'b'], correct=[True, False]))
for kw, nm in [(dict(n_boot=0), 'n_boot'), (dict(ci=2.0), 'ci'), (dict(by='bogus'), 'bogus')]:
    case(f'reward.pair_accuracy(res, **{kw})', lambda kw=kw: R.pair_accuracy(pres, **kw), names=(nm,))

dcfg = D.DPOConfig(max_steps=1, bs=2, warmup=0, progress=False) if 'progress' in {f.name for f in dataclasses.fields(D.DPOConfig)} else D.DPOConfig(max_steps=1, bs=2, warmup=0)
for k, data in pair_bad.items():
    if k == 'chosen==rejected': continue
    case(f'dpo.dpo(lm, tok, <{k}>, DPOConfig(max_steps=1))', lambda data=data: D.dpo(core.tiny_causal_lm(tok, cfg_small), tok, data, dcfg),
         names=('record', 'field', 'column', 'data', 'chosen', 'rejected', 'prompt', 'pair', 'empty', 'message'))
z = torch.zeros(2)
for kw, nm in [(dict(beta=NAN), 'beta'), (dict(beta=-1.0), 'beta'), (dict(beta=0.0), 'beta'), (dict(label_smoothing=0.7), 'label_smoothing'),
               (dict(label_smoothing=NAN), 'label_smoothing'), (dict(loss_type='bogus'), 'loss_type')]:
    case(f'dpo.dpo_loss(z, z, z, z, **{kw})', lambda kw=kw: D.dpo_loss(z, z, z, z, **kw), names=(nm,))
case('dpo.dpo_loss(z[2], z[3], z[2], z[2])', lambda: D.dpo_loss(z, torch.zeros(3), z, z), names=('shape', 'rejected'))

pcfg = RL.RLHFConfig(max_steps=1, bs=2, max_new_tokens=2, ppo_epochs=1, progress=False) if 'progress' in {f.name for f in dataclasses.fields(RL.RLHFConfig)} else RL.RLHFConfig(max_steps=1, bs=2, max_new_tokens=2, ppo_epochs=1)
for k, pr in {'str prompts': 'hello', 'empty': [], 'None': None, 'ints': [1, 2], 'dicts': [{'prompt': 'q'}], 'empty strings': ['', '']}.items():
    case(f'rlhf.rlhf(lm, tok, <{k}>, rm, RLHFConfig(max_steps=1))',
         lambda pr=pr: RL.rlhf(core.tiny_causal_lm(tok, cfg_small), tok, pr, core.tiny_reward_model(tok, cfg_small), pcfg),
         names=('prompts', 'prompt'))
case('rlhf.rlhf(lm, tok, ["q"], reward="not a model", cfg)', lambda: RL.rlhf(core.tiny_causal_lm(tok, cfg_small), tok, ['q'], 'x', pcfg), names=('reward',))
t2 = torch.zeros(2, 3)
case('rlhf.kl_penalty(t, t, kind="k9")', lambda: RL.kl_penalty(t2, t2, kind='k9'), names=('kind', 'k9'))
case('rlhf.kl_penalty(t[2,3], t[3,2])', lambda: RL.kl_penalty(t2, torch.zeros(3, 2)), names=('shape', 'ref_logp'))
case('rlhf.gae(r, v, gamma=NAN)', lambda: RL.gae(t2, t2, gamma=NAN), names=('gamma',))
case('rlhf.gae(r, v, gamma=2.0)', lambda: RL.gae(t2, t2, gamma=2.0), names=('gamma',))
case('rlhf.gae(r, v, lam=-1)', lambda: RL.gae(t2, t2, lam=-1.0), names=('lam',))
case('rlhf.gae(t[2,3], t[2,4])', lambda: RL.gae(t2, torch.zeros(2, 4)), names=('shape', 'values'))
case('rlhf.rloo_advantages(t[6], k=4)', lambda: RL.rloo_advantages(torch.zeros(6), 4), names=('k',))
case('rlhf.rloo_advantages(t[6], k=1)', lambda: RL.rloo_advantages(torch.zeros(6), 1), names=('k',))
case('rlhf.rloo_advantages(t[6], k=0)', lambda: RL.rloo_advantages(torch.zeros(6), 0), names=('k',))
case('rlhf.grpo_advantages(t[6], k=4)', lambda: RL.grpo_advantages(torch.zeros(6), 4), names=('k',))
case('rlhf.grpo_advantages(t[6], k=0)', lambda: RL.grpo_advantages(torch.zeros(6), 0), names=('k',))
case('rlhf.masked_mean(t[2,3], mask=zeros) (empty mask)', lambda: RL.masked_mean(t2, torch.zeros(2, 3)), names=('mask',))
case('rlhf.whiten(t[2,3], mask=zeros)', lambda: RL.whiten(t2, torch.zeros(2, 3)), names=('mask',))
case('rlhf.FixedKL(NAN)', lambda: RL.FixedKL(NAN), names=('value', 'beta'))
case('rlhf.FixedKL(-1)', lambda: RL.FixedKL(-1.0), names=('value', 'beta'))
case('rlhf.AdaptiveKL(0.1, target=-1)', lambda: RL.AdaptiveKL(0.1, -1.0), names=('target',))
case('rlhf.AdaptiveKL(0.1, target=1, horizon=0)', lambda: RL.AdaptiveKL(0.1, 1.0, horizon=0), names=('horizon',))
case('rlhf.policy_loss(..., clip=-1)', lambda: RL.policy_loss(t2, t2, t2, torch.ones(2, 3), clip=-1.0), names=('clip',))
case('rlhf.logprobs_from_logits(l, tok, temperature=0)', lambda: RL.logprobs_from_logits(torch.zeros(1, 2, 5), torch.zeros(1, 2, dtype=torch.long), temperature=0), names=('temperature',))
case('rlhf.logprobs_from_logits(l, tokens out of vocab)', lambda: RL.logprobs_from_logits(torch.zeros(1, 2, 5), torch.full((1, 2), 9)), names=('tokens', 'vocab'))
case('rlhf.encode_prompts(tok, ["q"], max_len=0)', lambda: RL.encode_prompts(tok, ['q'], 0), names=('max_len',))
case('rlhf.encode_prompts(tok, "qq", max_len=8)', lambda: RL.encode_prompts(tok, 'qq', 8), names=('prompts',))

# ---------------------------------------------------------------- pipeline
for kw, nm in [(dict(model='nope/nonexistent'), 'model'), (dict(heldout='counting'), 'heldout'), (dict(heldout=['no_cluster']), 'no_cluster'),
               (dict(seed=NAN), 'seed'), (dict(sft_rows=-1), 'sft_rows'), (dict(sft_rows=0), 'sft_rows'), (dict(sft_rows=NAN), 'sft_rows'),
               (dict(sft_rows=True), 'sft_rows'), (dict(sft_rows='10'), 'sft_rows'), (dict(pairs=2.5), 'pairs'), (dict(eval_n=-1), 'eval_n'),
               (dict(ifeval_n=-1), 'ifeval_n'), (dict(scaling_starts=-1), 'scaling_starts'), (dict(device='gpu'), 'device'),
               (dict(sft={'lr': NAN}), 'lr'), (dict(sft={'bogus': 1}), 'bogus'), (dict(sft='lr=1'), 'sft'), (dict(reward={'beta': 1}), 'beta'),
               (dict(rlhf={'algo': 'trpo'}), 'algo'), (dict(rlhf={'lr': -1}), 'lr'), (dict(heldout=[]), None), (dict(rl_prompts=0), 'rl_prompts'),
               (dict(policy_prompts=None), 'policy_prompts'), (dict(model=''), 'model'), (dict(model='../../etc'), 'model')]:
    if nm is None: case(f'pipeline.RunConfig(**{kw})', lambda kw=kw: P.RunConfig(**kw), ok=lambda r: True)
    else: case(f'pipeline.RunConfig(**{kw})', lambda kw=kw: P.RunConfig(**kw), names=(nm,))
q = P.RunConfig.quick()
for over, nm in [({'bogus': 1}, 'bogus'), ({'sft_rows': -5}, 'sft_rows'), ({'sft': {'lr': 'fast'}}, 'lr'), ({'seed': 'a'}, 'seed'),
                 ({'sft': [1, 2]}, 'sft'), ({'heldout': 'counting'}, 'heldout'), ('not a dict', 'overrides'), ({'eval_n': 1e309}, 'eval_n'),
                 ({'sft': {'max_steps': 1e9}}, 'max_steps'), ({'rlhf': {'kl_kind': 'bogus'}}, 'kl_kind'), ({'sft': {'bogus_field': 1}}, 'bogus_field')]:
    case(f'pipeline.configure(RunConfig.quick(), {over!r})', lambda over=over: P.configure(q, over), names=(nm,))
for name, data, nm in [('bad.toml', 'sft_rows = \n', 'bad.toml'), ('bad.yaml', 'a: [1, 2\n', 'bad.yaml'), ('nonutf8.toml', b'x = "\xff"\n', 'UTF-8'),
                       ('list.yaml', '- 1\n- 2\n', 'table'), ('scalar.yaml', '42\n', 'table'), ('empty.toml', '', None), ('empty.yaml', '', None),
                       ('cfg.json', '{}', '.toml'), ('noext', 'a=1', 'noext'), ('dup.toml', 'seed = 1\nseed = 2\n', 'seed'),
                       ('dupkey.yaml', 'seed: 1\nseed: 2\n', 'seed'), ('anchors.yaml', 'sft: &x {lr: 1}\nreward: *x\n', None),
                       ('python.yaml', 'seed: !!python/object/apply:os.system ["echo PWNED"]\n', 'python'),
                       ('nan.yaml', 'seed: .nan\n', None), ('sft_nan.toml', '[sft]\nlr = nan\n', None), ('bom.toml', '\ufeffseed = 1\n', None)]:
    p = wfile(name, data)
    if nm is None:
        case(f'pipeline.read_config({name!r} {data!r}) then configure', lambda p=p: P.configure(q, P.read_config(p)),
             names=('seed', 'lr', 'sft', 'reward', 'empty', 'table'), ok=(lambda r: True) if name in ('empty.toml', 'empty.yaml', 'anchors.yaml') else None)
    else: case(f'pipeline.read_config({name!r} {data!r})', lambda p=p: P.read_config(p), names=(nm,))
case('pipeline.read_config("/nonexistent.toml")', lambda: P.read_config('/nonexistent.toml'), names=('nonexistent',))
case('pipeline.read_config(W) (a directory)', lambda: P.read_config(W), names=('work',))
case('pipeline.run(stages=["bogus"], out=W/run)', lambda: P.run(q, os.path.join(W, 'run'), stages=['bogus'], progress=False, log=lambda *a: None), names=('bogus',))
case('pipeline.run(stages="sft", out=W/run)', lambda: P.run(q, os.path.join(W, 'run'), stages='sft', progress=False, log=lambda *a: None), names=('stages', 'sft'))
case('pipeline.run(stages=["rlhf"], out=<fresh>) (needs sft)', lambda: P.run(q, os.path.join(W, 'run2'), stages=['rlhf'], progress=False, log=lambda *a: None), names=('rlhf', 'sft'))
case('pipeline.run(out=<a file>)', lambda: P.run(q, wfile('runfile', 'x'), stages=['mixture'], progress=False, log=lambda *a: None), names=('runfile', 'out'))
case('pipeline.run(out=<non-empty foreign dir>)', lambda: P.run(q, os.path.dirname(wfile('foreign/x.txt', 'x')), stages=['mixture'], progress=False, log=lambda *a: None), names=('foreign',))
case('pipeline.run(cfg={"seed": 1})', lambda: P.run({'seed': 1}, os.path.join(W, 'run3'), stages=['mixture'], progress=False, log=lambda *a: None), names=('cfg',))
case('pipeline.prepare_out("")', lambda: P.prepare_out(''), names=('out',))
case('pipeline.check_model("nope/nonexistent")', lambda: P.check_model('nope/nonexistent'), names=('nope',))
case('pipeline.summary_table({})', lambda: P.summary_table({}), ok=lambda r: True, names=('metrics',))
case('pipeline.summary_table("abc")', lambda: P.summary_table('abc'), names=('metrics',))
case('pipeline.stage_done(W/nonexistent, "k")', lambda: P.stage_done(__import__('pathlib').Path(W) / 'nonexistent', 'k'), ok=lambda r: r is None)
dd = __import__('pathlib').Path(os.path.dirname(wfile('sd/done.json', '{not json')))
for f in ['done.json', 'stage.json', 'metrics.json']: wfile(f'sd/{f}', b'{not json \xff')
case('pipeline.stage_done(<folder with corrupt json>, "k")', lambda: P.stage_done(dd, 'k'), ok=lambda r: r is None, names=('sd', 'json'))

# ---------------------------------------------------------------- CLI
PY = sys.executable
def cli(args, timeout=120, stdin=None):
    env = dict(os.environ); env.pop('INSTRUCT_NB_DEBUG', None)
    p = subprocess.run([PY, '-m', 'instruct_nb', *args], capture_output=True, text=True, timeout=timeout, cwd=W, env=env)
    return p
def cli_case(args, codes=(1, 2)):
    label = 'python -m instruct_nb ' + ' '.join(repr(a) if (' ' in a or not a) else a for a in args)
    signal.alarm(0)
    try: p = cli(args)
    except subprocess.TimeoutExpired:
        results.append(('SILENT', label, 'still running after 120 s: bad argument accepted, work started')); return
    tail = (p.stderr.strip().splitlines() or [''])[-1][:200]
    if 'Traceback' in p.stderr: results.append(('OBSCURE', label, f'exit {p.returncode}, Traceback in stderr: {tail}'))
    elif p.returncode in codes: results.append(('CLEAN', label, f'exit {p.returncode}: {tail}'))
    else: results.append(('SILENT', label, f'exit {p.returncode} (expected {codes}): stdout={p.stdout[-150:]!r} stderr={tail!r}'))
cli_cases = [
    ['bogus'], ['run', '--bogus'], ['run', '--seed', 'abc'], ['run', '--seed', 'nan'], ['run', '--stages', 'bogus'], ['run', '--stages', ','],
    ['run', '--stages', 'sft,bogus'], ['run', '--config', '/nonexistent.toml'], ['run', '--config', os.path.join(W, 'bad.toml')],
    ['run', '--config', os.path.join(W, 'nonutf8.toml')], ['run', '--config', os.path.join(W, 'list.yaml')],
    ['run', '--config', wfile('unk.toml', 'bogus_setting = 1\n')], ['run', '--config', wfile('neg.toml', 'sft_rows = -1\n')],
    ['run', '--config', wfile('nanlr.toml', '[sft]\nlr = nan\n')], ['run', '--device', 'gpu7'], ['run', '--model', '/nonexistent/model'],
    ['run', '--out', wfile('cli_outfile', 'x')], ['run', '--stages', 'rlhf', '--out', W + '/clirun_fresh'],
    ['run', '--config', os.path.join(W, 'python.yaml')], ['run', '--config', W],
    ['pretrain', '--bogus'], ['pretrain', '--device', 'gpu7'], ['pretrain', '--out', wfile('pt_outfile', 'x')],
    ['pretrain', '--steps', '-5'], ['pretrain', '--steps', 'nan'], ['pretrain', '--steps', '0'], ['pretrain', '--lr', 'nan'],
    ['pretrain', '--lr', '-1'],
    ['data', 'bogus'], ['data', 'fetch', 'bogus'], ['data', 'fetch', '--dest', wfile('data_destfile', 'x')], ['data'],
    ['data', 'fetch', 'all', '--base-url', 'file:///nonexistent'], ['data', 'fetch', 'all', '--base-url', 'not a url'],
    ['demo', '--steps', '0'], ['demo', '--steps', 'nan'], ['demo', '--steps', '-1'], ['demo', '--steps', '1.5'], ['demo', '--device', 'gpu7'],
    ['demo', '--seed', 'x'], ['demo', '--bogus'], ['demo', '--steps', 'inf'], ['demo', '--seed', '-1'],
]
for a in cli_cases:
    cli_case(a, codes=(1, 2) if a != ['demo', '--seed', '-1'] else (1, 2))

# ---------------------------------------------------------------- report
from collections import Counter
c = Counter(v for v, *_ in results)
print(f'TOTAL inputs tried: {len(results)}')
print('COUNTS:', dict(c))
for v in ['OBSCURE', 'SILENT', 'UNNAMED', 'CLEAN']:
    print(f'\n==================== {v} ({c[v]})')
    for vv, label, what in results:
        if vv == v: print(f'- {label}  ->  {what}')
