"""CLI commands: data import, data fetch."""
from pathlib import Path

import click

from maskgate.errors import printable

from . import ranges


@click.group()
def data():
    """Get public datasets and turn dataset folders into a training manifest."""


@data.command("import", context_settings={"show_default": True})
@click.argument("sources", nargs=-1, required=True, metavar="SRC...")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for manifest.csv, skipped.csv and import-report.md.")
@click.option("--label-map", metavar="FOLDER=LABEL,...",
              help="Extra or overriding class folder names, e.g. 'masked=mask,bare=no_mask'. "
                   "Labels: mask, no_mask, incorrect.")
@click.option("--holdout-source", metavar="NAME", help="Put this whole source in the test split.")
@click.option("--seed", type=click.IntRange(0), default=0, help="Seed of the split of sources without a publisher split.")
@click.option("--val-fraction", type=ranges.FloatRange(0, 1, max_open=True), default=0.1, help="Share of such sources for validation.")
@click.option("--test-fraction", type=ranges.FloatRange(0, 1, max_open=True), default=0.1, help="Share of such sources for test.")
@click.option("--near-distance", type=click.IntRange(-1, 64), default=4,
              help="pHash bits two pictures may differ in and still be near-duplicates (one group); -1: off.")
@click.option("--crop-faces", is_flag=True, help="Find faces as the firmware does (Haar frontal, else a face placed from an eye pair) and store the largest box per picture.")
@click.option("--overwrite", is_flag=True, help="Replace an import already in OUT.")
def import_(sources, out_dir, label_map, holdout_source, seed, val_fraction, test_fraction, near_distance, crop_faces, overwrite):
    """Import dataset folders into OUT/manifest.csv with leak-free train/val/test splits.

    Each SRC is a folder, or NAME=FOLDER to name the source (default: the folder's name).
    Layouts recognised: kaggle-12k (Train|Validation|Test/WithMask|WithoutMask), class-folders
    (with_mask/ without_mask/, any case), openmv-ide (<name>.class/ + labels.txt) and
    maskgate-capture (openmv-ide + provenance.json).

    Exact duplicates are dropped, near-duplicates share a group that never straddles two splits;
    a publisher's split is kept. Unreadable files are skipped and listed, never fatal.

    \b
    Example:
      maskgate data import ../shared/datasets/face-mask-12k \\
          chandrikadeb7=../shared/datasets/face-mask-chandrikadeb7 \\
          --holdout-source chandrikadeb7 --out data/masks
    """
    from maskgate import out_folder
    from maskgate.data.importer import OUTPUTS, run_import
    from maskgate.data.layouts import parse_label_map

    out_folder.check_new(out_dir, OUTPUTS, "--out", overwrite)
    result = run_import(sources, out_dir, label_map=parse_label_map(label_map), holdout_source=holdout_source,
                        seed=seed, val_fraction=val_fraction, test_fraction=test_fraction,
                        crop_faces=crop_faces, near_distance=near_distance)
    _print_import_summary(result)


@data.command("fetch")
@click.argument("names", nargs=-1, metavar="[NAME...]")
@click.option("--to", "to_dir", default=None, type=click.Path(file_okay=False),
              help="Folder that receives one sub-folder per dataset.  [default: data/datasets, the folder "
                   "`maskgate build` looks in]")
@click.option("--catalogue", "catalogue_file", type=click.Path(dir_okay=False),
              help="Dataset catalogue (TOML). Default: datasets/catalogue.toml of this repository.")
