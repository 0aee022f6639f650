"""Imports run one way: the board side (maskgate.board) may use the host package, the host's
stages (data, training, export, evaluation) never need the board side; only the CLI, which
wires every stage to a command, imports both."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = ROOT / "host" / "maskgate"


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_host_stages_never_import_the_board_side():
    offenders = []
    for path in sorted(HOST.rglob("*.py")):
        if path.relative_to(HOST).parts[0] == "cli":
            continue
        for name in imported_modules(path):
            if name == "maskgate.board" or name.startswith("maskgate.board."):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders, offenders

