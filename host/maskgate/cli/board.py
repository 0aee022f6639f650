"""CLI commands: the camera over its USB serial link (deploy, capture, pull, device-report,
bench) and its virtual twin (simulate)."""
import json
import sys

import click

from maskgate.memory import EMULATED, NEWEST

PORT_HELP = ("The camera's serial port (/dev/ttyACM0, /dev/cu.usbmodem*, COMn; a virtual board's /dev/pts/N). "
             "Default: $MASKGATE_PORT, else the only camera-like port. Opened at 115200 baud, never 921600 "
             "(the OpenMV IDE's rate).")


def _settings(pairs) -> dict:
    """--set KEY=VALUE pairs, typed, the keys checked against the firmware's config.json."""
    from maskgate import keyvalue
    from maskgate.board.board_config import setting_keys

    return keyvalue.parse(pairs, "--set", setting_keys())


def _bar(description, total):
    """(progress context, advance callback) on stderr."""
    from maskgate.progress import progress_bar

    bar = progress_bar(transient=True)
    bar.console.stderr = True
    task = bar.add_task(description, total=total)
    return bar, (lambda n=1: bar.advance(task, n))


@click.command("simulate", context_settings={"show_default": True})
@click.option("--frames", required=True, metavar="DIR|VIDEO|webcam[:N]",
              help="Pictures for the virtual camera: a folder of images, a video file or a webcam.")
@click.option("--model", type=click.Path(dir_okay=False, exists=True),
              help="Int8 .tflite to run (its manifest.json beside it is used when present). "
                   "Default: models/maskgate_int8.tflite.")
@click.option("--pty", is_flag=True,
              help="Serve the board's USB serial on a pseudo-terminal: prints its path (/dev/pts/N) on the "
                   "first line, runs in real time, loops the frames and serves until Ctrl-C.")
@click.option("--json", "json_lines", is_flag=True,
              help="One JSON object per frame on stdout: frame, face, prob, label, door.")
@click.option("--fps", type=click.FloatRange(0, 1000, min_open=True), default=10.0,
              help="Camera frame rate: the virtual clock's step, or the real-time pace with --pty/--realtime.")
@click.option("--realtime/--virtual-clock", default=None,
              help="Host wall clock (paced at --fps) or a virtual clock (instant, deterministic). "
                   "Default: real time with --pty, virtual otherwise.")
@click.option("--loop/--no-loop", default=None, help="Repeat the frames (default: with --pty).")
@click.option("--max-frames", type=click.IntRange(min=1), help="Stop after this many frames.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override config.json, e.g. --set door.k=2 --set door.hold_s=1 --set face_detection=false.")
@click.option("--card", type=click.Path(file_okay=False),
              help="Folder to use as the SD card (kept afterwards: log, crops, config). An empty one gets the "
                   "firmware, the model and config.json; one that already holds them (an earlier run, "
                   "`maskgate deploy --to-drive DIR`) is run as it is, and --model / --set are refused for it. "
                   "Default: a temporary one.")
@click.option("--firmware", type=click.Choice(EMULATED), default=NEWEST,
              help="OpenMV firmware release to emulate: its modules and what they accept, where the card "
                   "is, its memory (4.5.5: tf API; 4.5.9: the 4.5.6-4.6 line; 4.8.1: 4.7-4.8; 5.0.0).")
@click.option("--api", type=click.Choice(["ml", "tf"]), hidden=True,
              help="Older spelling: tf = --firmware 4.5.5, ml = the newest release.")
