"""Every shell script the repository tracks passes shellcheck with no finding at all
(style included). A script is one named *.sh or one whose first line is a sh/bash
shebang (deploy/dev/stack, .ci/run, deploy/dev/bench.sh…). .ci/run installs shellcheck;
without it (a machine set up by hand) the test is skipped."""
import re
import shutil
import subprocess

import pytest

from agentlive_fixtures import ROOT

SHEBANG = re.compile(rb"^#!\s*/(?:usr/)?bin/(?:env\s+)?(?:ba|da)?sh\b")


def shell_scripts() -> list:
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True,
                             timeout=30).stdout.decode().split("\0")
    scripts = []
    for name in filter(None, tracked):
        path = ROOT / name
        if not path.is_file() or path.is_symlink():
            continue
        with open(path, "rb") as f:
            first = f.readline(200)
        if name.endswith(".sh") or SHEBANG.match(first):
            scripts.append(name)
    return sorted(scripts)


def test_shell_scripts_are_shellcheck_clean():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (.ci/run installs it)")
    scripts = shell_scripts()
    assert "deploy/dev/stack" in scripts and ".ci/run" in scripts, scripts
    p = subprocess.run(["shellcheck", "--format=gcc", *scripts], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0 and not p.stdout.strip(), f"shellcheck on {len(scripts)} scripts:\n{p.stdout}{p.stderr}"
