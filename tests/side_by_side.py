"""side_by_side.py: what the two side-by-side benchmark scripts (bench-attacks-side-by-side.py,
bench-steps-side-by-side.py) share: where they live and how they run a command that prints JSON."""
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
LQ_DEFAULT = os.path.join(HERE, "..", "build", "src", "lq")


def run_json(cmd, env):
    """Runs cmd with env, fails on a non-zero exit, and returns its standard output parsed."""
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE).stdout
    return json.loads(out)
