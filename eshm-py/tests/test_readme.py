"""The Python code in the README runs (in a segment directory of its own) and prints what its
comments say: each line that prints ends with `# -> ` and the line it prints."""

import os
import re
import subprocess
import sys

from conftest import ROOT

PRINTS = re.compile(r"#\s*->\s(.*)$")


def test_readme_python_blocks_print_what_they_say(isolated):
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks, "the README has Python examples"
    env = dict(os.environ, ESHM_SHM_DIR=str(isolated))
    claims = 0
    for code in blocks:
        said = [m[1].rstrip() for m in map(PRINTS.search, code.splitlines()) if m]
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
        assert run.returncode == 0, f"README block failed:\n{code}\n{run.stderr}"
        assert run.stdout.splitlines() == said, f"README block:\n{code}\nprinted:\n{run.stdout}"
        claims += len(said)
    assert claims >= 6, "the README's claims are there"
    # Topics outlive their publishers (as in SHM); once those processes are gone, `clean`
    # removes everything they left.
    subprocess.run([sys.executable, "-c", "import eshm; eshm.clean()"], env=env, check=True, timeout=60)
    assert os.listdir(isolated) == [], "everything the README's examples leave is reclaimable"
