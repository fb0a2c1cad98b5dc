"""Stage 01_ingest: a source read into canonical tables, pseudonymised at the door, profiled.

:mod:`.stage` is the stage, :mod:`.profile` the per-column profile, :mod:`.report` what
its notebook shows.
"""
