import os
for k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(k, '1')
os.environ.setdefault('MPLBACKEND', 'Agg')
import torch
torch.set_num_threads(1)  # tiny models: one thread beats two that contend with other work on a 2-core machine

# Property tests draw the same examples on every run (derandomize), so a run of the suite cannot fail by chance;
# `HYPOTHESIS_PROFILE=explore pytest tests` draws fresh random examples each run, to look for new failures.
from hypothesis import settings
settings.register_profile('fixed', derandomize=True)
settings.register_profile('explore', derandomize=False)
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'fixed'))