@click.option("--echo/--quiet", default=True, help="Copy the firmware's print() output to stderr.")
def simulate(frames, model, pty, json_lines, fps, realtime, loop, max_frames, settings, card, firmware, api, echo):
    """Run the unmodified firmware on a virtual OpenMV Cam H7.

    The frames go through the camera's RGB565 path, the firmware detects faces, runs the
    int8 model and drives a virtual door relay, LEDs and SD card log.

    \b
    Examples:
      maskgate simulate --frames ../shared/datasets/face-mask-12k/Test/WithMask --json
      maskgate simulate --frames clip.mp4 --model runs/a/maskgate_int8.tflite --set door.k=5
      maskgate simulate --frames faces/ --pty      # then point the board tools at /dev/pts/N
    """
    from maskgate.board.virtualboard.simulate import simulate as run_simulation

    if api == "tf":
        firmware = "4.5.5"
    summary = run_simulation(frames, model, pty=pty, json_lines=json_lines, fps=fps, realtime=realtime,
                             loop=loop, card=card, firmware=firmware, max_frames=max_frames,
                             overrides=_settings(settings),
                             echo=(lambda text: sys.stderr.write(text)) if echo else None,
                             log=lambda text: click.echo(text, err=True))
    if summary["crash"]:
        click.secho("the firmware crashed:\n" + summary["crash"], fg="red", err=True)
        sys.exit(1)
    if not json_lines:
        labels = ", ".join(f"{k} {v}" for k, v in summary["labels"].items())
        click.echo(f"{summary['frames']} frames ({labels}); door opened {summary['door_openings']} time(s) "
                   f"[OpenMV {summary['firmware']}]")
        if summary["card"]:
            click.echo(f"card: {summary['card']}")
    if summary["error"]:
        click.secho(summary["error"], fg="red", err=True)
    if summary["problem"]:
        raise summary["problem"]  # nothing valid ran: a named error and its exit code


@click.command("deploy", context_settings={"show_default": True})
@click.option("--port", help=PORT_HELP)
@click.option("--model", type=click.Path(dir_okay=False, exists=True),
              help="Int8 .tflite to deploy (its manifest.json beside it gives labels, threshold, arena). "
                   "Default: models/maskgate_int8.tflite.")
@click.option("--to-drive", type=click.Path(file_okay=False, exists=True),
              help="Write onto the camera's card mounted as a USB drive at this folder instead of over serial.")
@click.option("--via", type=click.Choice(["auto", "protocol", "mpremote"]), default="auto",
              help="auto: the maskgate protocol when the firmware answers, else mpremote through the REPL; "
                   "mpremote: stop the firmware for the REPL first (also updates firmware that speaks an "
                   "older protocol).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override config.json, e.g. --set door.k=2 --set log.crops=all.")
@click.option("--dry-run", is_flag=True, help="List what would change on the card; write nothing.")
@click.option("--rollback", is_flag=True, help="Put back the model and config the last deploy replaced.")
@click.option("--force", is_flag=True, help="Deploy even when the model looks too big for the free heap.")
@click.option("--firmware", type=click.Choice(EMULATED),
              help="OpenMV release to plan the memory for when the board cannot say (--to-drive, a bare REPL). "
                   "Default: the release the board reports, else every supported release.")
