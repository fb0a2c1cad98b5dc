"""Product recommendations (stage 08_recommend): "guess you like" picks per customer,
candidates from retail baselines to matrix factorisation, evaluated offline on time
windows (:mod:`.metrics`, :mod:`.candidates`, :mod:`.interactions`)."""
