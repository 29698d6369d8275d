"""Ready-made systems used by tests, benchmarks and the demo."""

import math

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
    """Return the 1-D Brusselator reaction-diffusion problem on ``cells`` grid points (``2 * cells`` states).

    Hairer & Wanner, *Solving ODEs II*, section IV.1 ("BRUSS"): for
    ``i = 1 .. N`` (``N = cells``, ``x_i = i / (N + 1)``)::

        u_i' = A + u_i**2 v_i - (B + 1) u_i + alpha (N + 1)**2 (u_{i-1} - 2 u_i + u_{i+1})
        v_i' = B u_i - u_i**2 v_i + alpha (N + 1)**2 (v_{i-1} - 2 v_i + v_{i+1})

    with boundary values ``u = 1``, ``v = 3`` at both ends, ``A = 1``,
    ``B = 3``, ``alpha = 1/50`` and the initial state ``u_i = 1 + sin(2 pi
    x_i)``, ``v_i = 3``; the book integrates it over ``t`` in ``[0, 10]``.
    States are ordered ``u_1 .. u_N, v_1 .. v_N``; stiffness grows as
    ``alpha (N + 1)**2``. Each equation has at most five terms, so the
    Jacobian has about ``8 N`` non-zeros.
    """
    if cells < 1:
        raise ValueError(f"cells must be at least 1, got {cells!r}")
    u = ["1.0", *(f"u{i}" for i in range(1, cells + 1)), "1.0"]
    v = ["3.0", *(f"v{i}" for i in range(1, cells + 1)), "3.0"]
    diffusion = f"alpha * {(cells + 1) ** 2}"
    equations = [f"du{i} = A + {u[i]}**2 * {v[i]} - (B + 1) * {u[i]} + {diffusion} * ({u[i - 1]} - 2 * {u[i]} + "
                 f"{u[i + 1]})" for i in range(1, cells + 1)]
    equations += [f"dv{i} = B * {u[i]} - {u[i]}**2 * {v[i]} + {diffusion} * ({v[i - 1]} - 2 * {v[i]} + {v[i + 1]})"
                  for i in range(1, cells + 1)]
    initial = {f"u{i}": 1.0 + math.sin(2.0 * math.pi * i / (cells + 1)) for i in range(1, cells + 1)}
    initial.update({f"v{i}": 3.0 for i in range(1, cells + 1)})
    return ODESystem.from_equations(equations, parameters={"A": 1.0, "B": 3.0, "alpha": 0.02},
                                    initial_state=initial)


def pleiades() -> ODESystem:
    """Return the Pleiades problem: seven bodies in the plane under gravity (28 states).

    Hairer, Norsett & Wanner, *Solving ODEs I*, section II.10 ("PLEI"): body
    ``i = 1 .. 7`` of mass ``m_i = i`` at ``(x_i, y_i)`` moves as::

        x_i'' = G sum_{j != i} m_j (x_j - x_i) / r_ij**3
        y_i'' = G sum_{j != i} m_j (y_j - y_i) / r_ij**3,  r_ij**2 = (x_i - x_j)**2 + (y_i - y_j)**2

    with ``G = 1`` (the book's problem; a parameter here so that a sweep can
    vary it, as it can each mass ``m1 .. m7``). States ``x1 .. x7, y1 .. y7,
    vx1 .. vx7, vy1 .. vy7`` (the book's order), from ``x = (3, 3, -1, -3, 2,
    -2, 2)``, ``y = (3, -3, 2, 0, 0, -4, 4)``, ``vx = (0, 0, 0, 0, 0, 1.75,
    -1.5)``, ``vy = (0, 0, 0, -1.25, 1, 0, 0)``; the book integrates it over
    ``t`` in ``[0, 3]``, through several close encounters. Not stiff.
    """
    bodies = range(1, 8)

    def inverse_cube(i: int, j: int) -> str:
        # One spelling per pair (lower index first), so the common
        # subexpressions of r_ij and r_ji are recognised as one.
        a, b = min(i, j), max(i, j)
        return f"((x{a} - x{b})**2 + (y{a} - y{b})**2)**1.5"

    equations = [f"dx{i} = vx{i}" for i in bodies] + [f"dy{i} = vy{i}" for i in bodies]
    for axis in ("x", "y"):
        equations += [f"dv{axis}{i} = G * (" + " + ".join(f"m{j} * ({axis}{j} - {axis}{i}) / {inverse_cube(i, j)}"
                                                         for j in bodies if j != i) + ")" for i in bodies]
    values = {"x": (3.0, 3.0, -1.0, -3.0, 2.0, -2.0, 2.0), "y": (3.0, -3.0, 2.0, 0.0, 0.0, -4.0, 4.0),
              "vx": (0.0, 0.0, 0.0, 0.0, 0.0, 1.75, -1.5), "vy": (0.0, 0.0, 0.0, -1.25, 1.0, 0.0, 0.0)}
    initial = {f"{name}{i}": value for name, column in values.items() for i, value in zip(bodies, column)}
    return ODESystem.from_equations(equations, parameters={"G": 1.0, **{f"m{i}": float(i) for i in bodies}},
                                    initial_state=initial)
