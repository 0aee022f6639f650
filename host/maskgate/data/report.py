"""What an import did, for people: DIR/import-report.md, and DIR/skipped.csv (path, reason)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone

from maskgate import atomic
from maskgate.errors import printable
from maskgate.markdown import table

from .manifest import SPLITS, write_csv

LIST_LIMIT = 30  # longer lists are cut in the report; skipped.csv has them all


def write_skipped(path, skipped) -> None:
    write_csv(path, ("path", "reason"), ({"path": printable(p), "reason": why} for p, why in skipped))


def counts(rows) -> dict[tuple[str, str], Counter]:
    """(source, label) -> Counter of splits, in first-seen order."""
    by: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for row in rows:
        by[(row["source"], row["label"])][row["split"]] += 1
    return by


def write_import_report(path, result) -> None:
    # printable: a name that is not UTF-8 (skipped, but listed) is shown as \xNN
    atomic.write_text(path, printable("\n".join(_lines(result)) + "\n"))


def _lines(r):
    s = r.settings
    yield "# Dataset import report"
    yield ""
    yield f"Created {datetime.now(timezone.utc).isoformat(timespec='seconds')}: {len(r.rows)} pictures kept, " \
          f"{len(r.skipped)} skipped ({len(r.duplicates)} of them exact duplicates)."
    yield f"Settings: seed {s['seed']}, val fraction {s['val_fraction']}, test fraction {s['test_fraction']}, " \
          f"holdout source {s['holdout_source'] or 'none'}, near-duplicate distance <= {s['near_distance']} bits, " \
          f"face boxes {'yes' if s['crop_faces'] is True else ', '.join(s['crop_faces']) if s['crop_faces'] else 'no'}" + \
          (f", label map {s['label_map']}" if s["label_map"] else "") + "."
    yield ""
    yield "## Sources"
    yield ""
    yield table(["source", "layout", "folder", "pictures found", "other files"],
                [[name, layout.name, f"`{printable(layout.root)}`", len(layout.entries), len(layout.ignored)]
                 for name, layout in r.sources], "lllrr")
    for name, layout in r.sources:
        for note in layout.notes:
            yield f"- {name}: {note}"
    yield ""
    yield "## Kept pictures per source, label and split"
    yield ""
    rows = [[source, label, *(by_split[sp] for sp in SPLITS), sum(by_split.values())]
            for (source, label), by_split in counts(r.rows).items()]
    totals = Counter(row["split"] for row in r.rows)
    rows.append(["**all**", "", *(totals[sp] for sp in SPLITS), len(r.rows)])
    yield table(["source", "label", *SPLITS, "total"], rows, "ll" + "r" * (len(SPLITS) + 1))
    yield ""
    yield from _groups(r)
    yield from _listing("Skipped files", [f"`{p}`: {why}" for p, why in r.skipped
                                          if not why.startswith("exact duplicate")])
    yield from _listing("Exact duplicates (dropped, first copy kept)", [
        f"`{dup['path']}` ({dup['source']}, {dup['label']}) = `{kept['path']}` ({kept['source']}, {kept['label']})"
        + (" **label differs**" if dup["label"] != kept["label"] else "")
        for dup, kept in r.duplicates])
    if s["crop_faces"]:
        yield from _listing("No face found (centre square will be used)", [f"`{p}`" for p in r.no_face])
        yield from _listing("Several faces found (the largest is kept)", [f"`{p}`" for p in r.several_faces])


def _groups(r):
    members = defaultdict(list)
    for row in r.rows:
        members[row["group"]].append(row)
    shared = [g for g in members.values() if len(g) > 1]
    yield "## Near-duplicate groups"
    yield ""
    yield f"- {len(members)} groups; {len(shared)} hold more than one picture " \
          f"({sum(len(g) for g in shared)} pictures), the largest {max((len(g) for g in shared), default=1)}."
    yield f"- {sum(len({x['source'] for x in g}) > 1 for g in shared)} groups span more than one source."
    mixed = [g for g in shared if len({x["label"] for x in g}) > 1]
    yield f"- {len(mixed)} groups mix labels (look at them: one label is probably wrong)" + \
          (": " + ", ".join(f"`{g[0]['group']}`" for g in mixed[:LIST_LIMIT]) if mixed else ".")
    moved = sum(r.moved.values())
    detail = ", ".join(f"{n} {a}→{b}" for (a, b), n in sorted(r.moved.items()))
    yield f"- {moved} pictures changed split so that no copy or near-copy straddles two splits" + (f" ({detail})." if moved else ".")
    yield ""


def _listing(title, items):
    yield f"## {title}: {len(items)}"
    yield ""
    for item in items[:LIST_LIMIT]:
        yield f"- {item}"
    if len(items) > LIST_LIMIT:
        yield f"- ... and {len(items) - LIST_LIMIT} more (all in skipped.csv)"
    yield ""
