"Tests for instruct_nb.scaling: the Chinchilla objective and fits, the replication numbers, power laws, the sweep."
import glob, math, re
from pathlib import Path
import numpy as np
import pytest
import torch
import instruct_nb
from instruct_nb.core import shared_data
from instruct_nb.scaling import (SCALING_DATA, ChinchillaFit, PowerLawFit, SweepConfig, batched_lbfgs, chinchilla_grid,
                                 chinchilla_objective, chinchilla_objective_np, fit_chinchilla, fit_chinchilla_loop,
                                 fit_chinchilla_mle, fit_power_law, huber, huber_nll, load_chinchilla, load_flan_table3,
                                 load_flan_table5, profile_plateau, read_csv, run_sweep)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ['chinchilla_svg_extracted_data.csv', 'flan_table3_num_tasks.csv', 'flan_table5_model_size.csv']

@pytest.fixture(scope='module', autouse=True)
def one_thread():
    "One torch thread: on small shared CPUs intra-op threads mostly wait on each other (see the notebook)."
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

@pytest.fixture(scope='module')
def chin():
    return load_chinchilla()

@pytest.fixture(scope='module')
def grid_fit(chin):
    return fit_chinchilla(chin['N'], chin['D'], chin['L'])

def _synthetic(seed=0, noise=0.002):
    rng = np.random.default_rng(seed)
    N, D = np.geomspace(1e7, 1e10, 12).repeat(6), np.tile(np.geomspace(1e9, 1e12, 6), 12)
    true = ChinchillaFit(E=1.7, A=400., B=1500., alpha=0.33, beta=0.3)
    return N, D, true.predict(N, D) * np.exp(rng.normal(0, noise, len(N))), true

def test_objective_matches_autograd_and_numpy():
    torch.manual_seed(0)
    logN, logD = torch.rand(40, dtype=torch.float64) * 6 + 17, torch.rand(40, dtype=torch.float64) * 6 + 20
    logL = torch.rand(40, dtype=torch.float64) * 0.5 + 0.7
    P = torch.rand(5, 5, dtype=torch.float64) * torch.tensor([10., 10., 1., 1., 1.], dtype=torch.float64)
    for mean in (False, True):
        f, g = chinchilla_objective(P, logN, logD, logL, mean=mean)
        for i in range(len(P)):
            p = P[i].clone().requires_grad_()
            a, b, e, al, be = p
            pred = torch.logsumexp(torch.stack([a - al * logN, b - be * logD, e.expand_as(logN)]), 0)
            ref = torch.nn.functional.huber_loss(pred, logL, delta=1e-3, reduction='mean' if mean else 'sum')
            ref.backward()
            assert torch.allclose(f[i], ref.detach(), rtol=1e-12) and torch.allclose(g[i], p.grad, rtol=1e-10, atol=1e-15)
            fn, gn = chinchilla_objective_np(P[i].numpy(), logN.numpy(), logD.numpy(), logL.numpy(), mean=mean)
            assert math.isclose(fn, f[i].item(), rel_tol=1e-12) and np.allclose(gn, g[i].numpy(), rtol=1e-10, atol=1e-15)

def test_huber_and_likelihood_normaliser():
    from scipy.integrate import quad
    assert np.allclose(huber(np.array([5e-4, -3e-3])), [5e-4 ** 2 / 2, 1e-3 * (3e-3 - 5e-4)])
    Zinv = math.exp(-huber_nll(np.zeros(1), 1.0, 1e-3))
    assert math.isclose(quad(lambda u: math.exp(-huber(np.array(u), 1e-3)), -np.inf, np.inf, limit=200)[0] * Zinv, 1, rel_tol=1e-6)

def test_grid():
    G = chinchilla_grid()
    assert G.shape == (4500, 5) and [len(np.unique(G[:, j])) for j in range(5)] == [6, 6, 5, 5, 5]

