"Tests for instruct_nb.scaling: the Chinchilla objective and fits, the replication numbers, power laws, the sweep."
import math
import numpy as np
import pytest
import torch
from instruct_nb.core import shared_data
from instruct_nb.scaling import (ChinchillaFit, PowerLawFit, SweepConfig, batched_lbfgs, chinchilla_grid,
                                 chinchilla_objective, chinchilla_objective_np, fit_chinchilla, fit_chinchilla_loop,
                                 fit_chinchilla_mle, fit_power_law, huber, huber_nll, load_chinchilla, load_flan_table3,
                                 profile_plateau, run_sweep)

def _have(name):
    return shared_data('scaling', name, must_exist=False).exists()

needs_chinchilla = pytest.mark.skipif(not _have('chinchilla_svg_extracted_data.csv'),
    reason='reference data ../shared/data/scaling/chinchilla_svg_extracted_data.csv not found (set INSTRUCT_NB_DATA)')
needs_flan = pytest.mark.skipif(not _have('flan_table3_num_tasks.csv'),
    reason='reference data ../shared/data/scaling/flan_table3_num_tasks.csv not found (set INSTRUCT_NB_DATA)')

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

@needs_chinchilla
def test_replication_grid_fit(chin, grid_fit):
    "Besiroglu et al. 2024: A = 477.8, B = 2143, E = 1.8172, alpha = 0.3473, beta = 0.3672 (within 1%)."
    assert len(chin['N']) == 240
    got = [grid_fit.A, grid_fit.B, grid_fit.E, grid_fit.alpha, grid_fit.beta]
    assert np.allclose(got, [477.8, 2143, 1.8172, 0.3473, 0.3672], rtol=0.01), got

@needs_chinchilla
def test_hoffmann_printed_values_misfit(chin, grid_fit):
    hoff = ChinchillaFit(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
    data = [np.log(chin[k]) for k in ('N', 'D', 'L')]
    assert chinchilla_objective_np(hoff.params, *data)[0] > 3 * grid_fit.loss

@needs_chinchilla
def test_averaged_loss_stops_early(chin, grid_fit):
    starts = chinchilla_grid()[np.random.default_rng(0).choice(4500, 60, replace=False)]
    data = [np.log(chin[k]) for k in ('N', 'D', 'L')]
    summed = fit_chinchilla_loop(chin['N'], chin['D'], chin['L'], starts=starts)
    mean = fit_chinchilla_loop(chin['N'], chin['D'], chin['L'], starts=starts, mean=True)
    assert np.median([r.nit for r in mean.info['runs']]) < 0.5 * np.median([r.nit for r in summed.info['runs']])
    assert chinchilla_objective_np(mean.params, *data)[0] > 1.5 * grid_fit.loss
    assert summed.loss < 1.001 * grid_fit.loss

@needs_chinchilla
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

def test_design_table_plateau_is_uncertain():
    x, y = np.array([1, 10, 30, 100.]), np.array([62.3, 74.8, 78.2, 79.1])
    ft = fit_power_law(x, y, n_boot=0)
    assert 'warning' in ft.info and y.max() < ft.c < 90
    p1, p05 = (profile_plateau(x, y, s, np.linspace(79.15, 130, 500)) for s in (1.0, 0.5))
    assert p1['lo'] < ft.c < p1['hi'] and p1['hi'] - p1['lo'] > p05['hi'] - p05['lo'] > 1

@needs_flan
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
