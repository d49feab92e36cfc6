"""Build the docs site from the notebooks, offline: nbdev's notebook processing, then MkDocs with Material.

    python tools/build_docs.py --out _site           # build into _site/ (open _site/index.html in a browser)
    python tools/build_docs.py --out _site --force   # re-run nbdev's processing of every notebook first

`nbdev_docs` builds the same site with quarto from `nbs/_quarto.yml`, `nbs/nbdev.yml` and `nbs/sidebar.yml`, where
quarto is installed. This command needs no quarto and no network:

1. `nbdev.serve.proc_nbs` runs nbdev's docs processors on every notebook into `_proc/` (what `nbdev_docs` renders):
   hidden and exported cells removed, `show_doc` entries added and executed against the package, links added.
   Only those cells run; every other output is the one saved in the notebook. Unchanged notebooks are not redone.
2. Each processed notebook becomes a Markdown page with nbdev's page name (`00_core.ipynb` -> `core.html`) and its
   anchors (`core.html#train_loop`); quarto-only syntax (cell options, callouts, fenced divs) is converted.
3. MkDocs with the Material theme renders the pages in the order of `nbs/sidebar.yml`, with search, and math by the
   MathJax shipped in `jupyter-server-mathjax`. No page loads a font, script or stylesheet from the network.

Needs the `docs` extra: `pip install -e ".[docs]"` (the `dev` extra includes it).
"""
from __future__ import annotations
import argparse, base64, html, json, logging, os, re, shutil, sys, tempfile, time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# ----------------------------------------------------------------------------------------------------------------
# Names and anchors, as nbdev and quarto make them

def page_name(nb_path) -> str:
    "nbdev's page name for a notebook: `01a_world.ipynb` -> `world` (as `nbdev.doclinks._nbpath2html`)."
    return re.sub(r'^\d+[a-zA-Z0-9]*_', '', Path(nb_path).stem.lower())

def pandoc_slug(value: str, separator: str = '-') -> str:
    "The id pandoc (so quarto) gives a heading: `AdamWScale.step` -> `adamwscale.step`, `train_loop` -> `train_loop`."
    s = ''.join(c for c in value.strip() if c.isalnum() or c in '_-. \n')
    s = re.sub(r'\s+', '-', s).lower()
    i = next((i for i, c in enumerate(s) if c.isalpha()), len(s))
    return s[i:] or 'section'

# ----------------------------------------------------------------------------------------------------------------
# Navigation: nbs/sidebar.yml (quarto's format), in course order

def read_sidebar(nbs: Path) -> list:
    "The sidebar's entries: notebook names and `{'section': title, 'contents': [...]}` dicts."
    doc = yaml.safe_load((nbs / 'sidebar.yml').read_text())
    return doc['website']['sidebar']['contents']

def sidebar_files(entries) -> list[str]:
    "Every file the sidebar lists, in order."
    out = []
    for e in entries:
        if isinstance(e, str): out.append(e)
        elif isinstance(e, dict) and 'contents' in e: out += sidebar_files(e['contents'])
        elif isinstance(e, dict) and 'href' in e: out.append(e['href'])
    return out

def notebooks_missing_from_sidebar(nbs: Path) -> list[str]:
    "Notebooks in `nbs/` that `nbs/sidebar.yml` does not list (the site appends them; the test asks to list them)."
    listed = set(sidebar_files(read_sidebar(nbs)))
    return sorted(p.name for p in nbs.glob('*.ipynb') if p.name not in listed)

def mkdocs_nav(entries, titles: dict) -> list:
    "MkDocs `nav` from the sidebar, skipping files that are not there (yet)."
    nav = []
    for e in entries:
        if isinstance(e, str):
            if e in titles: nav.append({titles[e][1]: titles[e][0] + '.md'})
        elif isinstance(e, dict) and 'contents' in e:
            sub = mkdocs_nav(e['contents'], titles)
            if sub: nav.append({e.get('section', 'Section'): sub})
    return nav

