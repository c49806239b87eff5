"""The analyses behind the book's chapters: one module per chapter, one result object per chapter.

Each module has one cached function returning a frozen result whose attributes and methods are
everything its chapter prints: the fits it runs (from :mod:`analysis.fit`), the frames its charts
draw (:mod:`analysis.charts`), and every number and sentence of its prose, formatted with
:mod:`analysis.text`. A chapter's setup cell imports the function and calls it; its inline
expressions read the result. Nothing in a chapter's prose is typed by hand.

* :mod:`~analysis.chapters.pretraining` (chapter 1), :mod:`~analysis.chapters.compression` (2),
  :mod:`~analysis.chapters.benchmarks` (3);
* :mod:`~analysis.chapters.epoch` -- the Chinchilla runs fitted three ways, shared by
  :mod:`~analysis.chapters.compute_optimal` (4) and :mod:`~analysis.chapters.parametric_loss` (5);
* :mod:`~analysis.chapters.preface` (key findings) and :mod:`~analysis.chapters.appendices`.
"""
