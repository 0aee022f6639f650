"""Markdown tables for the reports (build.md, report.md, compare.md, ...), written one way."""
from __future__ import annotations


def table(header, rows, align: str = "") -> str:
    """A GitHub Markdown table: `header` cells, then `rows` of cells (each written with str()).
    `align` has one letter per column, "l" (the default) or "r" for a right-aligned column."""
    marks = [("---:" if a == "r" else "---") for a in align.ljust(len(header), "l")]
    lines = [_row(header), "|" + "|".join(marks) + "|"]
    lines += [_row(row) for row in rows]
    return "\n".join(lines)


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def percent(value, digits: int = 2, unit: str = " %") -> str:
    """A share as a percentage (0.9912 -> "99.12 %"), "–" where there is none."""
    return "–" if value is None else f"{value * 100:.{digits}f}{unit}"