def fetch_(names, to_dir, catalogue_file):
    """Download, verify and unpack public datasets from the catalogue into TO/NAME.

    Without NAME, list the catalogue. Interrupted downloads resume; a dataset already in
    TO/NAME is not fetched again. GitHub sources are archives of a pinned commit, checked file
    by file after unpacking; Kaggle datasets need a Kaggle API token (~/.kaggle/kaggle.json)
    and `pip install kaggle`.

    \b
    Example:
      maskgate data fetch face-mask-chandrikadeb7
      maskgate data import data/datasets/face-mask-chandrikadeb7 --out data/masks
    """
    from rich.console import Console
    from rich.table import Table

    from maskgate.data.catalogue import DEFAULT_DOWNLOAD_DIR, how_fetched, load_catalogue
    from maskgate.data.fetch import fetch

    if not names:
        table = Table(title="dataset catalogue")
        table.add_column("name", no_wrap=True)
        for column in ("fetched as", "layout", "pictures", "licence"):
            table.add_column(column)
        for entry in load_catalogue(catalogue_file).values():
            counts = ", ".join(f"{n} {label}" for label, n in entry["expected"].items())
            table.add_row(entry["name"], how_fetched(entry), entry["layout"], counts, entry["licence"])
        Console().print(table)
        return
    for name, folder in fetch(names, to_dir or DEFAULT_DOWNLOAD_DIR, catalogue_file).items():
        click.echo(f"{name}: {folder}")


def _print_import_summary(result) -> None:
    from rich.console import Console
    from rich.table import Table

    from maskgate.data.manifest import SPLITS
    from maskgate.data.report import counts

    table = Table("source", "label", *SPLITS, "total", title=f"imported {len(result.rows)} pictures")
    for (source, label), by_split in counts(result.rows).items():
        table.add_row(source, label, *(str(by_split[s]) for s in SPLITS), str(sum(by_split.values())))
    console = Console()
    console.print(table)
    layouts = ", ".join(f"{name}: {layout.name}" for name, layout in result.sources)
    console.print(f"layouts: {layouts}")
    console.print(f"skipped {len(result.skipped)} files ({len(result.duplicates)} exact duplicates); "
                  f"{sum(result.moved.values())} moved to keep near-duplicates in one split")
    out = Path(result.manifest).parent
    console.print(f"manifest: {result.manifest}\nreport:   {out / 'import-report.md'}")
    for line in import_warnings(result):
        click.secho(f"warning: {line}", fg="yellow", err=True)


def import_warnings(result) -> list[str]:
    """What an import left out that the user may have meant in: folders that are no known class
    (a misspelt with_mask/?), a single class, files whose names are not UTF-8. Said on the
    terminal, not only in the report; the import itself stands (train refuses one class)."""
    lines = [f"{name}: {note}" for name, layout in result.sources for note in layout.notes
             if note.startswith("ignored folder")]
    labels = sorted({row["label"] for row in result.rows})
    if len(labels) == 1:
        lines.append(f"only {labels[0]} pictures were imported: a model needs at least two classes")
    bad_names = sum("not valid UTF-8" in why for _, why in result.skipped)
    if bad_names:
        lines.append(f"{bad_names} files skipped because their names are not valid UTF-8 (listed in skipped.csv)")
    damaged = [(path, why) for path, why in result.skipped
               if not why.startswith(("exact duplicate", "not a picture file name", "file name is not valid"))]
    lines += [f"skipped {printable(path)}: {why}" for path, why in damaged[:5]]
    if len(damaged) > 5:
        lines.append(f"... and {len(damaged) - 5} more unusable pictures (all in skipped.csv)")
    return lines


COMMANDS = [data]


# ---------------------------------------------------------------- face crops and synthetic masks
# (issue 5; kept in one block: `data faces`, `data synth-masks`)


@data.command("faces", context_settings={"show_default": True})
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="New dataset folder for the crops ([split/]label/NAME.jpg), faces.csv and faces-report.md.")
@click.option("--label-map", metavar="FOLDER=LABEL,...", help="Extra or overriding class folder names (as for import).")
@click.option("--several", type=click.Choice(["skip", "all"]), default="skip",
              help="Pictures with several faces: skip them (listed), or crop every face.")
