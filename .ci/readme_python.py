#!/usr/bin/env python3
"""Writes each ```python block of README.md to DIR/readme_block_N.py (for mypy --strict).

Exits 1 if the README has no Python block (the check would pass vacuously).
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
out = pathlib.Path(sys.argv[1])
blocks = re.findall(r"```python\n(.*?)```", (root / "README.md").read_text(), re.S)
if not blocks:
    sys.exit("README.md has no ```python block")
for i, code in enumerate(blocks, 1):
    (out / f"readme_block_{i}.py").write_text(code)
print(f"{len(blocks)} Python blocks of README.md in {out}")
