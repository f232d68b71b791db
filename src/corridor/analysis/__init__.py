"""Validation metrics, ensembles, calibration and sensitivity (and their plots)."""
