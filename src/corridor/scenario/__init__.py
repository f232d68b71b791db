"""Scenario inputs: Flee's CSV format and Corridor's own scenario files."""
