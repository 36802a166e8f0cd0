"""Figures the benchmarks report: percentiles of timings, rounded for printing and JSON."""

from __future__ import annotations

from codellama_lsp.lsp.stats import percentile


def summary(values: list[float], digits: int = 2) -> dict:
    """The median and 95th percentile of `values` (None for none)."""
    return {"p50": rounded(percentile(values, 50), digits),
            "p95": rounded(percentile(values, 95), digits)}


def rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