def test_batched_lbfgs_rosenbrock_rows_independent():
    def rosen(P):
        x, y = P[:, 0], P[:, 1]
        return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2, torch.stack([-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)], 1)
    P0 = torch.tensor([[-1.2, 1.0], [0.0, 0.0], [2.0, 2.0]], dtype=torch.float64)
    P, f, nit = batched_lbfgs(rosen, P0, iters=500, ftol=0, gtol=1e-9)
    assert torch.allclose(P, torch.ones_like(P), atol=1e-6)
    P1, _, nit1 = batched_lbfgs(rosen, P0[2:], iters=500, ftol=0, gtol=1e-9)
    assert torch.allclose(P1[0], P[2], atol=1e-9) and nit1[0] == nit[2]

def test_compute_optimal_closed_form():
    fit = ChinchillaFit(E=1.8172, A=477.8, B=2143, alpha=0.3473, beta=0.3672)
    for C in (1e20, 5.76e23):
        Ns = np.geomspace(1e7, 1e13, 200_001)
        n_bf = Ns[np.argmin(fit.predict(Ns, C / (6 * Ns)))]
        n, d = fit.compute_optimal(C)
        assert abs(n / n_bf - 1) < 1e-3 and math.isclose(6 * n * d, C, rel_tol=1e-9)

def test_fit_recovers_synthetic_law_and_beats_loop():
    N, D, L, true = _synthetic()
    starts = chinchilla_grid()[np.random.default_rng(0).choice(4500, 300, replace=False)]
    fit = fit_chinchilla(N, D, L, starts=starts)
    assert np.allclose([fit.E, fit.alpha, fit.beta], [true.E, true.alpha, true.beta], rtol=0.03)
    assert fit.loss <= fit_chinchilla_loop(N, D, L, starts=starts[:40]).loss + 1e-12

def test_fit_errors_name_the_field():
    with pytest.raises(ValueError, match=r'N\[1\] = -1.0'): fit_chinchilla([1e8, -1, 1e9, 1e9, 1e9], [1e10] * 5, [3.] * 5)
    with pytest.raises(ValueError, match=r'L\[2\] = nan'): fit_chinchilla([1e8] * 5, [1e10] * 5, [3., 3., np.nan, 3., 3.])
    with pytest.raises(ValueError, match='lengths 5, 4, 5'): fit_chinchilla([1e8] * 5, [1e10] * 4, [3.] * 5)
    with pytest.raises(ValueError, match='need at least 5'): fit_chinchilla([1e8] * 3, [1e10] * 3, [3.] * 3)

def test_replication_grid_fit(chin, grid_fit):
    "Besiroglu et al. 2024: A = 477.8, B = 2143, E = 1.8172, alpha = 0.3473, beta = 0.3672 (within 1%)."
    assert len(chin['N']) == 240
    got = [grid_fit.A, grid_fit.B, grid_fit.E, grid_fit.alpha, grid_fit.beta]
    assert np.allclose(got, [477.8, 2143, 1.8172, 0.3473, 0.3672], rtol=0.01), got

