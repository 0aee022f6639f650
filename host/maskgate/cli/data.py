"""CLI commands: data import, data fetch."""
from pathlib import Path

import click


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
@click.option("--seed", type=int, default=0, help="Seed of the split of sources without a publisher split.")
@click.option("--val-fraction", type=float, default=0.1, help="Share of such sources for validation.")
@click.option("--test-fraction", type=float, default=0.1, help="Share of such sources for test.")
@click.option("--near-distance", type=int, default=4,
              help="pHash bits two pictures may differ in and still be near-duplicates (one group); -1: off.")
@click.option("--crop-faces", is_flag=True, help="Find faces (Haar) and store the largest box per picture.")
def import_(sources, out_dir, label_map, holdout_source, seed, val_fraction, test_fraction, near_distance, crop_faces):
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
    from maskgate.data.importer import run_import
    from maskgate.data.layouts import parse_label_map

    result = run_import(sources, out_dir, label_map=parse_label_map(label_map), holdout_source=holdout_source,
                        seed=seed, val_fraction=val_fraction, test_fraction=test_fraction,
                        crop_faces=crop_faces, near_distance=near_distance)
    _print_import_summary(result)


@data.command("fetch")
@click.argument("names", nargs=-1, metavar="[NAME...]")
@click.option("--to", "to_dir", default="data/sources", show_default=True, type=click.Path(file_okay=False),
              help="Folder that receives one sub-folder per dataset.")
@click.option("--catalogue", "catalogue_file", type=click.Path(dir_okay=False),
              help="Dataset catalogue (TOML). Default: datasets/catalogue.toml of this repository.")
def fetch_(names, to_dir, catalogue_file):
    """Download and unpack public datasets from the catalogue into TO/NAME.

    Without NAME, list the catalogue. Interrupted downloads resume; a dataset already in
    TO/NAME is not fetched again. Kaggle datasets need a Kaggle API token
    (~/.kaggle/kaggle.json) and `pip install kaggle`.

    \b
    Example:
      maskgate data fetch face-mask-chandrikadeb7 --to data/sources
      maskgate data import data/sources/face-mask-chandrikadeb7 --out data/masks
    """
    from rich.console import Console
    from rich.table import Table

    from maskgate.data.catalogue import load_catalogue
    from maskgate.data.fetch import fetch

    if not names:
        table = Table(title="dataset catalogue")
        table.add_column("name", no_wrap=True)
        for column in ("kind", "layout", "pictures", "licence"):
            table.add_column(column)
        for entry in load_catalogue(catalogue_file).values():
            counts = ", ".join(f"{n} {label}" for label, n in entry["expected"].items())
            table.add_row(entry["name"], entry["kind"], entry["layout"], counts, entry["licence"])
        Console().print(table)
        return
    for name, folder in fetch(names, to_dir, catalogue_file).items():
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


COMMANDS = [data]
