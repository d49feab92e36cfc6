"""Convert between notebooks and a plain percent-format script, for editing notebooks safely.

    python tools/nbpy.py to-py nbs/00_core.ipynb /tmp/core.py     # notebook -> script (outputs dropped)
    python tools/nbpy.py to-nb /tmp/core.py nbs/00_core.ipynb     # script -> notebook (unexecuted)
    python tools/nbpy.py run nbs/00_core.ipynb [--slow]           # execute in place, keeping outputs (plots for the docs)

Script format: cells start with `# %%` (code) or `# %% [markdown]` (markdown; every line starts with `# `).
The script is scratch: the notebook is the source of truth and the only file committed.
"""
import re, sys
from pathlib import Path
import nbformat

def to_py(nb_path, py_path):
    nb = nbformat.read(nb_path, as_version=4)
    out = []
    for c in nb.cells:
        if c.cell_type == 'markdown':
            out.append('# %% [markdown]\n' + '\n'.join(('# ' + l) if l else '#' for l in c.source.splitlines()))
        else: out.append('# %%\n' + c.source)
    Path(py_path).write_text('\n\n'.join(out) + '\n')

def to_nb(py_path, nb_path):
    text = Path(py_path).read_text()
    parts = re.split(r'^# %%(.*)\n', text, flags=re.M)
    cells = []
    for hdr, body in zip(parts[1::2], parts[2::2]):
        body = body.rstrip('\n')
        if '[markdown]' in hdr:
            src = '\n'.join(l[2:] if l.startswith('# ') else l[1:] if l.startswith('#') else l for l in body.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(src))
        else: cells.append(nbformat.v4.new_code_cell(body))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}}
    nbformat.write(nb, nb_path)

def run(nb_path, *flags):
    "Execute a notebook in place with nbdev's test runner semantics (skipping flagged cells unless asked), keeping outputs."
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    import os
    nb = read_nb(nb_path)
    want = {f.lstrip('-') for f in flags}
    skip = {'gpu', 'slow', 'eval: false'} - want
    def keep(cell):
        if cell.cell_type != 'code': return False
        dirs = [l[3:].strip() for l in cell.source.splitlines() if l.startswith('#|')]
        return not any(d in skip for d in dirs)
    os.chdir(Path(nb_path).parent)
    sh = CaptureShell()
    for cell in nb.cells:
        if keep(cell):
            sh.cell(cell)
            errs = [o for o in cell.get('outputs', []) if o.get('output_type') == 'error']
            if errs: raise RuntimeError(f"cell failed:\n{cell.source}\n{errs[0].get('ename')}: {errs[0].get('evalue')}")
    write_nb(nb, Path(nb_path).name)

if __name__ == '__main__':
    cmd, *args = sys.argv[1:]
    {'to-py': to_py, 'to-nb': to_nb, 'run': run}[cmd](*args)