# ----------------------------------------------------------------------------------------------------------------
# Quarto Markdown -> Python-Markdown (as MkDocs reads it)

_fence = re.compile(r'^(\s*)(`{3,}|~{3,})')
_list_item = re.compile(r'^( *)([-*+]|\d+[.)])( +)\S')
_callout = re.compile(r'^:::+\s*\{\s*\.callout-(\w+)([^}]*)\}\s*$')
_fdiv_open = re.compile(r'^(:::+)\s*\{([^}]*)\}\s*$')
_fdiv_close = re.compile(r'^:::+\s*$')
_shortcode = re.compile(r'\{\{<\s*(\w+)\s*([^>]*?)\s*>\}\}')
_span = re.compile(r'(?<![\]!\\])\[([^\[\]]+)\]\{([^}]*)\}')
_callout_kinds = dict(note='note', tip='tip', warning='warning', caution='danger', important='important')

def _segments(text):
    "Split Markdown into ('code' | 'math' | 'text', lines) runs: code fences and $$ display math are left alone."
    out, buf, kind, marker = [], [], 'text', None
    def flush(new_kind):
        nonlocal buf, kind
        if buf: out.append((kind, buf))
        buf, kind = [], new_kind
    for line in text.splitlines():
        m, s = _fence.match(line), line.strip()
        if kind == 'code':
            buf.append(line)
            if m and m.group(2)[0] == marker[0] and len(m.group(2)) >= len(marker) and not s[len(m.group(2)):]:
                flush('text')
        elif kind == 'math':
            buf.append(line)
            if s.endswith('$$'): flush('text')
        elif m: flush('code'); marker = m.group(2); buf.append(line)
        elif s.startswith('$$'):
            flush('math'); buf.append(line)
            if len(s) > 2 and s.endswith('$$'): flush('text')
        else: buf.append(line)
    flush('text')
    return out

def _fix_lists(lines):
    "CommonMark lists for Python-Markdown: a list may interrupt a paragraph, and nesting takes 4 spaces a level."
    out, cols, prev_blank, in_list = [], [], True, False      # cols: content columns of the open list items
    for line in lines:
        if not line.strip(): out.append(line); prev_blank = True; continue
        indent, m = len(line) - len(line.lstrip(' ')), _list_item.match(line)
        if m:
            while cols and indent < cols[-1]: cols.pop()
            interrupts = m.group(2) in ('-', '*', '+', '1.', '1)')
            if not cols and not prev_blank and interrupts and not in_list: out.append('')
            if cols or prev_blank or interrupts or in_list:
                out.append(' ' * (4 * len(cols)) + line.lstrip(' '))
                cols.append(indent + len(m.group(2)) + len(m.group(3)))
            else: out.append(line)
        elif cols and not (prev_blank and indent < cols[0]):
            while len(cols) > 1 and indent < cols[-1] and prev_blank: cols.pop()
            out.append(' ' * (4 * len(cols)) + line.lstrip(' '))
        else: cols = []; out.append(line)
        in_list, prev_blank = bool(cols), False
    return out

def _attrs(spec):
    "Pandoc attributes `.a .b #id k=v` -> (classes, id, the rest as a string)."
    classes = re.findall(r'(?<![\w"])\.([\w-]+)', spec)
    ident = re.findall(r'(?<![\w"])#([\w-]+)', spec)
    rest = re.sub(r'(?<![\w"])[.#][\w-]+', '', spec).strip()
    return classes, (ident[0] if ident else None), rest

