"""The parts of calibration; the entry point and public names are in
:mod:`corridor.analysis.calibrate`.

Reads / produces, module by module (each module's docstring states its contract):
``observed`` reads observed-series CSV files into periods and prepares those a run covers;
``objective`` turns priors into the search space and a trial's runs into its log posterior;
``runs`` runs the model (one call, or many in a pool of single-threaded processes);
``study`` names, stores, resumes and drives the Optuna study; ``outputs`` builds the result and
writes ``fitted.yaml``, ``trials.csv``, ``fit.csv`` and the plots.

Invariants: the modules import one another only downwards in that order (``observed`` and
``runs`` at the bottom), never :mod:`corridor.analysis.calibrate`; this package imports nothing
itself, so importing one part does not load the others.
"""
