"""Scaling Atlas analysis package: curated data, scaling-law fits and charts.

Data flows one way: :mod:`analysis.data` (tables, schema, provenance, fetch) ->
:mod:`analysis.fit` (estimators with bootstrap uncertainty) -> :mod:`analysis.charts`
(Altair charts and the project renderer) -> chapters -> the publishing engine
(:mod:`bookengine`, which never imports this package).
"""

__version__ = "0.1.0"