def _fenced_divs(lines):
    "Callouts -> admonitions; other `::: {.class}` divs -> `<div class=... markdown>`."
    out, stack = [], []
    for line in lines:
        c, d = _callout.match(line), _fdiv_open.match(line)
        if c:
            kind = _callout_kinds.get(c.group(1), 'note')
            title = re.search(r'title\s*=\s*"([^"]*)"', c.group(2))
            collapse = re.search(r'collapse\s*=\s*"?true', c.group(2))
            out += ['', f'{"???" if collapse else "!!!"} {kind}' + (f' "{title.group(1)}"' if title else '')]
            stack.append('callout')
        elif d:
            classes, ident, _ = _attrs(d.group(2))
            idattr = f' id="{ident}"' if ident else ''
            out += ['', f'<div class="{" ".join(classes)}"{idattr} markdown>', '']
            stack.append('div')
        elif _fdiv_close.match(line) and stack:
            if stack.pop() == 'div': out += ['', '</div>', '']
            else: out.append('')
        elif stack and stack[-1] == 'callout':
            if out[-1].startswith(('!!!', '???')) and line.startswith('## ') and '"' not in out[-1]:
                out[-1] += f' "{line[3:].strip()}"'           # a callout's own heading is its title
            else: out.append(('    ' + line) if line.strip() else '')
        else: out.append(line)
    return out

def _spans(text):
    "Pandoc's bracketed spans `[text]{.class}` -> `<span class=...>`."
    def sub(m):
        classes, ident, rest = _attrs(m.group(2))
        attrs = (f' class="{" ".join(classes)}"' if classes else '') + (f' id="{ident}"' if ident else '')
        return f'<span{attrs}{" " + rest if rest else ""}>{m.group(1)}</span>'
    parts = re.split(r'(`+[^`]*?`+)', text)                                  # not inside inline code
    return ''.join(x if i % 2 else _span.sub(sub, x) for i, x in enumerate(parts))

def _shortcodes(text):
    "Quarto shortcodes have no MkDocs equivalent: keep a video as a link, drop the rest with a note in the log."
    def sub(m):
        if m.group(1) == 'video': return f'<{m.group(2).split()[0]}>'
        log.warning('quarto shortcode dropped: %s', m.group(0))
        return ''
    return _shortcode.sub(sub, text)

def convert_markdown(text: str, links) -> str:
    "One Markdown cell (or a Markdown output) as MkDocs reads it."
    out = []
    for kind, lines in _segments(text):
        if kind == 'code': out += [links.in_code(l) for l in lines]
        elif kind == 'math': out += ['', *lines, '']      # pandoc lets $$ math sit inside a paragraph; arithmatex not
        else: out += _fenced_divs(_fix_lists(links.in_md(_spans(_shortcodes('\n'.join(lines)))).splitlines()))
    return '\n'.join(out)

class Links:
    "Links into this site (nbdev writes them absolute, from `doc_host`/`doc_baseurl`) made relative: they work offline."
    def __init__(self, base: str):
        self.re = re.compile(re.escape(base.rstrip('/') + '/') + r'([\w./-]*?)\.html(#[^)\s"]*)?')
    def in_md(self, s):   return self.re.sub(lambda m: f'{m.group(1)}.md{m.group(2) or ""}', s)
    def in_html(self, s): return self.re.sub(lambda m: f'{m.group(1)}.html{m.group(2) or ""}', s)
    def in_code(self, s): return re.sub(r'\[(`[^`\]]+`)\]\([^)\s]+\)', lambda m: m.group(1).strip('`'), s)

# ----------------------------------------------------------------------------------------------------------------
# A processed notebook -> one Markdown page

_ansi = re.compile(r'\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])')
_dir_line = re.compile(r'^\s*#\|\s?(.*)$')

def _text(x): return ''.join(x) if isinstance(x, list) else (x or '')

def cell_options(source: str) -> tuple[dict, str]:
    "Quarto's `#| key: value` cell options (those nbdev leaves in place) and the code without them."
    lines, opts = source.splitlines(), []
    while lines and _dir_line.match(lines[0]): opts.append(_dir_line.match(lines.pop(0)).group(1))
    try: parsed = yaml.safe_load('\n'.join(o for o in opts if ':' in o)) or {}
    except yaml.YAMLError: parsed = {}
    return (parsed if isinstance(parsed, dict) else {}), '\n'.join(lines).strip('\n')

def _pre(text, cls):
    text = html.escape(_ansi.sub('', text.rstrip()))
    return f'\n<div class="cell-output {cls}"><pre><code>{text}</code></pre></div>\n'

