"""Ready-made systems used by tests, benchmarks and the demo."""

from batchode.systems.system import ODESystem


def lorenz() -> ODESystem:
    """Return the chaotic Lorenz system with its classic parameters.

    States ``x, y, z``; parameters ``sigma=10, rho=28, beta=8/3``; initial
    state ``(1, 0, 0)``.
    """
    return ODESystem.from_equations(
        """
        dx = sigma * (y - x)
        dy = x * (rho - z) - y
        dz = x * y - beta * z
        """,
        parameters={"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0},
        initial_state={"x": 1.0, "y": 0.0, "z": 0.0},
    )


def exponential_decay() -> ODESystem:
    """Return ``dy/dt = -k y`` with ``k=1``, ``y(0)=1``: exactly ``y = exp(-k t)``."""
    return ODESystem.from_equations(
        "dy = -k * y", parameters={"k": 1.0}, initial_state={"y": 1.0}
    )


def harmonic_oscillator() -> ODESystem:
    """Return ``x'' = -omega**2 x`` as states ``x, v``, with ``omega=1``, ``(x, v)(0) = (1, 0)``.

    Exact solution: ``x = cos(omega t)``, ``v = -omega sin(omega t)``.
    """
    return ODESystem.from_equations(
        """
        dx = v
        dv = -omega**2 * x
        """,
        parameters={"omega": 1.0},
        initial_state={"x": 1.0, "v": 0.0},
    )


def van_der_pol() -> ODESystem:
    """Return the Van der Pol oscillator, stiff for large ``mu``.

    States ``x, v``; parameter ``mu=1``; initial state ``(2, 0)``.
    """
    return ODESystem.from_equations(
        """
        dx = v
        dv = mu * (1 - x**2) * v - x
        """,
        parameters={"mu": 1.0},
        initial_state={"x": 2.0, "v": 0.0},
    )


def robertson() -> ODESystem:
    """Return Robertson's chemical kinetics, a classic stiff test problem.

    States ``y1, y2, y3`` (concentrations, summing to 1); parameters
    ``k1=0.04, k2=3e7, k3=1e4``; initial state ``(1, 0, 0)``.  The rates
    differ by nine orders of magnitude, so explicit methods need tiny steps.
    """
    return ODESystem.from_equations(
        """
        dy1 = -k1*y1 + k3*y2*y3
        dy2 = k1*y1 - k3*y2*y3 - k2*y2**2
        dy3 = k2*y2**2
        """,
        parameters={"k1": 0.04, "k2": 3e7, "k3": 1e4},
        initial_state={"y1": 1.0, "y2": 0.0, "y3": 0.0},
    )


def brusselator(cells: int) -> ODESystem:
    """Return the 1-D Brusselator on ``cells`` grid cells, a stiff system with a sparse Jacobian.

    States ``u0 .. u{cells-1}`` then ``v0 .. v{cells-1}`` (``2 * cells`` in
    all); parameters ``A=1, B=3`` (reaction) and ``alpha = 0.02 cells**2``
    (diffusion, from ``1/50`` over a grid spacing of ``1/cells``); fixed
    boundary values ``u = 1, v = 3``; initial state ``u`` alternating 1 and
    1.5, ``v = 3``.  Each derivative reads at most four states, so the
    Jacobian has about ``8 cells`` non-zeros of ``4 cells**2``.
    """
    u = ["1.0", *(f"u{i}" for i in range(cells)), "1.0"]
    v = ["3.0", *(f"v{i}" for i in range(cells)), "3.0"]
    equations = []
    for i in range(1, cells + 1):
        equations.append(f"du{i - 1} = A + {u[i]}**2 * {v[i]} - (B + 1) * {u[i]} + alpha * ({u[i - 1]} - 2 * {u[i]}"
                         f" + {u[i + 1]})")
        equations.append(f"dv{i - 1} = B * {u[i]} - {u[i]}**2 * {v[i]} + alpha * ({v[i - 1]} - 2 * {v[i]}"
                         f" + {v[i + 1]})")
    initial = {**{f"u{i}": 1.0 + 0.5 * (i % 2) for i in range(cells)}, **{f"v{i}": 3.0 for i in range(cells)}}
    return ODESystem.from_equations(equations, parameters={"A": 1.0, "B": 3.0, "alpha": 0.02 * cells**2},
                                    initial_state=initial)
