"""The Python code in the README runs (in a segment directory of its own)."""

import os
import re
import subprocess
import sys

from conftest import ROOT


def test_readme_python_blocks_run(tmp_path):
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks, "the README has Python examples"
    for code in blocks:
        env = dict(os.environ, ESHM_SHM_DIR=str(tmp_path))
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
        assert run.returncode == 0, f"README block failed:\n{code}\n{run.stderr}"
    # Topics outlive their publishers (as in SHM); once those processes are gone, `clean`
    # removes everything they left.
    env = dict(os.environ, ESHM_SHM_DIR=str(tmp_path))
    subprocess.run([sys.executable, "-c", "import eshm; eshm.clean()"], env=env, check=True, timeout=60)
    assert os.listdir(tmp_path) == [], "everything the README's examples leave is reclaimable"
