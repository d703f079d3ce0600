"""A pytest plugin that fails every test reading files beside the repository unless it is marked `benchmark_data`.

A fresh clone has nothing beside it, so a test that reads there passes in CI (whose clone has the benchmark data
folder next to it) and fails for every user. This guard makes such a test fail everywhere instead. It watches,
through Python's audit hooks, the test process's own file opens and directory listings, and the paths handed to
subprocesses (`tfssl` CLI runs, notebook kernels): in arguments and in `TFSSL_*` environment variables.

"Beside the repository" is every entry of the repository's parent folder other than the repository itself, plus
the folder `TFSSL_BENCHMARK_DATA` names. System folders, the Python installation and temporary folders are never
counted, so a clone in `/tmp` or `/` does not flag pytest's own temporary files.
"""

import os
import sys
import tempfile

import pytest

REPOSITORY = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))


def _allowed_roots():
    """Folders whose contents are never "beside the repository", even when they are its siblings."""
    roots = {REPOSITORY, os.path.realpath(tempfile.gettempdir()), os.path.realpath(sys.prefix),
             os.path.realpath(sys.base_prefix), os.path.realpath(os.path.expanduser("~"))}
    return {r for r in roots if r != os.sep}


def _outside_roots():
    """Realpaths that tests may read only when marked `benchmark_data`."""
    parent = os.path.dirname(REPOSITORY)
    roots = set()
    if parent != os.sep:  # a clone at the top of the file system: siblings are the system, guard data only
        allowed = _allowed_roots()
        for name in os.listdir(parent):
            sibling = os.path.realpath(os.path.join(parent, name))
            if not any(a == sibling or a.startswith(sibling + os.sep) or sibling.startswith(a + os.sep)
                       for a in allowed):
                roots.add(sibling)
    data = os.environ.get("TFSSL_BENCHMARK_DATA")
    if data:
        roots.add(os.path.realpath(data))
    return roots


class OutsideReads:
    """Records reads beside the repository made while a test that may not make them runs."""

    def __init__(self):
        self.roots = _outside_roots()
        self.watching = False
        self.seen = []

    def is_outside(self, path, cwd=None):
        if not isinstance(path, (str, bytes, os.PathLike)):
            return False
        try:
            path = os.fsdecode(path)
            if not path or "\n" in path:
                return False
            full = os.path.realpath(os.path.join(cwd or os.getcwd(), path))
        except (TypeError, ValueError, OSError):
            return False
        return any(full == root or full.startswith(root + os.sep) for root in self.roots)

    def paths_in(self, value):
        """The path-like parts of one command-line argument or environment value: `x`, or `y` of `--k=y`."""
        if not isinstance(value, (str, bytes, os.PathLike)):
            return []
        value = os.fsdecode(value)
        parts = [value] + ([value.split("=", 1)[1]] if "=" in value else [])
        return [p for p in parts if p.startswith((os.sep, "."))]

    def audit(self, event, args):
        if not self.watching:
            return
        if event in ("open", "os.listdir", "os.scandir", "glob.glob"):
            if args and self.is_outside(args[0]):
                self.seen.append(f"{event}({os.fsdecode(args[0])!r})")
        elif event == "subprocess.Popen":
            _, argv, cwd, env = args
            argv = [argv] if isinstance(argv, (str, bytes)) else list(argv or [])
            env = env if env is not None else os.environ
            # TFSSL_BENCHMARK_DATA itself is inherited by every subprocess: it says where data is, it reads nothing.
            values = argv + [v for k, v in env.items() if str(k).startswith("TFSSL_") and k != "TFSSL_BENCHMARK_DATA"]
            for value in values:
                if any(self.is_outside(p, cwd) for p in self.paths_in(value)):
                    self.seen.append(f"subprocess argument or environment value {value!r}")


_guard = OutsideReads()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "benchmark_data: reads the full benchmark folder (TFSSL_BENCHMARK_DATA); skips without it")
    sys.addaudithook(_guard.audit)


def _watch_phase(item):
    """Runs one phase (setup or call) of `item`, then fails it if it read beside the repository unmarked."""
    _guard.watching = item.get_closest_marker("benchmark_data") is None
    _guard.seen = []
    try:
        result = yield
    finally:
        _guard.watching = False
    if _guard.seen:
        shown = "; ".join(sorted(set(_guard.seen))[:5])
        pytest.fail(f"{item.nodeid} reads outside the repository ({shown}). A fresh clone has nothing there: "
                    "commit a small excerpt under tests/excerpts/, or mark the test with "
                    "tests.data_locations.needs_benchmark_data(...)", pytrace=False)
    return result


pytest_runtest_setup = pytest.hookimpl(wrapper=True)(_watch_phase)
pytest_runtest_call = pytest.hookimpl(wrapper=True)(_watch_phase)
