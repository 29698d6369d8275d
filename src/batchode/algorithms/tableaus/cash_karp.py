"""The Cash-Karp 5(4) pair.

J. R. Cash and A. H. Karp, "A variable order Runge-Kutta method for
initial value problems with rapidly varying right-hand sides", *ACM
Transactions on Mathematical Software* 16(3) (1990) 201-222: the
six-stage embedded 5(4) pair tabulated in the paper (reproduced as the
``rkck`` routine of W. H. Press et al., *Numerical Recipes*, 2nd ed.,
Cambridge University Press, 1992, Section 16.2).

The order-5 solution is propagated and the order-4 one gives the error
estimate.  The method is not FSAL.  Some secondary copies of this
tableau carry mistyped embedded weights (18574/48384, 13525/554296);
the values 18575/48384 and 13525/55296 used here are the ones for which
``b_hat`` sums to one and satisfies the order-4 conditions.
"""

from batchode.algorithms.tableaus.butcher import ButcherTableau

__all__ = ["CASH_KARP_54"]

CASH_KARP_54 = ButcherTableau(
    name="cash-karp-54",
    a=[
        [0, 0, 0, 0, 0, 0],
        ["1/5", 0, 0, 0, 0, 0],
        ["3/40", "9/40", 0, 0, 0, 0],
        ["3/10", "-9/10", "6/5", 0, 0, 0],
        ["-11/54", "5/2", "-70/27", "35/27", 0, 0],
        ["1631/55296", "175/512", "575/13824", "44275/110592", "253/4096", 0],
    ],
    b=["37/378", 0, "250/621", "125/594", 0, "512/1771"],
    c=[0, "1/5", "3/10", "3/5", 1, "7/8"],
    order=5,
    b_hat=["2825/27648", 0, "18575/48384", "13525/55296", "277/14336", "1/4"],
    embedded_order=4,
    citation="J. R. Cash, A. H. Karp, ACM Trans. Math. Softw. 16(3) (1990) 201-222",
    aliases=("rkck", "cash-karp"),
)
