"""Exact duplicates (same bytes) are dropped; near-duplicates (close pHashes) share a group,
across sources, so a split can never put one copy in train and another in test."""
from __future__ import annotations

from .hashing import NEAR_DUPLICATE_DISTANCE, near_duplicate_pairs


def drop_exact_duplicates(rows: list[dict]) -> tuple[list[dict], list[tuple[dict, dict]]]:
    """Keep the first row of each sha256 (rows come in source order). Returns the kept rows
    and (dropped, kept_instead) pairs."""
    first: dict[str, dict] = {}
    kept, dropped = [], []
    for row in rows:
        original = first.setdefault(row["sha256"], row)
        if original is row:
            kept.append(row)
        else:
            dropped.append((row, original))
    return kept, dropped


def near_duplicate_components(hashes, max_distance: int = NEAR_DUPLICATE_DISTANCE) -> list[int]:
    """For each hash, the smallest index of its connected component, where two hashes are
    connected when within `max_distance` bits (union-find, so the relation is transitive)."""
    parent = list(range(len(hashes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in near_duplicate_pairs(hashes, max_distance).tolist():
        ri, rj = find(i), find(j)
        if ri != rj:
            # the smaller index is the root so ids do not depend on the order pairs arrive in
            parent[max(ri, rj)] = min(ri, rj)
    return [find(i) for i in range(len(hashes))]


def assign_groups(rows: list[dict], max_distance: int = NEAR_DUPLICATE_DISTANCE) -> None:
    """Set row["group"]: the first 12 hex digits of the sha256 of the group's first row."""
    roots = near_duplicate_components([int(r["phash"], 16) for r in rows], max_distance)
    for row, root in zip(rows, roots):
        row["group"] = rows[root]["sha256"][:12]
