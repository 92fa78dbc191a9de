"""Importing bxrd changes no global state: no matplotlib backend, no Pyro settings."""

import subprocess
import sys


def test_imports_leave_matplotlib_and_pyro_alone():
    code = (
        "import matplotlib, pyro\n"
        "before = matplotlib.rcParams._get_backend_or_none()\n"
        "local = pyro.settings.get('module_local_params')\n"
        "import bxrd.uq.figures, bxrd.explain.figures, bxrd.uq.vi, bxrd.callbacks.calibration\n"
        "assert matplotlib.rcParams._get_backend_or_none() == before, 'backend set at import'\n"
        "assert pyro.settings.get('module_local_params') == local, 'pyro setting at import'\n"
        "from bxrd.uq.figures import entropy_figure\n"
        "import torch\n"
        "fig = entropy_figure(torch.rand(10, 3).softmax(-1), torch.randint(0, 3, (10,)))\n"
        "import matplotlib.pyplot as plt\n"
        "assert not plt.get_fignums(), 'figure registered with pyplot'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]
