"""The benches' peak memory is the measured process's own, not its parent's."""

import json
import subprocess
import sys

import numpy as np

from heygem.testing.memory import peak_rss_mb

CHILD = "import json; from heygem.testing.memory import peak_rss_mb; print(json.dumps(peak_rss_mb()))"


def test_a_child_does_not_inherit_its_parents_peak():
    held = np.ones(300 * 2**20, np.uint8)  # 300 MB touched in this process
    parent = peak_rss_mb()
    assert parent > 300
    child = json.loads(subprocess.run([sys.executable, "-c", CHILD], capture_output=True, check=True).stdout)
    # Relative to this process, not a fixed figure (an interpreter's own size depends on its
    # build and BLAS): the child lacks the 300 MB held here (ru_maxrss said it had them).
    assert child < parent - 250
    del held


def test_it_sees_what_the_process_itself_touched():
    code = CHILD.replace("print(", "import numpy as np; x = np.ones(400 * 2**20, np.uint8); print(")
    child = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout)
    assert child > 400
