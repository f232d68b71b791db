"""Declared outputs, Arrow tables and the results store."""
