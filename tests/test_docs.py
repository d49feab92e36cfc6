"""The docs site: `python tools/build_docs.py --out DIR` builds one page per notebook, offline, with the API entries,
the plots, local math and search, and nothing fetched from the network."""
import ast, importlib, json, re, subprocess, sys, time
from pathlib import Path

import nbformat, pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import build_docs as bd

NBS = sorted((ROOT / 'nbs').glob('*.ipynb'))

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The site, built once by the command itself (nbdev's processing is cached in _proc/, as for nbdev_docs)."
    out = tmp_path_factory.mktemp('docs') / 'site'
    t0 = time.time()
    res = subprocess.run([sys.executable, 'tools/build_docs.py', '--out', str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    print(f'\n{res.stdout.strip()} [{time.time() - t0:.1f} s in the test]')
    return out

def _page(site, name): return (site / name).read_text(encoding='utf-8')

def _modidx():
    "instruct_nb/_modidx.py as nbdev wrote it: {qualified name: ('page.html#anchor', file)}."
    src = (ROOT / 'instruct_nb' / '_modidx.py').read_text()
    d = ast.literal_eval(src[src.index('d = ') + 4:])
    return {k: v for mod in d['syms'].values() for k, v in mod.items()}

# ---------------------------------------------------------------------------------------------------------------
# The pieces, without a build

def test_page_names_and_anchors_follow_nbdev():
    assert [bd.page_name(n) for n in ('00_core.ipynb', '01a_world.ipynb', '90_cli.ipynb', 'index.ipynb')] == \
        ['core', 'world', 'cli', 'index']
    assert bd.pandoc_slug('train_loop') == 'train_loop'
    assert bd.pandoc_slug('AdamWScale.step') == 'adamwscale.step'            # as in _modidx: core.html#adamwscale.step
    assert bd.pandoc_slug("2. Why Hoffmann's values misfit") == 'why-hoffmanns-values-misfit'

def test_quarto_markdown_converted():
    links = bd.Links('https://instruct-nb.github.io/instruct-nb')
    md = bd.convert_markdown('See [`x`](https://instruct-nb.github.io/instruct-nb/core.html#train_loop):\n'
                             '- one\n  - nested\n\n::: {.callout-tip}\n## Remember\nBody.\n:::\n'
                             'so that\n$$a = b$$\n[big]{.mark} [l](u){target="_blank"}\n```python\ndef f(a=[`g`](https://x.io/a.html#g)): pass\n```', links)
    assert '(core.md#train_loop)' in md                                      # relative, checked by MkDocs
    assert 'so that\n\n- one\n    - nested' not in md and ':\n\n- one\n    - nested' in md  # a list after a line
    assert '!!! tip "Remember"\n    Body.' in md and ':::' not in md         # callout -> admonition
    assert '\n\n$$a = b$$\n\n' in md                                          # display math gets its own block
    assert 'def f(a=g): pass' in md                                          # no Markdown link inside code
    assert '<span class="mark">big</span> [l](u){target="_blank"}' in md     # spans; attr_list reads the rest

def test_cell_options_and_outputs():
    opts, code = bd.cell_options('#| echo: false\n#| output: asis\nshow_doc(f)')
    assert opts == {'echo': False, 'output': 'asis'} and code == 'show_doc(f)'
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_raw_cell('---\ntitle: T\ndescription: D\n---'),
        nbformat.v4.new_code_cell('#| include: false\nsecret()'),
        nbformat.v4.new_code_cell('#| code-fold: show\n#| code-summary: "Exported source"\ndef f(): pass',
                                  outputs=[nbformat.v4.new_output('stream', text='a < b\n')])])
    md = bd.Page(json.loads(nbformat.writes(nb)), 't', Path('.'), bd.Links('https://h/b')).render()
    assert md.startswith('# T\n\nD\n{: .description }') and 'secret' not in md
    assert '???+ quote "Exported source"\n    ```python\n    def f(): pass' in md
    assert '<pre><code>a &lt; b</code></pre>' in md

def test_sidebar_lists_every_notebook_in_course_order():
    missing = bd.notebooks_missing_from_sidebar(ROOT / 'nbs')
    assert not missing, f'add {missing} to nbs/sidebar.yml, where they belong in the course'
    files = bd.sidebar_files(bd.read_sidebar(ROOT / 'nbs'))
    assert files[0] == 'index.ipynb' and files[-2:] == ['90_cli.ipynb', '91_main.ipynb']
    assert files.index('03a_corpus.ipynb') < files.index('03_pretrain.ipynb') < files.index('07_scaling.ipynb')
    assert files.index('08b_judge.ipynb') < files.index('09_pipeline.ipynb') < files.index('90_cli.ipynb')

# ---------------------------------------------------------------------------------------------------------------
# The built site

@pytest.mark.parametrize('nb', NBS, ids=lambda p: p.stem)
def test_one_page_per_notebook(site, nb):
    html = _page(site, bd.page_name(nb) + '.html')
    title = re.search(r'<h1[^>]*>(.*?)</h1>', html, re.S)
    assert title and title.group(1).strip(), f'{nb.name}: no title'
    text = re.sub(r'<[^>]+>', ' ', html)
    for marker in ('#| export', '#| hide', 'default_exp', 'nbdev_export()', 'from nbdev.showdoc import',
                   '{target=', '::: {', '#| echo', '#| code-fold', 'WARNING: THIS FILE WAS AUTOGENERATED'):
        assert marker not in text, f'{nb.name}: {marker!r} shows on the page'
    assert 'https://instruct-nb.github.io/instruct-nb/' not in html, f'{nb.name}: links to the site are not relative'

def test_api_entries_of_every_module(site):
    "Each public function and class in `_modidx` has its entry, at nbdev's anchor (e.g. core.html#train_loop)."
    missing = []
    for name, (url, _) in _modidx().items():
        mod, _, sym = name.partition('.')[2].partition('.')
        if '.' in sym or sym.startswith('_') or mod.startswith('_'): continue    # methods and private helpers: no entry
        if sym not in importlib.import_module(f'instruct_nb.{mod}').__all__: continue   # `#| exporti`: internal
        page, anchor = url.split('#')
        if not (site / page).exists(): missing.append(f'{page} (no page)'); continue
        if f'id="{anchor}"' not in _page(site, page): missing.append(url)
    assert not missing, missing
    core = _page(site, 'core.html')
    assert 'id="train_loop"' in core and '<h3 id="train_loop"' in core

def test_plots_are_on_the_pages(site):
    "Every image a notebook shows is on its page, saved as a file next to it."
    for nb in NBS:
        cells = nbformat.read(nb, as_version=4).cells
        shown = [c for c in cells if c.cell_type == 'code'
                 and not re.search(r'^#\|\s*(hide|export|exporti|include:\s*false|output:\s*false)\b', c.source, re.M)]
        n = sum(1 for c in shown for o in c.get('outputs', []) if {'image/png', 'image/jpeg'} & set(o.get('data', {})))
        html = _page(site, bd.page_name(nb) + '.html')
        srcs = re.findall(r'<img src="([^"]+_files/figure-html/[^"]+)"', html)
        assert len(srcs) == n, f'{nb.name}: {len(srcs)} images on the page, {n} in the notebook'
        for s in srcs: assert (site / s).stat().st_size > 1000, s
    assert len(re.findall(r'<img src="scaling_files/', _page(site, 'scaling.html'))) >= 5

def test_nothing_fetched_from_the_network(site):
    "No page or stylesheet loads a script, stylesheet or font over http(s); math and search are local."
    remote = re.compile('|'.join([
        r'<script[^>]+src="(?:https?:)?//',                                      # a script
        r'<link[^>]+rel="(?:stylesheet|preload|preconnect)"[^>]+href="(?:https?:)?//',   # a stylesheet or font
        r'<link[^>]+href="(?:https?:)?//[^"]*"[^>]*rel="(?:stylesheet|preload|preconnect)"',
        r'@import\s+(?:url\()?["\']?(?:https?:)?//', r'url\(["\']?(?:https?:)?//',   # ... from CSS
        r'fonts\.googleapis', r'fonts\.gstatic', r'unpkg\.com', r'cdn\.jsdelivr']), re.I)
    files = list(site.rglob('*.html')) + list(site.rglob('*.css'))
    assert len(files) > len(NBS)
    bad = [f'{f.relative_to(site)}: {m.group(0)}' for f in files for m in remote.finditer(f.read_text(errors='ignore'))]
    assert not bad, bad[:10]
    scaling = _page(site, 'scaling.html')
    assert 'class="arithmatex"' in scaling and 'src="assets/mathjax/MathJax.js"' in scaling
    mathjax = site / 'assets' / 'mathjax'
    assert (mathjax / 'MathJax.js').exists() and (mathjax / 'config' / 'TeX-AMS-MML_HTMLorMML-full.js').exists()
    assert (site / 'assets' / 'iframe-worker-shim.js').exists()             # search on file:// pages, no CDN polyfill

def test_navigation_and_search(site):
    index = _page(site, 'index.html')
    listed = bd.sidebar_files(bd.read_sidebar(ROOT / 'nbs'))
    order = [bd.page_name(f) + '.html' for f in listed if (ROOT / 'nbs' / f).exists()]
    nav = [h for h in re.findall(r'<a href="([\w.]+\.html)" class="md-nav__link', index) if h in order]
    seen = list(dict.fromkeys(nav))
    assert seen == [o for o in order if o in seen] and len(seen) >= len(order) - 1, (seen, order)
    docs = json.loads((site / 'search' / 'search_index.json').read_text())['docs']
    assert any(d['location'].startswith('core.html') for d in docs)
    assert any('train_loop' in d['title'] for d in docs)
    assert (site / 'search' / 'search_index.js').exists()                   # search from file:// pages
