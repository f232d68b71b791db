"""The system's parts, each a module of the step loop (see :mod:`corridor.engine.loop`)."""
