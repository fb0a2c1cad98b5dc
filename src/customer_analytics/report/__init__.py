"""Offline HTML reports and the house style.

:mod:`.export` turns each stage's executed notebook into a stakeholder page and an
analyst page, :mod:`.index` writes the run's index page, :mod:`.plots` is the house
chart style and :mod:`.house` the templates and CSS they share. Nothing is imported
here: a stage's kernel needs the chart style, not nbconvert.
"""
