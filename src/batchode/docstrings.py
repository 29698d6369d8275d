"""The parts of ``Solver``'s, ``Solver.solve``'s and ``solve_ivp``'s docstrings that they share.

The settings are documented once, in :data:`batchode.options.OPTIONS`; the
batch arguments once, here. :func:`document` fills a docstring's
placeholders with them and gives a function taking the settings a
signature that lists each, so ``help()`` in the REPL shows every argument
with its default.
"""

from __future__ import annotations

import inspect

from batchode.options import OPTIONS, numpydoc_entries

#: ``Solver.solve``'s arguments (and ``solve_ivp``'s after the system and method).
SOLVE_PARAMETERS = """t_span : (float, float)
    Start and end time (time units); an end before the start integrates
    backwards in time.
y0 : dict, 1-D or 2-D array, optional
    Initial states by state name, one state for all runs, or (runs,
    n_states); default: the system's initial state.
parameters : dict, 1-D or 2-D array, optional
    Parameters by name (scalars or 1-D arrays to sweep), or (runs,
    n_parameters); default: the system's defaults.
save_every : float, optional
    Save every ``save_every`` time units from the start (and at the end);
    default: the final state only. The save times are also the samples of
    the summary metrics. Saves between steps are interpolated (unless
    ``step_to_saves``), so they do not change the steps taken.
grid : {"verbatim", "combinatorial"}, default "verbatim"
    ``"verbatim"``: run i takes entry i of every swept input.
    ``"combinatorial"``: every combination, the swept initial states then
    parameters in the order given, the first varying slowest; the result's
    ``grid`` and ``to_xarray()`` keep the grid.
summarise_every : float, optional
    Length of the summary windows (time units), a multiple of
    ``save_every``; default: one window over the whole run.
output : str or os.PathLike, optional
    A Zarr store (extra ``export``) that receives the results chunk by
    chunk; the returned result reads ``y`` and ``observables`` from it on
    demand. Needed when the results exceed host memory. Default: results
    in memory.
chunk_memory : int, optional
    Bytes one chunk's inputs and outputs may take (default on CUDA: half
    the free device memory shared by the two chunks in flight, at most
    4 GiB each; unlimited on the CPU). On CUDA two chunks are in flight,
    each on its own stream, so one chunk's copies overlap another's
    compute; each also holds as much pinned host memory.
chunk_runs : int, optional
    Most runs per chunk (default: 65536 on the CPU, unlimited on CUDA).
progress : bool, optional
    Show a progress bar over chunks (tqdm). Default: when stderr is a
    terminal, appearing only if the solve takes more than 2 seconds.
    Unless False (or ``chunk_runs`` is given), a chunk holds at most a
    twentieth of the runs (but not fewer than
    :func:`~batchode.batch.chunking.progress_floor`), so the bar moves.
overwrite : bool, default False
    An ``output`` store that already holds this same sweep (same system,
    settings, inputs and chunks) is resumed: its completed chunks are kept
    and only the others computed. One holding anything else is an error
    unless ``overwrite=True``.
client : dask.distributed.Client, optional
    Run the chunks on a Dask cluster (extra ``distributed``; see
    :mod:`batchode.batch.distributed`); the result is the same. Default:
    this machine.
t_eval : sequence of float, optional
    The save times (time units), instead of ``save_every``: shared by every
    run, strictly increasing (decreasing when integrating backwards) and
    within ``t_span``.
save_from : float, optional
    With ``save_every``: the first save time (time units). Nothing before
    it is saved or summarised (a transient), but every run still starts at
    the start of ``t_span``. Default: the start of ``t_span``."""

#: What a solve returns and raises.
SOLVE_RESULTS = """Returns
-------
SolveResult
    Every run's saves, final state, status and work counters (see
    :class:`~batchode.batch.results.SolveResult`); ``chunks_computed``
    says how many chunks this call computed.

Raises
------
ValueError, TypeError
    For bad inputs or settings, naming the value and what was expected
    (before any compilation or launch).
MemoryError
    Before launch, when the results cannot fit in host memory and no
    ``output`` is given; the message gives the sizes.
FileExistsError
    When ``output`` holds a different sweep and ``overwrite`` is False.
SolveInterrupted
    On Ctrl-C: the finished runs are in its ``result`` (or in ``output``)."""

#: ``method``, which ``Solver`` and ``solve_ivp`` take before the settings.
METHOD = """method : str or ButcherTableau, default "tsit5"
    A method name or alias (``print(batchode.available_methods())`` lists
    them; names match case-insensitively, ``_`` and ``-`` alike), or a
    tableau."""

#: The settings, then the expert route into the factory tree.
SETTINGS = f"""Other Parameters
----------------
{numpydoc_entries()}
**tree_settings
    Keys of the factory tree itself (the expert route), e.g.
    ``loop_algorithm_newton_max_backtracks=0`` or
    ``loop_state_location="shared"``: a factory's settings and buffer
    locations prefixed by its place in the tree (see
    :meth:`Solver.describe_memory`)."""


def document(**parts):
    """Fill the placeholders of a docstring (``{name}`` alone on a line) with ``parts``.

    A function or class that takes ``**settings`` also gets a signature
    listing every setting with its default, so ``help()`` in the REPL shows
    them.
    """

    def decorate(documented):
        text = inspect.cleandoc(documented.__doc__)
        for name, part in parts.items():
            text = text.replace("{" + name + "}", part)
        documented.__doc__ = text
        documented.__signature__ = signature_with_settings(inspect.signature(documented))
        return documented

    return decorate


def signature_with_settings(signature: inspect.Signature) -> inspect.Signature:
    """``signature`` with its ``**settings`` spelt out: every setting (keyword-only), then ``**tree_settings``.

    A signature without ``**settings`` is returned as it is.
    """
    parameters = list(signature.parameters.values())
    if not parameters or parameters[-1].kind is not inspect.Parameter.VAR_KEYWORD:
        return signature
    settings = [inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=option.default)
                for option in OPTIONS]
    extra = inspect.Parameter("tree_settings", inspect.Parameter.VAR_KEYWORD)
    return signature.replace(parameters=[*parameters[:-1], *settings, extra])
