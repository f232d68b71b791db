"""Plots, maps and the HTML report."""
