"""What a build trains and evaluates on: each source its config names, found or fetched, or
skipped with the reason.

A source is looked for first in `--data DIR` (DIR itself when it carries the source's name,
DIR/NAME or a sibling DIR/../NAME), then in [data].fetch_to (an earlier download), and is
otherwise fetched there from the catalogue. A source that needs an account this machine lacks
(Kaggle without a token) is skipped with one line saying how to add it; any other failure to get
a training source stops the build, while an evaluation source that cannot be had is skipped.
When none of the training sources can be had, the build trains on the evaluation sources it got
instead, so a machine with no account still gets a model, and none is left unseen.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from maskgate.errors import DataError, FetchError
from maskgate.markdown import table

from .catalogue import how_fetched, load_catalogue
from .fetch import fetch_one, missing_account

# Fewer real pictures of a class than this is too little to train and to measure a model on.
MIN_PICTURES_PER_CLASS = 200
console = Console(stderr=True)


@dataclass
class Source:
    name: str
    path: Path
    origin: str  # where it was found or how it was fetched, for the report
    entry: dict | None = None  # its catalogue entry; None for the user's own dataset


@dataclass
class Skipped:
    name: str
    role: str  # "training" or "evaluation"
    why: str


@dataclass
class BuildSources:
    train: list[Source] = field(default_factory=list)
    unseen: list[Source] = field(default_factory=list)  # evaluated on, never trained on
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def import_specs(self) -> list[str]:
        """NAME=PATH for maskgate.data.importer."""
        return [f"{s.name}={s.path}" for s in self.train]


def locate(name: str, data_dir: Path | None) -> Path | None:
    if data_dir is None:
        return None
    for candidate in (data_dir if data_dir.name == name else None, data_dir / name, data_dir.parent / name):
        if candidate is not None and candidate.is_dir():
            return candidate
    return None


def gather(config: dict, data_dir=None, progress: bool = True) -> BuildSources:
    """Find, fetch or skip every source of `config` ([data].sources to train on, [evaluate].sources
    never trained on). Raises FetchError when a training source fails to download, DataError
    when no source at all can be had."""
    data_dir = Path(data_dir) if data_dir else None
    d = config["data"]
    catalogue = load_catalogue(d.get("catalogue") or None)
    fetch_to = Path(d["fetch_to"])
    train_names = list(d["sources"])
    eval_names = [n for n in config["evaluate"]["sources"] if n not in train_names]
    got = BuildSources()

    def get(name: str, role: str) -> None:
        try:
            source = _get(name, data_dir, fetch_to, catalogue, progress)
        except (FetchError, DataError) as e:
            if role == "training":
                raise
            source = Skipped(name, role, str(e))
        if isinstance(source, Skipped):
            source.role = role
            got.skipped.append(source)
            console.print(f"[yellow]skipped[/] {name}: {escape(source.why)}", soft_wrap=True)  # one line, even in a log
        else:
            (got.train if role == "training" else got.unseen).append(source)

    if data_dir is not None and not any(locate(n, data_dir) for n in train_names):
        # a --data folder that is none of the configured sources is the user's own dataset
        got.train.append(Source(data_dir.resolve().name, data_dir, f"--data {data_dir}"))
    else:
        for name in train_names:
            get(name, "training")
    for name in eval_names:
        get(name, "evaluation")

    if not got.train:
        if not got.unseen:
            whys = "; ".join(f"{s.name}: {s.why}" for s in got.skipped)
            raise DataError(f"no source could be had to train on: {whys}")
        skipped = ", ".join(s.name for s in got.skipped if s.role == "training")
        note = (f"none of the training sources could be had ({skipped}): this build trains on the evaluation "
                f"sources it got instead ({', '.join(s.name for s in got.unseen)}), so no source is left unseen")
        console.print(f"[yellow]note[/]: {escape(note)}", soft_wrap=True)
        got.notes.append(note)
        got.train, got.unseen = got.unseen, []
    for s in got.train:
        if s.entry and s.entry["restriction"]:
            console.print(f"[yellow]licence[/]: {s.name} is {s.entry['restriction']}: so is a model trained on it",
                          soft_wrap=True)
    return got


def _get(name, data_dir, fetch_to, catalogue, progress) -> Source | Skipped:
    found = locate(name, data_dir)
    if found:
        return Source(name, found, f"--data ({found})", catalogue.get(name))
    entry = catalogue.get(name)
    downloaded = fetch_to / name
    if entry is None:
        if downloaded.is_dir():
            return Source(name, downloaded, f"found in {fetch_to}")
        raise DataError(f"{name}: not found (in --data or {fetch_to}) and not in the dataset catalogue "
                        f"(known: {', '.join(catalogue)})")
    if downloaded.exists():
        return Source(name, fetch_one(entry, fetch_to, progress), f"downloaded earlier into {fetch_to}", entry)
    why = missing_account(entry)
    if why:
        return Skipped(name, "", why)
    return Source(name, fetch_one(entry, fetch_to, progress), f"downloaded into {fetch_to} ({how_fetched(entry)})", entry)


def check_enough(rows: list[dict], labels, got: BuildSources) -> None:
    """Refuse (DataError, exit code 3) when a class has fewer than MIN_PICTURES_PER_CLASS
    pictures among the imported `rows`."""
    counts = Counter(row["label"] for row in rows)
    short = [label for label in labels if counts[label] < MIN_PICTURES_PER_CLASS]
    if not short:
        return
    have = ", ".join(f"{counts[label]} {label}" for label in labels)
    hint = "; ".join(f"skipped {s.name}: {s.why}" for s in got.skipped if s.role == "training") or (
        "add sources to [data] sources of the build config, or pass --data with more pictures")
    raise DataError(
        f"too little data to train: {have} pictures from {', '.join(s.name for s in got.train)}; "
        f"at least {MIN_PICTURES_PER_CLASS} of each class are needed ({', '.join(short)} too few). {hint}"
    )


def summary(got: BuildSources, rows: list[dict]) -> dict:
    """The build report's account of its data (build.json "data")."""
    pictures = Counter((row["source"], row["label"]) for row in rows)
    return {
        "trained_on": [
            {"name": s.name, "origin": s.origin,
             "pictures": {label: n for (source, label), n in sorted(pictures.items()) if source == s.name},
             "licence": s.entry["licence"] if s.entry else "your own data",
             "restriction": s.entry["restriction"] if s.entry else "",
             "home": s.entry["home"] if s.entry else ""}
            for s in got.train
        ],
        "never_seen": [{"name": s.name, "origin": s.origin, "licence": s.entry["licence"] if s.entry else ""}
                       for s in got.unseen],
        "skipped": [{"name": s.name, "role": s.role, "why": s.why} for s in got.skipped],
        "notes": list(got.notes),
    }


def markdown(data: dict) -> list[str]:
    """The "Data" section of build.md, from summary()."""
    rows = [[s["name"], ", ".join(f"{n} {label}" for label, n in s["pictures"].items()), s["origin"], s["licence"]]
            for s in data["trained_on"]]
    lines = ["", "## Data", "", table(["trained on", "pictures (after exact duplicates)", "from", "licence"], rows), ""]
    if data["never_seen"]:
        names = ", ".join(s["name"] for s in data["never_seen"])
        lines.append(f"Evaluated on the test split of the sources trained on, and on {names}, never trained on.")
    else:
        lines.append("Evaluated on the test split of the sources trained on only: every source this build could get "
                     "was trained on, so there is no never-seen figure.")
    if data["skipped"]:
        lines += ["", "Skipped:", ""] + [f"- {s['name']} ({s['role']} source): {s['why']}" for s in data["skipped"]]
    lines += [f"\nNote: {note}" for note in data["notes"]]
    restricted = [s for s in data["trained_on"] if s["restriction"]]
    lines += ["", "The model follows the terms of the sources it was trained on (above)"
              + ("; " + "; ".join(f"{s['name']}: **{s['restriction']}**" for s in restricted) if restricted else "")
              + "."]
    return lines
