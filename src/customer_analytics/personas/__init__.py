"""Stage 06_personas: persona cards, every customer's tags and action, and audiences.

:mod:`.tags` is the tag dictionary (``tags.yaml``), :mod:`.cards` builds the persona
cards and their actions (``actions.yaml``), :mod:`.stage` is the stage,
:mod:`.report` what its notebook shows and :mod:`.truth` the check against the planted
personas.
"""
