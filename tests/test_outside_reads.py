"""The guard in `tests/outside_reads.py` really fails a test that reads beside the repository unmarked, whether it
opens the file, lists the folder or hands the path to a subprocess, and lets marked tests and temporary files be."""

import os
import subprocess
import sys

REPOSITORY = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))

TESTS = '''
import glob, os, subprocess, sys
import pytest

DATA = os.environ["TFSSL_BENCHMARK_DATA"]

def test_opens_unmarked():
    open(os.path.join(DATA, "sts.csv")).read()

def test_lists_unmarked():
    os.listdir(DATA)

def test_subprocess_argument_unmarked():
    subprocess.run([sys.executable, "-c", "pass", f"--corpus={DATA}/sts.csv"], check=True)

def test_subprocess_environment_unmarked():
    subprocess.run([sys.executable, "-c", "pass"], env=dict(os.environ, TFSSL_STS_DIR=DATA), check=True)

@pytest.mark.benchmark_data
def test_opens_marked():
    assert open(os.path.join(DATA, "sts.csv")).read() == "x"

def test_inheriting_the_data_variable_is_fine():
    subprocess.run([sys.executable, "-c", "pass"], check=True)

def test_temporary_files_are_fine(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    assert open(tmp_path / "a.txt").read() == "a"
'''


def test_guard_fails_unmarked_reads_beside_the_repository(tmp_path):
    data = tmp_path / "benchmark-data"
    data.mkdir()
    (data / "sts.csv").write_text("x")
    (tmp_path / "test_reads.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = dict(os.environ, TFSSL_BENCHMARK_DATA=str(data), PYTHONPATH=REPOSITORY)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "tests.outside_reads", "-p",
                           "no:cacheprovider", "-c", str(tmp_path / "pytest.ini"), str(tmp_path / "test_reads.py")],
                          capture_output=True, text=True, cwd=REPOSITORY, env=env, timeout=300)
    out = done.stdout
    assert "4 failed, 3 passed" in out, out[-3000:]
    failed = sorted(line.split("::")[1].split(" ")[0] for line in out.splitlines() if line.startswith("FAILED"))
    assert failed == ["test_lists_unmarked", "test_opens_unmarked", "test_subprocess_argument_unmarked",
                      "test_subprocess_environment_unmarked"], out[-3000:]
    assert "reads outside the repository" in out and "tests/excerpts/" in out
