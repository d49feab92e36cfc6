import os
for k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(k, '1')
os.environ.setdefault('MPLBACKEND', 'Agg')
