"""The engine that runs stages: it knows each stage by its name only.

:mod:`.registry` lists the stages and the settings each reads; :mod:`.runner` runs a
config's stages as notebooks into a report folder with a manifest; :mod:`.runs` keeps
the reports folder (our runs, runs in progress, the latest of each config, pruning);
:mod:`.context` is what a notebook holds on to; :mod:`.cache` keys, seals and reuses
stage outputs; :mod:`.outputs` holds what stages declare and leave for each other
(outputs, findings, the run's as_of); :mod:`.engine` opens the Ibis connection; :mod:`.kernels` starts the stages' kernels. Nothing
here imports a stage: a stage's module is imported by name when it runs (a layer
contract in pyproject.toml keeps it so).
"""
