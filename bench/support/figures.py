"""Figures for the benches' tables that never divide by zero: on a busy machine a short cell may
complete no request, or a fast step measure no CPU; its row then says n/a instead of failing."""

import math

NA = "n/a"


def per(numerator: float, denominator: float) -> float:
    """numerator / denominator, or NaN when the denominator is 0 (or either is NaN)."""
    if not denominator or math.isnan(denominator) or math.isnan(numerator):
        return math.nan
    return numerator / denominator


def show(value: float, spec: str, suffix: str = "") -> str:
    """A figure in the format spec (".2f", ".1%"…) with its suffix, or n/a where there is none."""
    if math.isnan(value) or math.isinf(value):
        return NA
    return f"{value:{spec}}{suffix}"


def ratio(numerator: float, denominator: float, spec: str = ".2f") -> str:
    """numerator / denominator as "1.23x", or n/a."""
    return show(per(numerator, denominator), spec, "x")