def test_hoffmann_printed_values_misfit(chin, grid_fit):
    hoff = ChinchillaFit(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
    data = [np.log(chin[k]) for k in ('N', 'D', 'L')]
    assert chinchilla_objective_np(hoff.params, *data)[0] > 3 * grid_fit.loss

def test_averaged_loss_stops_early(chin, grid_fit):
    starts = chinchilla_grid()[np.random.default_rng(0).choice(4500, 60, replace=False)]
    data = [np.log(chin[k]) for k in ('N', 'D', 'L')]
    summed = fit_chinchilla_loop(chin['N'], chin['D'], chin['L'], starts=starts)
    mean = fit_chinchilla_loop(chin['N'], chin['D'], chin['L'], starts=starts, mean=True)
    assert np.median([r.nit for r in mean.info['runs']]) < 0.5 * np.median([r.nit for r in summed.info['runs']])
    assert chinchilla_objective_np(mean.params, *data)[0] > 1.5 * grid_fit.loss
    assert summed.loss < 1.001 * grid_fit.loss

def test_replication_likelihood_fit(chin, grid_fit):
    "Besiroglu et al. 2024 headline fit: A = 482.01, B = 2085.43, E = 1.817, alpha = 0.3478, beta = 0.3658."
    mle = fit_chinchilla_mle(chin['N'], chin['D'], chin['L'], init=grid_fit)
    assert np.allclose([mle.A, mle.B], [482.01, 2085.43], rtol=0.015)
    assert np.allclose([mle.E, mle.alpha, mle.beta], [1.817, 0.3478, 0.3658], rtol=0.002)
    assert 1e-6 < mle.info['sigma'] < 1e-4

def test_likelihood_bootstrap_runs():
    N, D, L, _ = _synthetic(noise=0.01)
    init = fit_chinchilla(N, D, L, starts=chinchilla_grid()[::60])
    mle = fit_chinchilla_mle(N, D, L, init=init, n_boot=3)
    assert mle.info['boot'].shape == (3, 5) and all(v > 0 for v in mle.info['se'].values())

def test_power_law():
    rng = np.random.default_rng(0)
    x = np.geomspace(1, 1e4, 30)
    pl = fit_power_law(x, 2 + 5 * x ** -0.4 * np.exp(rng.normal(0, 0.01, 30)), n_boot=30)
    assert np.allclose([pl.c, pl.a, pl.b], [2, 5, 0.4], rtol=0.05) and set(pl.ci) == {'c', 'a', 'b', 'x_plateau'}
    pl0 = fit_power_law(x, 5 * x ** -0.4, plateau=False, n_boot=0)
    assert np.allclose([pl0.a, pl0.b], [5, 0.4], rtol=1e-6) and pl0.c == 0
    assert math.isclose(PowerLawFit(80, -20, 0.5).x_plateau(1.0), (20 * (1 - 10 ** -0.5)) ** 2)
    with pytest.raises(ValueError, match=r'y\[1\] = 0.0'): fit_power_law([1, 2, 3], [1, 0, 2])
    with pytest.raises(ValueError, match='2 distinct x values'): fit_power_law([1, 1, 2, 2], [1, 2, 3, 4])

def test_plateau_of_few_points_is_uncertain():
    "Flan-PaLM 540B, Chung et al. Table 3: four task counts cannot pin the plateau; the interval widens with sigma."
    x, y = load_flan_table3()[540]
    x, y = x[1:], y[1:]
    ft = fit_power_law(x, y, n_boot=0)
    assert 'warning' in ft.info and y.max() - 1 < ft.c < 65
    p1, p05 = (profile_plateau(x, y, s, np.linspace(y.max() + 0.01, y.max() + 40, 200)) for s in (1.0, 0.5))
    assert p1['lo'] <= ft.c <= p1['hi'] and p1['hi'] - p1['lo'] > p05['hi'] - p05['lo'] > 1

def test_flan_table3():
    t = load_flan_table3()
    assert sorted(t) == [8, 62, 540]
    x, y = t[540]
    assert list(x) == [0, 9, 89, 282, 1836] and y[-1] == 58.5
    ft = fit_power_law(x[1:], y[1:], n_boot=0)
    assert ft.c > y[-1] - 1 and ft.a < 0

def test_sweep_tiny():
    rows = run_sweep(SweepConfig.tiny(), progress=False)
    assert len(rows) == 4 and all(np.isfinite(r['loss']) and 0 < r['loss'] < math.log(268) + 1 for r in rows)
    by = {(r['d_model'], r['D']): r['loss'] for r in rows}
    assert by[(32, 4096)] < by[(32, 2048)]

def test_flan_table5():
    t = load_flan_table5()
    assert sorted(t) == ['PaLM', 'T5', 'U-PaLM', 'cont-PaLM']
    N, base, flan = t['T5']
    assert list(N) == [8e7, 2.5e8, 7.8e8, 3e9, 1.1e10] and base[0] == -9.2 and flan[-1] == 23.7
    N, base, flan = t['PaLM']
    assert list(N) == [8e9, 6.2e10, 5.4e11] and np.allclose(flan - base, [15.5, 10.4, 9.3])

# ---------------------------------------------------------------- the shipped data
def test_data_ships_inside_the_package():
    "The loaders' defaults are files inside the installed package, not ../shared; setup.py's package_data covers them."
    pkg = Path(instruct_nb.__file__).resolve().parent
    assert SCALING_DATA.resolve() == pkg / 'assets' / 'scaling'
    for name in SHIPPED + ['README.md']: assert (SCALING_DATA / name).is_file(), name
    readme = (SCALING_DATA / 'README.md').read_text()
    assert 'arXiv:2404.10102' in readme and 'arXiv:2210.11416' in readme
    patterns = re.search(r"package_data=\{[^:]+: \[([^\]]*)\]", (ROOT / 'setup.py').read_text()).group(1)
    globs = re.findall(r"'([^']+)'", patterns)
    matched = {Path(f) for pat in globs for f in glob.glob(pat, root_dir=pkg, recursive=True)}
    for name in SHIPPED + ['README.md']: assert Path('assets/scaling') / name in matched, (name, patterns)

def test_shipped_data_equals_the_reference_copy():
    ref = shared_data('scaling', SHIPPED[0], must_exist=False).parent
    if not ref.exists(): pytest.skip(f'no reference copy at {ref} to compare with (the shipped files are used anyway)')
    for name in SHIPPED: assert (SCALING_DATA / name).read_bytes() == (ref / name).read_bytes(), name

def test_replication_from_a_plain_install(tmp_path, monkeypatch):
    "No INSTRUCT_NB_DATA and a working directory with no shared/ beside it: the default loaders still find the data."
    monkeypatch.delenv('INSTRUCT_NB_DATA', raising=False); monkeypatch.chdir(tmp_path)
    chin = load_chinchilla()
    assert len(chin['N']) == 240 and sorted(load_flan_table3()) == [8, 62, 540] and 'T5' in load_flan_table5()

# ---------------------------------------------------------------- bad CSV input: one case per kind of mistake
COLS = {'N': 'positive', 'loss': 'positive', 'tasks': 'count', 'score': 'number', 'size': 'size', 'name': 'text'}
HEAD = '# a comment line\nN,loss,tasks,score,size,name\n'
GOOD = '7e7,3.1,9,-2.5,80M,a\n'

@pytest.mark.parametrize('row,expected', [
    ('7e7,abc,9,-2.5,80M,a', "column 'loss': 'abc' is not a number"),
    ('7e7,3.1,1_000,-2.5,80M,a', "column 'tasks': '1_000' is not a number (write 1000, not 1_000)"),
    ('7e7,nan,9,-2.5,80M,a', "column 'loss': nan is not a finite number"),
    ('7e7,inf,9,-2.5,80M,a', "column 'loss': inf is not a finite number"),
    ('-7e7,3.1,9,-2.5,80M,a', "column 'N': -7e7 must be > 0"),
    ('0,3.1,9,-2.5,80M,a', "column 'N': 0 must be > 0"),
    ('7e7,3.1,-9,-2.5,80M,a', "column 'tasks': -9 must be a whole number ≥ 0"),
    ('7e7,3.1,2.5,-2.5,80M,a', "column 'tasks': 2.5 must be a whole number ≥ 0"),
    ('7e7,,9,-2.5,80M,a', "column 'loss': missing value"),
    ('7e7,3.1,9,-2.5,80M,', "column 'name': missing value"),
    ('7e7,3.1,9,-2.5,80X,a', "column 'size': '80X' is not a size like '80M' or '3B'"),
    ('7e7,3.1,9,-2.5,-80M,a', "column 'size': '-80M' is not a size"),
    ('7e7,3.1,9,-2.5,80M', '5 fields where the header has 6'),
])
def test_bad_csv_cell_names_file_line_row_and_column(tmp_path, row, expected):
    p = tmp_path / 'runs.csv'; p.write_text(HEAD + GOOD + row + '\n')
    with pytest.raises(ValueError) as e: read_csv(p, COLS)
    assert f'{p}, line 4 (data row 2)' in str(e.value) and expected in str(e.value), str(e.value)

@pytest.mark.parametrize('body,expected', [
    (b'N,loss\n7e7,3.1\n7e8,2.9 \xb1 0.1\n', 'line 3: not UTF-8 text'),             # latin-1 '±'
    (b'\xff\xfeN\x00,\x00', 'line 1: not UTF-8 text'),                                  # UTF-16
    (b'N,score\n7e7,3.1\n', "line 1: no column 'loss' in the header"),
    (b'# only comments\n', 'no header line'),
    (b'N,loss\n', 'a header and no data rows'),
])
def test_bad_csv_file(tmp_path, body, expected):
    p = tmp_path / 'bad.csv'; p.write_bytes(body)
    with pytest.raises(ValueError) as e: read_csv(p, {'N': 'positive', 'loss': 'positive'})
    assert str(p) in str(e.value) and expected in str(e.value), str(e.value)

def test_good_csv_with_bom_and_comments(tmp_path):
    p = tmp_path / 'ok.csv'; p.write_bytes('\ufeff'.encode() + (HEAD + GOOD).encode())
    t = read_csv(p, COLS)
    assert t['N'].tolist() == [7e7] and t['tasks'].tolist() == [9] and t['score'].tolist() == [-2.5]
    assert t['size'].tolist() == [8e7] and t['name'] == ['a']

def test_loaders_report_bad_rows(tmp_path):
    p = tmp_path / 'chin.csv'
    p.write_text('Model Size,Training FLOP,loss\n' + '1e8,1e19,3.0\n' * 6 + '1e8,1e19,-3.0\n')
    with pytest.raises(ValueError, match=r"chin.csv, line 8 \(data row 7\), column 'loss': -3.0 must be > 0"):
        load_chinchilla(p)
    p = tmp_path / 't5.csv'; p.write_text('params,family,model,norm_avg\n80M,T5,T5-Small,-9.2\n')
    with pytest.raises(ValueError, match='T5 at 8e\\+07 parameters has only a base row'): load_flan_table5(p)
    p = tmp_path / 'seven.csv'; p.write_text('Model Size,Training FLOP,loss\n' + '1e8,1e19,3.0\n' * 7)
    with pytest.raises(ValueError, match='drop_highest = 7: .*seven.csv has only 7 runs'): load_chinchilla(p, 7)

# ---------------------------------------------------------------- bad settings: NaN, negative, zero, wrong type
_x, _y = np.geomspace(1, 1e3, 6), 50 - 20 * np.geomspace(1, 1e3, 6) ** -0.5
_N, _D, _L, _ = _synthetic()
_nan = float('nan')

def _bowl(P): return (P ** 2).sum(1), 2 * P

@pytest.mark.parametrize('call,expected', [
    (lambda: huber(np.zeros(3), _nan), 'delta = nan'),
    (lambda: huber(np.zeros(3), 0.0), 'delta = 0.0: must be a finite number > 0'),
    (lambda: chinchilla_objective(torch.zeros(2, 5, dtype=torch.float64), *[torch.ones(3, dtype=torch.float64)] * 3,
                                  delta=-1e-3), 'delta = -0.001'),
    (lambda: chinchilla_objective_np(np.zeros(5), np.ones(3), np.ones(3), np.ones(3), delta=_nan), 'delta = nan'),
    (lambda: fit_chinchilla(_N, _D, _L, delta=0), 'delta = 0'),
    (lambda: fit_chinchilla(_N, _D, _L, iters=0), 'iters = 0: must be an integer > 0'),
    (lambda: fit_chinchilla(_N, _D, _L, iters=2.5), 'iters = 2.5: expected an integer'),
    (lambda: fit_chinchilla(_N, _D, _L, polish=-1), 'polish = -1'),
    (lambda: fit_chinchilla(_N, _D, _L, starts=np.zeros((0, 5))), 'starts has shape (0, 5)'),
    (lambda: fit_chinchilla(_N, _D, _L, starts=np.zeros((3, 4))), 'starts has shape (3, 4)'),
    (lambda: fit_chinchilla(_N, _D, _L, starts=np.full((2, 5), _nan)), 'starts[0] = [nan'),
    (lambda: fit_chinchilla_loop(_N, _D, _L, delta=_nan), 'delta = nan'),
    (lambda: fit_chinchilla_loop(_N, _D, _L, starts=[]), 'starts has shape'),
    (lambda: batched_lbfgs(_bowl, torch.zeros(2, 2), m=0), 'm = 0'),
    (lambda: batched_lbfgs(_bowl, torch.zeros(2, 2), ftol=-1.0), 'ftol = -1.0: must be a finite number ≥ 0'),
    (lambda: batched_lbfgs(_bowl, torch.zeros(2, 2), gtol=_nan), 'gtol = nan'),
    (lambda: batched_lbfgs(_bowl, torch.zeros(2, 2), c1=1.5), 'c1 = 1.5: must be a finite number > 0 and < 1'),
    (lambda: huber_nll(np.zeros(3), sigma=0.0), 'sigma = 0.0'),
    (lambda: huber_nll(np.zeros(3), sigma=1.0, delta=-1.0), 'delta = -1.0'),
    (lambda: fit_chinchilla_mle(_N, _D, _L, n_boot=-1), 'n_boot = -1: must be an integer ≥ 0'),
    (lambda: fit_chinchilla_mle(_N, _D, _L, n_boot=1), 'n_boot = 1: a standard error needs'),
    (lambda: fit_chinchilla_mle(_N, _D, _L, delta=_nan), 'delta = nan'),
    (lambda: fit_chinchilla_mle(_N, _D, _L, seed=-3), 'seed = -3'),
    (lambda: fit_power_law(_x, _y, delta=0.0), 'delta = 0.0'),
    (lambda: fit_power_law(_x, _y, n_boot=-5), 'n_boot = -5'),
    (lambda: fit_power_law(_x, _y, n_boot=_nan), 'n_boot = nan: expected an integer'),
    (lambda: fit_power_law(_x, _y, tol=0), 'tol = 0'),
    (lambda: PowerLawFit(50, -20, 0.5).x_plateau(-1.0), 'tol = -1.0'),
    (lambda: profile_plateau(_x, _y, _nan, [51.]), 'sigma = nan'),
    (lambda: profile_plateau(_x, _y, -1.0, [51.]), 'sigma = -1.0'),
    (lambda: profile_plateau(_x, _y, 1.0, [51.], level=1.0), 'level = 1.0'),
    (lambda: profile_plateau(_x, _y, 1.0, []), 'expected finite candidate plateaus'),
    (lambda: profile_plateau(_x, _y, 1.0, [51., _nan]), 'expected finite candidate plateaus'),
    (lambda: ChinchillaFit(E=1.8, A=480., B=2100., alpha=0.35, beta=0.37).compute_optimal(0.0), 'finite and positive'),
    (lambda: load_chinchilla(drop_highest=-1), 'drop_highest = -1'),
    (lambda: SweepConfig(lr=0.0), 'lr = 0.0'),
    (lambda: SweepConfig(bs=0), 'bs = 0'),
    (lambda: SweepConfig(budgets=(1024, -1)), 'budgets[1] = -1'),
    (lambda: SweepConfig(sizes=((16, 0),)), 'sizes[0] n_layers = 0'),
])
def test_bad_settings_name_the_argument(call, expected):
    with pytest.raises(ValueError) as e: call()
    assert expected in str(e.value), str(e.value)


def test_csv_and_sweep_shapes_refused_by_name(tmp_path):
    "A schema that is not a dict, a header naming a column twice, a quote left open, x values that are not numbers, a"
    " non-bool plateau, and sweep sizes that are not a non-empty list of pairs."
    from instruct_nb.scaling import read_csv, fit_power_law, SweepConfig
    (tmp_path / 'a.csv').write_text('N\n1\n')
    for bad in ('N', {}, ['N']):
        with pytest.raises(TypeError, match='columns: expected a non-empty dict'): read_csv(tmp_path / 'a.csv', bad)
    (tmp_path / 'b.csv').write_text('N,N\n1,2\n')
    with pytest.raises(ValueError, match="column 'N' appears twice"): read_csv(tmp_path / 'b.csv', {'N': 'number'})
    (tmp_path / 'c.csv').write_text('N,T\n1,"open\n')
    with pytest.raises(ValueError, match='line 2'): read_csv(tmp_path / 'c.csv', {'T': 'text'})
    with pytest.raises(ValueError, match='x: expected numbers'): fit_power_law(['a', 'b', 'c'], [1, 2, 3])
    with pytest.raises(TypeError, match='plateau'): fit_power_law([1, 2, 3, 4], [4, 3, 2, 1.5], plateau='no')
    for bad in ('abc', (), ((16,),)):
        with pytest.raises(ValueError, match='sizes'): SweepConfig(sizes=bad)
