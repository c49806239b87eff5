"""Chapter 2: compressed BERT models, average GLUE over 8 tasks against size in MB."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from IPython.display import Markdown

from analysis.chapters.common import fixed, provenance_columns, source_text
from analysis.data import load_table
from analysis.fit import pareto_frontier
from analysis.tables import markdown_table
from analysis.text import names_list, with_unit

BYTES_PER_FP32_WEIGHT = 4
MEGABYTE = 1e6
"""Bytes in the figure's "MB"."""
BASELINE_MODEL = "bert-base"
"""The uncompressed reference of the compression ratios (its published parameter count)."""
PROPOSED_METHOD = "XTC-BERT"
"""The paper's own method; its quantized models are marked ``XTC-BERT*`` in the figure."""


@dataclass(frozen=True)
class CompressionChapter:
    """Everything chapter 2 shows.

    Attributes:
        points: one row per compressed model: ``method``, ``method_family`` (``method`` without the
            figure's asterisk, so XTC's quantized and layer-reduced models share a colour), ``label``
            (configuration as the figure prints it), ``tag`` (method, configuration and size: one
            name per row), ``technique`` (``quantization`` or ``layer reduction``), ``layers``,
            ``size_mb``, ``glue``, ``on_frontier``, ``compression_ratio`` (reference size / size),
            ``glue_per_mb``, provenance (``source``, ``value_kind``, ``raw_value_kind``, ``note``).
        baseline_parameters: BERT-Base's published parameters; baseline_size_mb: those at 32 bits (MB).
        baseline_source: where the parameter count comes from (tooltip text).
    """

    points: pd.DataFrame
    baseline_parameters: int
    baseline_size_mb: float
    baseline_source: str

    @staticmethod
    def name(row: pd.Series) -> str:
        """A model's method and configuration: ``"XTC-BERT* L=12 (2-bit)"``."""
        return f"{row['method']} {row['label']}".strip()

    @property
    def quantized(self) -> pd.DataFrame:
        return self.points[self.points["technique"] == "quantization"]

    @property
    def layer_reduced(self) -> pd.DataFrame:
        return self.points[self.points["technique"] == "layer reduction"]

    @property
    def frontier(self) -> pd.DataFrame:
        """The Pareto-optimal models, smallest first."""
        return self.points[self.points["on_frontier"]].sort_values("size_mb")

    @property
    def frontier_names(self) -> str:
        return names_list(self.name(row) for _, row in self.frontier.iterrows())

    @property
    def best(self) -> pd.Series:
        """The model with the highest score."""
        return self.points.loc[self.points["glue"].idxmax()]

    @property
    def best_smallest(self) -> pd.Series:
        """The best model at the smallest size in the figure."""
        smallest = self.points[self.points["size_mb"] == self.points["size_mb"].min()]
        return smallest.loc[smallest["glue"].idxmax()]

    @property
    def best_layer_reduced(self) -> pd.Series:
        layer = self.layer_reduced
        return layer.loc[layer["glue"].idxmax()]

    @property
    def xtc(self) -> pd.DataFrame:
        """XTC-BERT*'s quantized models, smallest first."""
        return self.points[self.points["method"] == "XTC-BERT*"].sort_values("size_mb")

    @property
    def full_layers(self) -> int:
        """BERT-Base's layer count: the most layers any model in the figure keeps."""
        return int(self.points["layers"].max())

    @property
    def fewer_layer_quantized(self) -> pd.DataFrame:
        """Quantized models that do not keep every layer: fewer layers, or built on a layer-reduced
        model (layers unknown, their note says so)."""
        quantized = self.quantized
        fewer = quantized["layers"] < self.full_layers
        built_on_smaller = quantized["layers"].isna() & quantized["note"].fillna("").str.contains("fewer-layer")
        return quantized[fewer.fillna(False) | built_on_smaller]

    @property
    def size_contests(self) -> pd.DataFrame:
        """Per size in the figure (MB), the best of the paper's own models against the best other:
        ``size_mb``, ``proposed`` and ``other`` (method and configuration), ``proposed_glue``, ``other_glue``,
        ``proposed_leads`` (bool); only sizes where both are present, smallest first."""
        rows = []
        for size, group in self.points.groupby("size_mb"):
            own = group[group["method_family"] == PROPOSED_METHOD]
            rest = group[group["method_family"] != PROPOSED_METHOD]
            if own.empty or rest.empty:
                continue
            best_own, best_rest = own.loc[own["glue"].idxmax()], rest.loc[rest["glue"].idxmax()]
            rows.append({"size_mb": float(size), "proposed": self.name(best_own), "other": self.name(best_rest),
                         "proposed_glue": float(best_own["glue"]), "other_glue": float(best_rest["glue"]),
                         "proposed_leads": bool(best_own["glue"] > best_rest["glue"])})
        return pd.DataFrame(rows)

    @property
    def doubtful(self) -> pd.DataFrame:
        """Readings whose note says the method's own paper has no model of that size."""
        return self.points[self.points["note"].fillna("").str.contains("doubtful")]

    @property
    def per_mb_size_correlation(self) -> float:
        """Pearson correlation of log GLUE points per MB with log size: near −1 when score per MB
        merely restates size."""
        return float(np.corrcoef(np.log(self.points["glue_per_mb"]), np.log(self.points["size_mb"]))[0, 1])

    @property
    def score_span(self) -> float:
        """Highest minus lowest score in the figure (points)."""
        return float(self.points["glue"].max() - self.points["glue"].min())

    def data_table(self) -> Markdown:
        """The models: quantized first, then layer-reduced, by size."""
        return markdown_table(
            self.points.sort_values(["technique", "size_mb", "glue"], ascending=[False, True, False]),
            columns={"method": "Method", "label": "Configuration", "size_mb": "Size (MB)",
                     "glue": "GLUE (avg.)", "compression_ratio": "Smaller by (×)", "on_frontier": "Frontier"},
            formats={"size_mb": lambda v: fixed(v, 0), "glue": lambda v: fixed(v),
                     "compression_ratio": lambda v: fixed(v)},
        )


@functools.cache
def compression_chapter() -> CompressionChapter:
    """Chapter 2: average GLUE over 8 tasks vs size, with ratios against BERT-Base in 32-bit floats.

    The figure does not show an uncompressed model, so the reference size is BERT-Base's
    published parameter count (``models`` table) times 4 bytes per 32-bit weight.
    """
    table = load_table("bert_compression")
    bert = load_table("models").set_index("model_id").loc[BASELINE_MODEL]
    baseline_parameters = int(bert["parameters"])
    baseline_size = baseline_parameters * BYTES_PER_FP32_WEIGHT / MEGABYTE
    label = table["label"].fillna("")
    size = table["size_mb"].astype(float)
    points = provenance_columns(table).assign(
        label=label,
        method_family=table["method"].str.rstrip("*"),
        tag=[f"{m} {lab}".strip() + f", {with_unit(fixed(v, 0), 'MB')}"
             for m, lab, v in zip(table["method"], label, size, strict=True)],
        technique=table["technique"].str.replace("_", " "),
        layers=table["layers"].astype(float),
        size_mb=size,
        glue=table["glue_avg"].astype(float),
    )
    points["on_frontier"] = pareto_frontier(points["size_mb"], points["glue"])
    points["compression_ratio"] = baseline_size / points["size_mb"]
    points["glue_per_mb"] = points["glue"] / points["size_mb"]
    return CompressionChapter(points, baseline_parameters, baseline_size,
                              source_text(bert["source"], bert["source_detail"]))
