"""`saved_models/<name>/<version>/` layout for TF Serving: integer versions, written atomically.

An export is written to a hidden temporary directory beside the versions and renamed into
place when complete, so TF Serving (which only loads integer-named directories) never sees
a half-written model, and an existing version is never overwritten.
"""

import contextlib
import errno
import os
import shutil
import tempfile


def existing_versions(model_dir: str):
    """Sorted integer versions present under `model_dir`."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(d) for d in os.listdir(model_dir) if d.isdigit() and os.path.isdir(os.path.join(model_dir, d)))


def latest_version_dir(path: str) -> str:
    """`path` itself if it is a SavedModel, else its highest integer version directory."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = existing_versions(path)
    if not versions:
        raise FileNotFoundError(
            f"No SavedModel at {path}: expected saved_model.pb or integer version directories "
            "(saved_models/<name>/<version>/). Export one with `tfssl pretrain mlm` or `tfssl export`."
        )
    return os.path.join(path, str(versions[-1]))


@contextlib.contextmanager
def atomic_version_dir(model_dir: str):
    """Yields a temporary directory to write into; on success renames it to the next version.

    The final path is available as the context value's `.final` after the block exits.
    A failure (including a full disk) removes the temporary directory and leaves every
    existing version untouched.
    """
    os.makedirs(model_dir, exist_ok=True)
    target = _Target(tempfile.mkdtemp(prefix=".tmp-export-", dir=model_dir))
    try:
        yield target
        versions = existing_versions(model_dir)
        final = os.path.join(model_dir, str((versions[-1] if versions else 0) + 1))
        os.rename(target.path, final)
        target.final = final
    except OSError as e:
        shutil.rmtree(target.path, ignore_errors=True)
        if e.errno == errno.ENOSPC:
            raise OSError(e.errno, f"No space left while exporting to {model_dir}; free disk space and export again. "
                          "Existing versions are intact.") from e
        raise
    except BaseException:
        shutil.rmtree(target.path, ignore_errors=True)
        raise


class _Target:
    def __init__(self, path):
        self.path = path
        self.final = None
