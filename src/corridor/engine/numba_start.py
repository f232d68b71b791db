"""Numba's start-up, made cheaper for a short process such as ``corridor flee``.

The first Numba function a process calls (compiled, or loaded from Numba's cache) makes Numba
load its CPU target: the typing and lowering registries of all it supports. One of them,
``numba.np.arraymath``, checks for a BLAS by importing ``scipy.linalg``, which brings in SciPy's
linear algebra and with it NumPy's f2py and masked arrays: about half of the load (0.15-0.2 s on
a 2-core dev box). No kernel of Corridor uses BLAS.

:func:`load_cpu_target` loads the target with that one import made to fail, as it fails where
SciPy is not installed. Numba then takes BLAS as absent, which changes one thing for the rest of
the process: kernels compiled later compute ``np.convolve`` and ``np.correlate`` with a plain
loop. ``np.dot`` and ``np.linalg`` in a kernel still work (they import SciPy's BLAS when such a
kernel is compiled). Nothing else is changed: ``sys.modules`` is as before once it returns, and
it does nothing where the target is loaded already or ``scipy.linalg`` is imported.
"""

from __future__ import annotations

import sys

__all__ = ["load_cpu_target"]

_BLAS_PROBE = "scipy.linalg.cython_blas"  # what numba.np.arraymath imports to check for BLAS


def load_cpu_target() -> None:
    """Load Numba's CPU target now, without SciPy's BLAS (see the module docstring)."""
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    from numba.core.registry import cpu_target

    sys.modules[_BLAS_PROBE] = None  # type: ignore[assignment]  # an import of it fails
    try:
        cpu_target.target_context.refresh()
    finally:
        if _BLAS_PROBE in sys.modules and sys.modules[_BLAS_PROBE] is None:
            del sys.modules[_BLAS_PROBE]