@click.option("--max-side", type=click.IntRange(1), default=256, help="Larger crops are shrunk to this many pixels.")
@click.option("--face-stage", type=click.Choice(["haar", "facedet", "haar+facedet"]), default="haar",
              help="The camera's face stage (config.json face_stage).")
@click.option("--detector", "detector_model", type=click.Path(exists=True, dir_okay=False),
              help="The face detector .tflite (facedet stages).")
@click.option("--detector-threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Its threshold (config.json detector.threshold).  [default: the firmware's]")
@click.option("--overwrite", is_flag=True, help="Replace crops already in OUT.")
def faces_(src, out_dir, label_map, several, max_side, face_stage, detector_model, detector_threshold, overwrite):
    """Crop the faces of a dataset folder the way the camera does (its face stage, margin, square).

    SRC is any layout `maskgate data import` reads. Pictures with no face or with several
    faces are listed in OUT/faces-report.md and OUT/faces.csv, not guessed. Import OUT like
    any other dataset.

    \b
    Example:
      maskgate data faces ../shared/datasets/face-mask-chandrikadeb7 --out data/chandrikadeb7-faces
      maskgate data import data/chandrikadeb7-faces --out data/faces
    """
    from maskgate import out_folder
    from maskgate.data.faces import crop_faces, stage_detector
    from maskgate.data.layouts import parse_label_map

    out_folder.check_new(out_dir, ("faces.csv", "faces-report.md"), "--out", overwrite)
    detector = stage_detector(face_stage, detector_model, detector_threshold)
    result = crop_faces(src, out_dir, label_map=parse_label_map(label_map), several=several, max_side=max_side,
                        detector=detector)
    click.echo(f"{len(result.rows)} pictures: {result.count('cropped')} one face, {result.count('no_face')} no face, "
               f"{result.count('several_faces')} several faces, {result.count('unreadable')} unreadable; "
               f"{result.crops()} crops in {out_dir}")
    click.echo(f"report: {Path(out_dir) / 'faces-report.md'}")


