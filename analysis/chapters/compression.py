"""Chapter 2: compressed BERT models, average GLUE over 8 tasks against size in MB."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd
from IPython.display import Markdown

from analysis.chapters.common import provenance_columns, source_text
from analysis.data import load_table
from analysis.fit import pareto_frontier
from analysis.tables import markdown_table
from analysis.text import format_value, names_list

BYTES_PER_FP32_WEIGHT = 4
MEGABYTE = 1e6
"""Bytes in the figure's "MB"."""
BASELINE_MODEL = "bert-base"
"""The uncompressed reference of the compression ratios (its published parameter count)."""


@dataclass(frozen=True)
class CompressionChapter:
    """Everything chapter 2 shows.

    Attributes:
        points: one row per compressed model: ``method``, ``label`` (configuration),
            ``technique`` (``quantization`` or ``layer reduction``), ``size_mb``, ``glue``,
            ``on_frontier``, ``compression_ratio`` (reference size / size), ``glue_per_mb``, provenance.
        baseline_parameters: BERT-Base's published parameters; baseline_size_mb: those at 32 bits (MB).
        baseline_source: where the parameter count comes from (tooltip text).
    """

    points: pd.DataFrame
    baseline_parameters: int
    baseline_size_mb: float
    baseline_source: str

    @staticmethod
    def tag(row: pd.Series) -> str:
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
        return names_list(self.tag(row) for _, row in self.frontier.iterrows())

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
    def binary_gap(self) -> float:
        """The largest score difference between two readings of one BinaryBERT method (points)."""
        binary = self.points[self.points["method"].str.startswith("BinaryBERT")]
        return float(binary.groupby("method")["glue"].agg(lambda g: g.max() - g.min()).max())

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
            formats={"size_mb": lambda v: format_value(v, 2), "glue": lambda v: f"{v:.1f}",
                     "compression_ratio": lambda v: format_value(v, 2)},
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
    points = provenance_columns(table).assign(
        label=table["label"].fillna(""),
        technique=table["technique"].str.replace("_", " "),
        size_mb=table["size_mb"].astype(float),
        glue=table["glue_avg"].astype(float),
    )
    points["on_frontier"] = pareto_frontier(points["size_mb"].to_numpy(), points["glue"].to_numpy())
    points["compression_ratio"] = baseline_size / points["size_mb"]
    points["glue_per_mb"] = points["glue"] / points["size_mb"]
    return CompressionChapter(points, baseline_parameters, baseline_size,
                              source_text(bert["source"], bert["source_detail"]))