def _fence_for(code, lang):
    ticks = '`' * max(3, 1 + max((len(m) for m in re.findall(r'`{3,}', code)), default=0))
    return f'{ticks}{lang}\n{code}\n{ticks}'

class Page:
    "Render one processed notebook into `docs/NAME.md`, its images into `docs/NAME_files/`."
    mime_order = ['image/svg+xml', 'image/png', 'image/jpeg', 'text/html', 'text/markdown', 'text/latex', 'text/plain']

    def __init__(self, nb: dict, name: str, docs: Path, links: Links):
        self.nb, self.name, self.docs, self.links = nb, name, docs, links
        self.images, self.fm = [], {}

    def output(self, out, idx, k) -> str:
        kind = out.get('output_type')
        if kind == 'stream':
            return _pre(_text(out.get('text')), f"cell-output-{'stderr' if out.get('name') == 'stderr' else 'stdout'}")
        if kind == 'error': return _pre('\n'.join(out.get('traceback', [])), 'cell-output-error')
        data = out.get('data', {})
        mime = next((m for m in self.mime_order if m in data), None)
        if mime is None: return ''
        val = _text(data[mime])
        if mime in ('image/png', 'image/jpeg'):
            ext = 'png' if mime == 'image/png' else 'jpg'
            rel = f'{self.name}_files/figure-html/cell-{idx}-output-{k}.{ext}'
            (self.docs / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.docs / rel).write_bytes(base64.b64decode(val))
            self.images.append(rel)
            width = out.get('metadata', {}).get(mime, {}).get('width')
            w = f' width="{width}"' if width else ''
            img = f'<img src="{rel}" alt="Figure: output of cell {idx}"{w}>'
            return f'\n<div class="cell-output cell-output-display">{img}</div>\n'
        if mime == 'image/svg+xml': return f'\n<div class="cell-output cell-output-display">{val}</div>\n'
        if mime == 'text/html':
            val = self.links.in_html(val)
            return f'\n<div class="cell-output cell-output-display" markdown="0">\n{val.strip()}\n</div>\n'
        if mime == 'text/markdown': return '\n' + convert_markdown(val, self.links) + '\n'
        if mime == 'text/latex': return f'\n{val}\n'
        return _pre(val, 'cell-output-display')

    def code_cell(self, cell, idx) -> str:
        opts, code = cell_options(_text(cell.get('source')))
        if str(opts.get('include', '')).lower() == 'false': return ''
        parts, lang = [], cell.get('metadata', {}).get('language', 'python')
        if code and opts.get('echo', True) is not False:
            block = _fence_for(code, lang)
            if opts.get('code-fold') in ('show', True, 'true'):
                summary = opts.get('code-summary', 'Code')
                open_ = '+' if opts.get('code-fold') == 'show' else ''
                body = '\n'.join(('    ' + l) if l else '' for l in block.splitlines())
                block = f'???{open_} quote "{summary}"\n{body}'
            parts.append(block)
        if opts.get('output', True) not in (False, 'false'):
            parts += [self.output(o, idx, k) for k, o in enumerate(cell.get('outputs', []), 1)]
        return '\n\n'.join(p for p in parts if p)

    def render(self) -> str:
        body = []
        for idx, cell in enumerate(self.nb['cells']):
            src = _text(cell.get('source'))
            if cell['cell_type'] == 'raw':
                if src.startswith('---') and not self.fm: self.fm = yaml.safe_load(src.strip().strip('-')) or {}
                elif cell.get('metadata', {}).get('raw_mimetype') in ('text/html', 'text/markdown'): body.append(src)
            elif cell['cell_type'] == 'markdown':
                if 'WARNING: THIS FILE WAS AUTOGENERATED' not in src: body.append(convert_markdown(src, self.links))
            elif cell['cell_type'] == 'code': body.append(self.code_cell(cell, idx))
        title = self.fm.get('title') or self.name
        head = f'# {title}\n'
        if self.fm.get('description'): head += f'\n{self.fm["description"]}\n{{: .description }}\n'
        return head + '\n\n' + '\n\n'.join(b for b in body if b.strip()) + '\n'