@data.command("synth-masks", context_settings={"show_default": True})
@click.option("--data", "data_", required=True,
              help="Import folder (holding manifest.csv) or manifest.csv whose no_mask faces get masks.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="New folder: mask/ and incorrect/ pictures, manifest.csv (input + synthetic rows), synth.csv, report.")
@click.option("--incorrect/--no-incorrect", default=False,
              help="Also draw one mask per face worn incorrectly (below the nose or on the chin), label 'incorrect'.")
@click.option("--seed", type=click.IntRange(0), default=0, help="Same seed, same pictures.")
@click.option("--limit", type=click.IntRange(1), help="Draw on a seeded subset of this many faces.")
@click.option("--per-face", type=click.IntRange(1), default=1, help="Correctly worn masks per face.")
@click.option("--style", "styles", multiple=True, type=click.Choice(["surgical", "kn95", "n95", "cloth"]),
              help="Mask styles to draw (repeatable). Default: all.")
@click.option("--split", "splits", multiple=True, type=click.Choice(["train", "val", "test"]),
              help="Only faces of these splits (repeatable). Default: all; a face's pictures keep its split.")
@click.option("--source", "sources", multiple=True, help="Only faces of these sources (repeatable).")
@click.option("--name", default="synth-masks", help="Source name of the synthetic rows.")
@click.option("--overwrite", is_flag=True, help="Replace synthetic masks already in OUT.")
def synth_masks_(data_, out_dir, incorrect, seed, limit, per_face, styles, splits, sources, name, overwrite):
    """Draw masks (surgical, KN95, N95, cloth) on the bare faces of a dataset, as a new source.

    Each picture stays in the group and split of the face it was drawn on, so no split leaks.
    Train on OUT/manifest.csv (the input rows plus the new ones); with --incorrect, train
    with --classes 3.

    \b
    Example:
      maskgate data synth-masks --data data/masks --out data/masks-synth --incorrect --limit 2000
      maskgate train --data data/masks-synth --classes 3 --out runs/three
    """
    from maskgate import out_folder
    from maskgate.data.manifest import SPLITS
    from maskgate.data.mask_render import STYLES

    out_folder.check_new(out_dir, ("manifest.csv", "synth.csv", "synth-report.md"), "--out", overwrite)
    from maskgate.data.synth_masks import synth_masks

    p = Path(data_)
    manifest = p / "manifest.csv" if p.is_dir() else p
    out = synth_masks(manifest, out_dir, incorrect=incorrect, seed=seed, limit=limit, splits=splits or SPLITS,
                      sources=sources or None, styles=styles or STYLES, per_face=per_face, source_name=name)
    click.echo(f"manifest: {out}\nreport:   {Path(out_dir) / 'synth-report.md'}")


# ---------------------------------------------------------------- the face stage's data (issue 16)


@data.command("face-boxes", context_settings={"show_default": True})
@click.option("--teacher", required=True, type=click.Path(exists=True, dir_okay=False),
              help="BlazeFace front 128 .tflite (OpenMV's lib/models/blazeface_front_128.tflite; not shipped here).")
@click.option("--data", "data_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="The datasets folder holding the sources.")
@click.option("--source", "sources", multiple=True, default=("face-mask-chandrikadeb7", "face-mask-rwmfd"),
              help="Sources to label (folders under --data).")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="The annotations CSV (file name -> boxes), e.g. datasets/face_boxes.csv.")
def face_boxes_(teacher, data_dir, sources, out_file):
    """Face boxes for real photos from a teacher detector on the PC (detector training data).

    Writes one row per picture (its path under --data, size, every box the teacher gave as
    x,y,w,h,score); no pixels. The detector trains on these (maskgate.detector.photos).
    """
    from maskgate.detector import face_boxes, teacher as teachers

    command = (f"maskgate data face-boxes --teacher {Path(teacher).name} --data {data_dir} "
               + " ".join(f"--source {s}" for s in sources) + f" --out {out_file}")
    rows = face_boxes.label(data_dir, teachers.BlazeFace(teacher, threshold=face_boxes.LABEL_THRESHOLD), sources,
                            progress=click.echo)
    face_boxes.write(out_file, rows, command)
    click.echo(f"{len(rows)} pictures labelled -> {out_file}")


@data.command("backgrounds", context_settings={"show_default": True})
@click.option("--detector", "detector_model", type=click.Path(exists=True, dir_okay=False),
              help="The face detector .tflite whose boxes on empty scenes become crops (none: Haar and fixed regions).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="New folder: <split>/background/NNNNNN.png, labels.txt, provenance.json.")
@click.option("--train", "n_train", type=int, default=4000, help="Training crops.")
@click.option("--val", "n_val", type=int, default=400, help="Validation crops.")
@click.option("--threshold", type=float, default=0.2, help="Detector peaks at least this sure are taken.")
@click.option("--photos", "photo_sources", multiple=True,
              help="Also face-free windows of these photo sources (datasets/face_boxes.csv), e.g. face-mask-rwmfd.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default=None,
              help="The datasets folder (with --photos).")
@click.option("--seed", type=int, default=0)
def backgrounds_(detector_model, out_dir, n_train, n_val, threshold, photo_sources, data_dir, seed):
    """The classifier's background class: what the face stage crops on empty scenes.

    Seeded; the same detector and seed give the same crops.
    """
    from maskgate.detector.background_export import export_folder
    from maskgate.errors import DataError

    if photo_sources and not data_dir:
        raise DataError("--photos needs --data (the datasets folder)")
    info = export_folder(out_dir, detector_model, {"train": n_train, "val": n_val}, seed, threshold,
                         tuple(photo_sources), data_dir, progress=click.echo)
    click.echo(f"background crops: {info['counts']} -> {out_dir}")
