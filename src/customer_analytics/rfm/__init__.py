"""Stage 03_rfm: recency, frequency and monetary value, scores and named segments.

:mod:`.summary` computes per-customer RFM and the buy-till-you-die summary as Ibis
expressions; :mod:`.scoring` turns them into tie-safe 1-5 scores (``scoring.yaml``);
:mod:`.segments` names the segments by ordered rules (``segments.yaml``) and measures
movement; :mod:`.stage` is the stage and :mod:`.report` what its notebook shows.
"""
