import os
for k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(k, '1')
os.environ.setdefault('MPLBACKEND', 'Agg')
import torch
torch.set_num_threads(1)  # tiny models: one thread beats two that contend with other work on a 2-core machine
