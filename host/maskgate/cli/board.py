"""CLI commands: the camera and its virtual twin (simulate)."""
import sys

import click


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
@click.option("--fps", type=float, default=10.0,
              help="Camera frame rate: the virtual clock's step, or the real-time pace with --pty/--realtime.")
@click.option("--realtime/--virtual-clock", default=None,
              help="Host wall clock (paced at --fps) or a virtual clock (instant, deterministic). "
                   "Default: real time with --pty, virtual otherwise.")
@click.option("--loop/--no-loop", default=None, help="Repeat the frames (default: with --pty).")
@click.option("--max-frames", type=int, help="Stop after this many frames.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override config.json, e.g. --set door.k=2 --set door.hold_s=1 --set face_detection=false.")
@click.option("--card", type=click.Path(file_okay=False),
              help="Folder to use as the SD card (kept afterwards: log, crops, config). Default: a temporary one.")
@click.option("--api", type=click.Choice(["ml", "tf"]), default="ml",
              help="Firmware inference API to emulate: ml (>= 4.5.6) or tf (older).")
@click.option("--echo/--quiet", default=True, help="Copy the firmware's print() output to stderr.")
def simulate(frames, model, pty, json_lines, fps, realtime, loop, max_frames, settings, card, api, echo):
    """Run the unmodified firmware on a virtual OpenMV Cam H7.

    The frames go through the camera's RGB565 path, the firmware detects faces, runs the
    int8 model and drives a virtual door relay, LEDs and SD card log.

    \b
    Examples:
      maskgate simulate --frames ../shared/datasets/face-mask-12k/Test/WithMask --json
      maskgate simulate --frames clip.mp4 --model runs/a/maskgate_int8.tflite --set door.k=5
      maskgate simulate --frames faces/ --pty      # then point the board tools at /dev/pts/N
    """
    from maskgate_tools.virtualboard.simulate import parse_overrides
    from maskgate_tools.virtualboard.simulate import simulate as run_simulation

    summary = run_simulation(frames, model, pty=pty, json_lines=json_lines, fps=fps, realtime=realtime,
                             loop=loop, card=card, api=api, max_frames=max_frames,
                             overrides=parse_overrides(settings),
                             echo=(lambda text: sys.stderr.write(text)) if echo else None)
    if summary["crash"]:
        click.secho("the firmware crashed:\n" + summary["crash"], fg="red", err=True)
        sys.exit(1)
    if not json_lines:
        labels = ", ".join(f"{k} {v}" for k, v in summary["labels"].items())
        click.echo(f"{summary['frames']} frames ({labels}); door opened {summary['door_openings']} time(s)")
        if summary["error"]:
            click.secho(summary["error"], fg="red")
        if summary["card"]:
            click.echo(f"card: {summary['card']}")


COMMANDS = [simulate]