# ----------------------------------------------------------------------------------------------------------------
# The site

log = logging.getLogger('build_docs')

MATHJAX_CONFIG = r"""window.MathJax = {
  config: ["TeX-AMS-MML_HTMLorMML-full.js"],
  tex2jax: {inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: true,
            ignoreClass: ".*|", processClass: "arithmatex"},
  TeX: {extensions: ["AMSmath.js", "AMSsymbols.js", "noErrors.js", "noUndefined.js"]},
  "HTML-CSS": {availableFonts: [], imageFont: null, preferredFont: null, webFont: "STIX-Web",
               linebreaks: {automatic: false}},
  messageStyle: "none"
};
"""

# Material's search runs in a Web Worker, which browsers refuse to start from a file:// page. Its `offline` plugin
# fixes that with a polyfill loaded from a CDN; this one is local: it runs the worker script in a hidden iframe.
FILE_WORKER_SHIM = r"""(function () {
  if (location.protocol !== "file:") return;
  function FileWorker(url) {
    var outside = new EventTarget(), inside = new EventTarget(), queue = [], ready = false;
    var frame = document.createElement("iframe");
    frame.hidden = true; frame.setAttribute("aria-hidden", "true");
    (document.body || document.documentElement).appendChild(frame);
    var win = frame.contentWindow;
    function send(target, data) {
      setTimeout(function () { target.dispatchEvent(new MessageEvent("message", {data: data})); });
    }
    win.addEventListener = inside.addEventListener.bind(inside);
    win.postMessage = function (data) { send(outside, data); };
    win.importScripts = function () { throw new Error("importScripts is not available on file:// pages"); };
    this.addEventListener = outside.addEventListener.bind(outside);
    this.removeEventListener = outside.removeEventListener.bind(outside);
    this.postMessage = function (data) { ready ? send(inside, data) : queue.push(data); };
    this.terminate = function () { frame.remove(); };
    var script = win.document.createElement("script");
    script.onload = function () { ready = true; queue.splice(0).forEach(function (d) { send(inside, d); }); };
    script.src = new URL(url, location.href).href;
    win.document.head.appendChild(script);
  }
  window.Worker = FileWorker;
})();
"""

EXTRA_CSS = """/* MkDocs-only layout; nbs/styles.css (shared with quarto) comes first. */
.md-grid { max-width: 90rem; }
.md-typeset .description { font-size: 1.05rem; font-style: italic; opacity: .75; margin-top: -.6rem; }
.md-typeset pre > code { font-size: .72rem; }
.md-typeset .cell-output pre { margin: 0 0 1em .8rem; }
.md-typeset .cell-output pre > code { background: none; white-space: pre; overflow-x: auto; }
.md-typeset .cell-output-display img { max-width: 100%; height: auto; }
.md-typeset .cell-output-display { overflow-x: auto; margin-bottom: 1em; }
.md-typeset .cell-output-display table.dataframe { font-size: .7rem; border-collapse: collapse; border: none; }
.md-typeset .cell-output-display table.dataframe th, .md-typeset .cell-output-display table.dataframe td {
  padding: .25em .7em; border: none; border-bottom: 1px solid var(--md-default-fg-color--lightest); text-align: right; }
.md-typeset .cell-output-display table.dataframe thead th {
  border-bottom: 1px solid var(--md-default-fg-color--light); }
.md-typeset .cell-output-display table.dataframe tbody tr:hover { background: var(--md-accent-fg-color--transparent); }
.md-typeset .arithmatex { overflow-x: auto; overflow-y: hidden; }
"""

def mathjax_dir() -> Path:
    "MathJax 2 as shipped by `jupyter-server-mathjax` (the copy Jupyter's own tools serve offline)."
    import jupyter_server_mathjax
    return Path(jupyter_server_mathjax.__file__).parent / 'static'

