"""Small helpers every layer may use; they import nothing of ours.

:mod:`.dates` (a run's day end, snapshot day and time units), :mod:`.text` (blank and
stripped text, slugs), :mod:`.timestamps` (text and local times to UTC),
:mod:`.parquet` (the Parquet writer every stage uses), :mod:`.checksums` (file digests),
:mod:`.files` (copies, and temporaries a killed process left), :mod:`.processes`
(worker pools that end with their parent), :mod:`.progress` (what a long step is doing)
and :mod:`.reference` (the reference tables
shipped with the package).
"""
