"""The real block diagonalisation T^-1 A^-1 T of the fully implicit tableaus (HW II, IV.8)."""

import numpy as np
import pytest
import sympy as sp

from batchode.algorithms.tableaus import FIRK_TABLEAUS, ButcherTableau, get_tableau
from batchode.algorithms.tableaus.radau import RADAU5_ERROR_E, FilteredErrorEstimate
from batchode.algorithms.tableaus.transformation import (
    StageTransformation,
    stage_transformation,
)

firk = pytest.mark.parametrize("tableau", FIRK_TABLEAUS, ids=lambda t: t.name)


@firk
def test_transformation_block_diagonalises_the_inverse_stage_matrix(tableau):
    transformation = stage_transformation(tableau.a)
    a = np.array(tableau.a)
    t, t_inv = np.array(transformation.transform), np.array(transformation.inverse)
    np.testing.assert_allclose(t_inv @ t, np.eye(tableau.stages), atol=1e-14)
    # Lambda: gamma on the diagonal for each real eigenvalue, then
    # [[alpha, -beta], [beta, alpha]] per complex pair, zero elsewhere.
    np.testing.assert_allclose(t_inv @ np.linalg.inv(a) @ t, transformation.block_matrix, rtol=0, atol=5e-14)


@firk
def test_collocation_methods_have_one_real_eigenvalue_for_odd_stage_counts(tableau):
    transformation = stage_transformation(tableau.a)
    assert len(transformation.real) == tableau.stages % 2
    assert len(transformation.pairs) == tableau.stages // 2
    assert all(beta > 0 for _, beta in transformation.pairs)


def test_radau_iia_5_eigenvalues_match_radau5f():
    # radau5.f (Hairer & Wanner), SUBROUTINE RADCOR: with ST9 = 9**(1/3),
    # U1 = 30 / (6 + ST9 (ST9 - 1)); ALPH, BETA = (12 - ST9 (ST9 - 1)) / 60,
    # ST9 (ST9 + 1) sqrt(3) / 60, each divided by ALPH**2 + BETA**2.
    st9 = sp.cbrt(9)
    alpha, beta = (12 - st9 * (st9 - 1)) / 60, st9 * (st9 + 1) * sp.sqrt(3) / 60
    norm = alpha**2 + beta**2
    expected = [float(sp.N(v, 30)) for v in (30 / (6 + st9 * (st9 - 1)), alpha / norm, beta / norm)]
    transformation = stage_transformation(get_tableau("radau-iia-5").a)
    computed = [transformation.real[0], *transformation.pairs[0]]
    np.testing.assert_allclose(computed, expected, rtol=1e-14)
    # They are the roots of z^3 - 9 z^2 + 36 z - 60, the denominator of the
    # (2, 3) Pade approximation that is the method's stability function.
    np.testing.assert_allclose(np.polyval([1, -9, 36, -60], [expected[0], complex(*expected[1:])]), 0, atol=1e-12)


def test_filtered_estimate_gamma0_is_the_inverse_of_the_real_block():
    transformation = stage_transformation(get_tableau("radau-iia-5").a)
    from batchode.algorithms.tableaus.radau import RADAU5_ERROR_GAMMA0

    assert transformation.real[0] * RADAU5_ERROR_GAMMA0 == pytest.approx(1.0, rel=1e-14)
    # A gamma0 that is not an eigenvalue of a could not share the real block's LU.
    with pytest.raises(ValueError, match="not an eigenvalue of a"):
        FilteredErrorEstimate(get_tableau("radau-iia-5"), 0.3, RADAU5_ERROR_E, 3, "wrong gamma0")


def test_defective_and_singular_stage_matrices_have_no_transformation():
    # A repeated eigenvalue with one eigenvector (a Jordan block) and a singular matrix.
    assert stage_transformation(((0.5, 1.0), (0.0, 0.5))) is None
    assert stage_transformation(((0.0, 0.0), (0.5, 0.5))) is None


def test_transformation_validates_its_blocks():
    with pytest.raises(ValueError, match="do not make 3 stages"):
        StageTransformation(transform=np.eye(3), inverse=np.eye(3), real=(1.0,), pairs=())
    with pytest.raises(ValueError, match="beta > 0"):
        StageTransformation(transform=np.eye(2), inverse=np.eye(2), real=(), pairs=((1.0, -1.0),))


def test_engine_refuses_a_defective_stage_matrix():
    import batchode
    from batchode.systems.examples import harmonic_oscillator

    defective = ButcherTableau(name="jordan", a=[[0.5, 1.0], [0.0, 0.5]], b=[0.5, 0.5], c=[1.5, 0.5], order=1,
                               b_hat=None, embedded_order=None, citation="test")
    with pytest.raises(ValueError, match="jordan.*diagonalisable"):
        batchode.Solver(harmonic_oscillator(), method=defective, step_controller="fixed", dt=0.1, backend="cpu")
