"""Validation metrics, ensembles, calibration and sensitivity."""
