"""TensorFlow's start-up logging, silenced for the command line unless asked for."""

import os
import sys


def quiet_tensorflow(argv):
    """Hides TensorFlow's C++ start-up logging (`failed call to cuInit`, oneDNN and CPU-feature notices) unless
    the user set `TF_CPP_MIN_LOG_LEVEL` or asked for `--verbose=2` or more. Errors still arrive as Python
    exceptions (one `tfssl: error:` line); launched workers inherit the setting.

    `TF_CPP_MIN_LOG_LEVEL` silences what TensorFlow logs once running, but not the notices its shared libraries
    print while loading (before logging is set up), so TensorFlow and tensorflow-text are imported here with
    the process's stderr pointed at /dev/null, and stderr restored before anything else runs."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    levels = [a.split("=", 1)[1] for a in argv if a.startswith("--verbose=")]
    if any(level.isdigit() and int(level) >= 2 for level in levels):
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if argv[:1] in (["launch"], ["config"]) or not argv or "-h" in argv or "--help" in argv:
        return  # these never load TensorFlow in this process
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
        import tensorflow_text  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