def copy_mathjax(dest: Path):
    "The parts of MathJax this site uses: TeX in, HTML-CSS out with its STIX web fonts (local), the menu; ~4 of 12 MB."
    skip = shutil.ignore_patterns('mathjax-sre.js', 'mathmaps', 'SVG', '*.mp3', '*.ogg')
    src = mathjax_dir()
    for k in ['MathJax.js', 'LICENSE', 'config', 'extensions', 'jax', 'fonts', 'localization/en']:
        s, d = src / k, dest / k
        if s.is_dir(): shutil.copytree(s, d, ignore=skip, dirs_exist_ok=True)
        elif s.exists(): d.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(s, d)

def site_meta(nbs: Path) -> dict:
    "Title and description, from nbs/nbdev.yml (what quarto reads) or settings.ini."
    y = nbs / 'nbdev.yml'
    web = (yaml.safe_load(y.read_text()) or {}).get('website', {}) if y.exists() else {}
    from nbdev.config import get_config
    cfg = get_config()
    return dict(title=web.get('title') or cfg.repo, description=web.get('description') or cfg.description,
                base=(web.get('site-url') or cfg.doc_host + cfg.doc_baseurl), repo=web.get('repo-url') or cfg.git_url)

def process_notebooks(nbs: Path, force=False, n_workers=None) -> Path:
    "nbdev's docs processing of every notebook into `_proc/` (only notebooks changed since the last run)."
    from nbdev.serve import proc_nbs
    n_workers = min(2, os.cpu_count() or 1) if n_workers is None else n_workers
    cache = ROOT / '_proc'
    before = cache.stat().st_mtime if cache.exists() else None
    try: return Path(proc_nbs(nbs, n_workers=n_workers, force=force))
    except Exception as e:
        # nbdev skips a notebook older than the cache folder; put its time back so the failed one is redone next time
        if before is not None and cache.exists(): os.utime(cache, (before, before))
        errors = re.findall(r'^(\w+(?:Error|Exception): .*)$', str(e.__cause__ or ''), re.M)   # the worker's traceback
        cause = next((x for x in errors if not x.startswith('Exception: Error in')), type(e).__name__)
        raise SystemExit(f'build_docs: nbdev could not process a notebook, {cause}\n{e}\n'
                         'To build the docs nbdev runs only the cells that export, import or call show_doc. A cell '
                         'that imports and also runs other code is run out of context: put its imports in a cell '
                         'of their own (the nbdev FAQ).') from e

class _Collect(logging.Handler):
    def __init__(self): super().__init__(logging.WARNING); self.records = []
    def emit(self, r): self.records.append(r.getMessage())

