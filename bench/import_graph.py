"""Imports between the top-level parts of the package, and the largest modules.

    .venv/bin/python bench/import_graph.py            # the working tree
    .venv/bin/python bench/import_graph.py 1e7b57f    # any commit (read with git, nothing checked out)
    .venv/bin/python bench/import_graph.py --edges    # also list every import that crosses parts

Parts: `host` (host/maskgate without the CLI), `cli` (host/maskgate/cli, which wires every stage
to a command and may import both sides), `board` (tools/: maskgate.board, maskgate_tools before
the one namespace) and `firmware` (firmware/, MicroPython that also loads on the PC). Every
import statement counts once per module it imports, wherever it is in the file; "deferred" are
the ones inside a function (the lazy CLI), the rest run when the module is imported. Relative
imports are resolved, so `from .link import Link` in tools/ is board -> board.
"""
from __future__ import annotations

import argparse
import ast
import subprocess
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("host", "tools", "firmware")


def sources(rev: str | None) -> dict[str, str]:
    """path -> text of every .py file under host/, tools/ and firmware/."""
    if rev is None:
        return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
                for folder in FOLDERS for p in sorted((ROOT / folder).rglob("*.py"))}
    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", rev, *FOLDERS],
                           capture_output=True, text=True, check=True).stdout.split()
    return {n: subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{n}"], capture_output=True, text=True,
                              check=True).stdout for n in names if n.endswith(".py")}


def module_name(path: str) -> tuple[str, bool]:
    """(dotted module name, is a package __init__) of a file in the repository."""
    parts = list(Path(path).with_suffix("").parts)
    package = parts[-1] == "__init__"
    if package:
        parts = parts[:-1]
    if parts[0] == "host":
        parts = parts[1:]
    elif parts[0] == "tools":
        parts = ["maskgate", "board", *parts[1:]]
    elif parts[0] == "firmware":
        parts = ["maskgate", "firmware", *parts[1:]]
    return ".".join(parts), package


def part_of_file(path: str) -> str:
    if path.startswith("tools/"):
        return "board"
    if path.startswith("firmware/"):
        return "firmware"
    return "cli" if path.startswith("host/maskgate/cli/") else "host"


def part_of_module(name: str) -> str | None:
    if name.startswith("maskgate_tools") or name == "maskgate.board" or name.startswith("maskgate.board."):
        return "board"
    if name == "maskgate.firmware" or name.startswith("maskgate.firmware."):
        return "firmware"
    if name == "maskgate.cli" or name.startswith("maskgate.cli."):
        return "cli"
    if name == "maskgate" or name.startswith("maskgate."):
        return "host"
    return None


def imports(path: str, text: str, known: set[str]):
    """(imported module, deferred) for every import in a file, relative ones resolved;
    `from package import name` counts as package.name where that is a module in `known`."""
    name, package = module_name(path)
    here = name.split(".") if package else name.split(".")[:-1]
    tree = ast.parse(text)
    deferred_nodes = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                      for n in ast.walk(f) if n is not f}
    for node in ast.walk(tree):
        deferred = id(node) in deferred_nodes
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, deferred
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here[: len(here) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
            for target in sorted(targets):
                yield target, deferred


def graph(files: dict[str, str]) -> tuple[Counter, Counter, list]:
    edges, deferred, crossing = Counter(), Counter(), []
    known = {module_name(p)[0] for p in files}
    for path, text in files.items():
        a = part_of_file(path)
        for target, late in imports(path, text, known):
            b = part_of_module(target)
            if b is None or a == b:
                continue
            edges[(a, b)] += 1
            deferred[(a, b)] += late
            crossing.append((a, b, path, target, late))
    return edges, deferred, crossing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rev", nargs="?", help="a commit (default: the working tree)")
    ap.add_argument("--edges", action="store_true", help="list every import that crosses parts")
    ap.add_argument("--largest", type=int, default=10, help="how many of the largest modules to list")
    args = ap.parse_args()
    files = sources(args.rev)
    edges, deferred, crossing = graph(files)
    print(f"imports between parts ({args.rev or 'working tree'}; deferred = inside a function):")
    for (a, b), n in sorted(edges.items()):
        print(f"  {a:>8} -> {b:<8} {n:4d}  ({deferred[(a, b)]} deferred)")
    if args.edges:
        for a, b, path, target, late in sorted(crossing):
            print(f"    {a} -> {b}: {path} imports {target}{' (deferred)' if late else ''}")
    print(f"{args.largest} largest modules (lines):")
    sizes = sorted(((len(t.splitlines()), p) for p, t in files.items()), reverse=True)
    for n, p in sizes[: args.largest]:
        print(f"  {n:5d}  {p}")


if __name__ == "__main__":
    main()
