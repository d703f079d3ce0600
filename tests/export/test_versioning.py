import errno
import os

import pytest

from tfssl.export.versioning import atomic_version_dir, existing_versions, latest_version_dir


def test_versions_increase_and_never_overwrite(tmp_path):
    for expected in (1, 2, 3):
        with atomic_version_dir(str(tmp_path)) as target:
            open(os.path.join(target.path, "saved_model.pb"), "w").write(str(expected))
        assert target.final == os.path.join(str(tmp_path), str(expected))
    assert existing_versions(str(tmp_path)) == [1, 2, 3]
    assert open(os.path.join(tmp_path, "1", "saved_model.pb")).read() == "1"
    assert latest_version_dir(str(tmp_path)).endswith("3")


def test_failed_export_leaves_no_version_and_no_temp_dir(tmp_path):
    with atomic_version_dir(str(tmp_path)) as target:
        open(os.path.join(target.path, "saved_model.pb"), "w").write("ok")
    with pytest.raises(OSError, match="No space left.*Existing versions are intact"):
        with atomic_version_dir(str(tmp_path)) as target:
            open(os.path.join(target.path, "partial"), "w").write("half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert sorted(os.listdir(tmp_path)) == ["1"]


def test_missing_model_dir_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="saved_models/<name>/<version>"):
        latest_version_dir(str(tmp_path))
