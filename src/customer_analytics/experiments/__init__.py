"""Stage 07_ab_test: experiments analysed on sufficient statistics.

The database reduces unit-level rows (:mod:`.units`) to counts, sums, sums of squares
and cross-products per arm and segment (:mod:`.reduce`); :mod:`.stats` holds the pure
statistics that read them, :mod:`.analysis` runs one experiment through them and
:mod:`.verdict` decides. :mod:`.stage` is the stage, :mod:`.report` what its notebook
shows, :mod:`.truth` the check against the synthetic shop's planted effects.
"""