def deploy(port, model, to_drive, via, settings, dry_run, rollback, force, firmware):
    """Copy the firmware, the model, its labels and config.json onto the camera's card.

    Checks the firmware version and the memory first: model + tensor arena planned on the
    board's OpenMV release (the table `maskgate info` and `quantize` use) and against the free
    heap the board reports.
    Every changed file is written as NAME.part, verified by sha256 read-back, then renamed
    (config.json last); the replaced model and config are kept in rollback/. The board is
    then reset and must come back running the new model.

    \b
    Examples:
      maskgate deploy --port /dev/ttyACM0 --model runs/a/maskgate_int8.tflite --dry-run
      maskgate deploy --port /dev/ttyACM0 --model runs/a/maskgate_int8.tflite --set door.k=2
      maskgate deploy --to-drive /media/$USER/OPENMV --model runs/a/maskgate_int8.tflite
      maskgate deploy --port /dev/ttyACM0 --rollback
    """
    from maskgate.board import deploy as deploying
    from maskgate.board.link import find_port
    from maskgate.board.virtualboard.simulate import default_model

    port = None if to_drive else find_port(port)
    log = lambda text: click.echo(text, err=True)  # noqa: E731
    if rollback:
        result = deploying.rollback(port=port, to_drive=to_drive, via=via, log=log)
        click.echo(f"rolled back to model {str(result['model_sha256'])[:12]}...")
        return
    model = model or default_model()
    result = deploying.deploy(model, port=port, to_drive=to_drive, via=via, overrides=_settings(settings),
                              dry_run=dry_run, force=force, firmware=firmware, log=log)
    plan = result["plan"]
    if dry_run:
        click.echo(f"dry run: {len(plan.changed)} file(s) would be written, nothing was")
    elif not plan.changed:
        click.echo("nothing to do: the card already holds these files")
    else:
        hello = result["hello"] or {}
        running = f"; the board runs firmware {hello.get('fw')}, model {str(hello.get('model_sha256'))[:12]}..." \
            if hello else ""
        click.echo(f"deployed {len(plan.changed)} file(s) via {plan.via}{running}")


@click.command("capture", context_settings={"show_default": True})
@click.option("--port", help=PORT_HELP)
@click.option("--label", required=True, help="Class name: pictures go to OUT/LABEL.class/ (e.g. mask, no_mask).")
@click.option("--count", type=click.IntRange(1, 100000), required=True, help="How many pictures.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Dataset folder (OpenMV IDE layout; numbering resumes in an existing one).")
@click.option("--interval", "interval_ms", type=click.IntRange(0, 3600000), default=0,
              help="Milliseconds between pictures.")
@click.option("--size", default="200x200", help="Picture size WIDTHxHEIGHT (the centre of the frame, resized).")
@click.option("--quality", type=click.IntRange(10, 100), default=90, help="JPEG quality.")
@click.option("--to-sd", is_flag=True, help="Have the board save the pictures on its card (captures/) for a later "
                                            "`maskgate pull` instead of streaming them.")
def capture(port, label, count, out, interval_ms, size, quality, to_sd):
    """Make the camera take pictures for a training set and save them as JPEG.

    Writes OUT/LABEL.class/00000.jpg, ..., OUT/labels.txt and OUT/provenance.json (board id,
    firmware, time, settings), which `maskgate data import OUT` reads. Each picture is checked
    by sha256 and written whole or not at all; Ctrl-C keeps what was received.

    \b
    Examples:
      maskgate capture --port /dev/ttyACM0 --label mask --count 200 --out data/captured --interval 500
      maskgate capture --port /dev/ttyACM0 --label no_mask --count 50 --to-sd
    """
    from maskgate.board.capture import capture as run_capture
    from maskgate.board.capture import parse_size
    from maskgate.board.link import find_port

    port = find_port(port)
    bar, advance = _bar(f"capturing {label}", count)
    with bar:
        result = run_capture(port, label, count, out, interval_ms=interval_ms, size=parse_size(size),
                             quality=quality, to_sd=to_sd, progress=advance,
                             log=lambda text: click.echo(text, err=True))
    where = "on the card (captures/)" if to_sd else str(out)
    click.echo(f"{len(result.saved)} picture(s) {where}, numbers {result.first:05d}.. "
               f"({result.fps:.1f} per second{', interrupted' if result.interrupted else ''})")
    if result.interrupted:
        sys.exit(130)


@click.command("pull", context_settings={"show_default": True})
@click.option("--port", help=PORT_HELP)
@click.option("--out", default="board-pull", type=click.Path(file_okay=False),
              help="Folder on the PC (the card's paths below it).")
