#!/usr/bin/env bash
# The whole test suite: package and README in sync with the notebooks, the notebooks as tests, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 MPLBACKEND=Agg
t0=$(date +%s)
echo "== nbdev_export: instruct_nb/ must match nbs/"
nbdev_export
if [ -d .git ] && [ -n "$(git status --porcelain -- instruct_nb)" ]; then
  echo "instruct_nb/ is out of sync with nbs/ (run nbdev_export and commit):"; git status --porcelain -- instruct_nb
  git --no-pager diff --stat -- instruct_nb; exit 1
fi
echo "== README.md must match nbs/index.ipynb"
python tools/render_readme.py --check
echo "== nbdev_test (notebooks; slow and gpu cells skipped)"
nbdev_test --timing
echo "== pytest"
pytest tests -q -p no:cacheprovider
echo "tests/run.sh: all passed in $(( $(date +%s) - t0 )) s"
