"""How many bad-input cases tests/test_bad_inputs_host.py runs, per issue-17 class and per exit
code (from the case ids `c<class>-x<code>-...`, collected by pytest, nothing run).

    .venv/bin/python bench/bad_inputs_count.py
"""
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                      str(ROOT / "tests" / "test_bad_inputs_host.py")], capture_output=True, text=True, cwd=ROOT).stdout
ids = re.findall(r"\[c(\d)-x(\d+)-([^\]]+)\]", out)
by_class, by_code = Counter(k for k, _, _ in ids), Counter(int(c) for _, c, _ in ids)
print(f"{len(ids)} bad-input cases (tests/test_bad_inputs_host.py; hypothesis tests not counted)")
for k in sorted(by_class):
    print(f"  class {k}: {by_class[k]}")
for c in sorted(by_code):
    print(f"  exit {c}: {by_code[c]}")