def pull(port, out):
    """Copy the camera's SD log (CSV rows, saved crops), captures, config and model to the PC.

    Incremental: only new files and the new rows of growing CSV files move. Every file is
    checked against the board's sha256 and written whole; OUT/SHA256SUMS lists them.

    \b
    Example:
      maskgate pull --port /dev/ttyACM0 --out board-pull
      maskgate device-report board-pull --labels sessions.csv
    """
    from maskgate.board.link import find_port
    from maskgate.board.pull import pull as run_pull

    port = find_port(port)
    result = run_pull(port, out, log=lambda text: click.echo(text, err=True))
    click.echo(f"{len(result.new)} new, {len(result.grown)} grown, {len(result.unchanged)} unchanged file(s); "
               f"{result.bytes / 1024:.1f} KB over the link -> {out}")
    if result.interrupted:
        sys.exit(130)


@click.command("device-report", context_settings={"show_default": True})
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.option("--labels", "labels_csv", type=click.Path(dir_okay=False, exists=True),
              help="CSV session,label[,first_frame,last_frame]: what was really in front of the camera.")
@click.option("--model", type=click.Path(dir_okay=False, exists=True),
              help="Int8 .tflite for the PC side. Default: the model pulled with the log.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def device_report(folder, labels_csv, model, as_json):
    """On-device accuracy and board/PC agreement from a pulled SD log.

    Writes FOLDER/device-report.md and .json: accuracy per class and a confusion matrix for
    labelled sessions (--labels), and how often the PC's int8 model gives the board's label on
    the crops the board saved.
    """
    from maskgate.board.device_report import device_report as report, markdown

    result = report(folder, labels_csv, model)
    click.echo(json.dumps(result, indent=2) if as_json else markdown(result))


@click.command("bench", context_settings={"show_default": True})
@click.option("--port", help=PORT_HELP)
@click.option("--frames", type=click.IntRange(2, 100000), default=100,
              help="Live frames to time (two at least: the frame rate is measured between frames).")
@click.option("--images", type=click.Path(file_okay=False, exists=True),
              help="Labelled folder to stream to the board (INFER) for on-device accuracy and agreement.")
@click.option("--model", type=click.Path(dir_okay=False, exists=True),
              help="Int8 .tflite the board runs, for the agreement check (--images).")
@click.option("--detect", is_flag=True, help="With --images: detect the face first, as for a camera frame.")
@click.option("--limit", type=click.IntRange(min=1), help="With --images: at most this many pictures (classes interleaved).")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def bench(port, frames, images, model, detect, limit, as_json):
    """On-device frame rate and per-stage latency (p50, p95), or accuracy on a labelled folder.

    \b
    Examples:
      maskgate bench --port /dev/ttyACM0 --frames 200
      maskgate bench --port /dev/ttyACM0 --images data/holdout --model models/maskgate_int8.tflite
    """
    from maskgate.board import bench_board
    from maskgate.board.link import Link, find_port

    with Link(find_port(port)) as link:
        link.connect()
        if images:
            result = bench_board.bench_images(link, images, model=model, detect=detect, limit=limit)
        else:
            result = bench_board.bench_live(link, frames)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    elif images:
        ag = result["agreement"]
        agree = (f"agreement with the PC int8 model {ag['label_agreement']:.1%} (|dP| max {ag['prob_abs_diff']['max']})"
                 if "label_agreement" in ag else ag["skipped"])
        classes = ", ".join(f"{k} {v['accuracy']:.1%}" for k, v in result["per_class"].items())
        click.echo(f"{result['images']} images: on-device accuracy {result['accuracy']:.1%} ({classes}); {agree}; "
                   f"{result['images_per_s']} images/s, link {result['link_kB_per_s']} kB/s")
    else:
        stages = ", ".join(f"{k} {v['p50']}/{v['p95']}" for k, v in result["stage_ms"].items())
        click.echo(f"{result['frames']} frames at {result['fps']} fps; ms p50/p95: {stages}; "
                   f"frame {result['frame_ms']['p50']}/{result['frame_ms']['p95']}")


COMMANDS = [deploy, capture, pull, device_report, bench, simulate]