def build(out, force=False, n_workers=None, strict=False, keep_md=None) -> dict:
    "Build the site into `out`; returns timings, pages and the warnings MkDocs raised (broken links, anchors)."
    from mkdocs.config import load_config
    from mkdocs.commands.build import build as mk_build
    t0, out = time.time(), Path(out).resolve()
    if out.exists() and any(out.iterdir()) and not (out / 'sitemap.xml').exists():
        raise SystemExit(f'build_docs: {out} is not empty and is not a site built before: not replacing it')
    os.chdir(ROOT)                                  # nbdev_docs runs the processors from the project root too
    nbs = ROOT / 'nbs'
    meta = site_meta(nbs)
    proc = process_notebooks(nbs, force=force, n_workers=n_workers)
    t_proc = time.time() - t0
    entries = read_sidebar(nbs)
    files = sidebar_files(entries)
    missing = notebooks_missing_from_sidebar(nbs)
    for m in missing: log.warning('%s is not in nbs/sidebar.yml: appended at the end of the navigation', m)
    links = Links(meta['base'])
    with tempfile.TemporaryDirectory(prefix='instruct_nb_docs_') as tmp:
        docs = Path(keep_md or tmp) / 'docs'
        shutil.rmtree(docs, ignore_errors=True); docs.mkdir(parents=True)
        titles, pages = {}, {}
        for fname in files + missing:
            src = proc / fname
            if not fname.endswith('.ipynb') or not (nbs / fname).exists() or not src.exists(): continue
            name = page_name(fname)
            page = Page(json.loads(src.read_text()), name, docs, links)
            (docs / f'{name}.md').write_text(page.render())
            titles[fname] = (name, 'Home' if name == 'index' else page.fm.get('title', name))
            pages[fname] = dict(page=f'{name}.html', images=page.images)
        if (nbs / 'images').is_dir(): shutil.copytree(nbs / 'images', docs / 'images')   # figures markdown cells link to
        assets = docs / 'assets'
        copy_mathjax(assets / 'mathjax')
        (assets / 'mathjax-config.js').write_text(MATHJAX_CONFIG)
        (assets / 'iframe-worker-shim.js').write_text(FILE_WORKER_SHIM)
        styles = nbs / 'styles.css'
        (assets / 'styles.css').write_text((styles.read_text() if styles.exists() else '') + '\n' + EXTRA_CSS)
        nav = mkdocs_nav(entries + missing, titles)
        cfg = dict(
            site_name=meta['title'], site_description=meta['description'], docs_dir=str(docs), site_dir=str(out),
            use_directory_urls=False, nav=nav, strict=False,
            theme=dict(name='material', font=False, features=['navigation.sections', 'navigation.top', 'toc.follow',
                                                             'search.highlight', 'content.code.copy'],
                       palette=[dict(scheme='default', primary='indigo', accent='indigo')]),
            plugins=['search', 'offline'],
            extra=dict(social=[dict(icon='fontawesome/brands/github', link=meta['repo'])], generator=False,
                       polyfills=['assets/iframe-worker-shim.js']),   # named so the offline plugin adds no CDN copy
            extra_css=['assets/styles.css'],
            extra_javascript=['assets/mathjax-config.js', 'assets/mathjax/MathJax.js'],
            markdown_extensions=[
                'tables', 'attr_list', 'md_in_html', 'admonition', 'footnotes', 'def_list', 'sane_lists',
                'pymdownx.details', 'pymdownx.superfences',
                {'pymdownx.highlight': {'pygments_lang_class': True}},
                {'pymdownx.arithmatex': {'generic': True}},
                {'toc': {'permalink': True, 'slugify': pandoc_slug, 'toc_depth': 3}}],
            validation=dict(omitted_files='info', absolute_links='info', unrecognized_links='info',
                            anchors='warn', not_found='warn'))
        cfg_file = Path(tmp) / 'mkdocs.yml'
        cfg_file.write_text('site_name: placeholder\n')   # load_config wants a file; the values come from `cfg`
        handler = _Collect()
        logging.getLogger('mkdocs').addHandler(handler)
        try:
            config = load_config(config_file=str(cfg_file), **cfg)
            t1 = time.time()
            mk_build(config)
        finally: logging.getLogger('mkdocs').removeHandler(handler)
    warnings = handler.records
    res = dict(out=str(out), pages=pages, warnings=warnings, missing_from_sidebar=missing,
               seconds=dict(process=round(t_proc, 1), render=round(time.time() - t1, 1),
                            total=round(time.time() - t0, 1)))
    if strict and warnings: raise SystemExit('build_docs: warnings in strict mode:\n' + '\n'.join(warnings))
    return res

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', required=True, help='folder for the built site (replaced)')
    p.add_argument('--force', action='store_true', help="re-run nbdev's processing of every notebook")
    p.add_argument('--workers', type=int, default=None, help='processes for the notebook processing (default 2)')
    p.add_argument('--strict', action='store_true', help='fail on broken links or anchors')
    p.add_argument('--keep-md', default=None, help='also keep the generated Markdown pages in this folder')
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    res = build(a.out, force=a.force, n_workers=a.workers, strict=a.strict, keep_md=a.keep_md)
    s = res['seconds']
    print(f"build_docs: {len(res['pages'])} pages in {res['out']} ({s['total']} s: notebooks {s['process']} s, "
          f"site {s['render']} s); {len(res['warnings'])} warnings; open {res['out']}/index.html")

if __name__ == '__main__': main()
