"""Atomic writes: whole files or none, with the permissions of any other new file."""
import os

import pytest

from transfer_scaling import fileio


def test_atomic_write_gets_the_usual_permissions_not_owner_only(tmp_path):
  path = tmp_path / "results.json"
  fileio.write_json_atomic(str(path), {"loss": 1.5})
  umask = os.umask(0o022)
  os.umask(umask)
  assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
  path = tmp_path / "results.json"
  fileio.write_json_atomic(str(path), {"loss": 1.5})
  with pytest.raises(TypeError):  # fails while writing the temporary file
    fileio.write_bytes_atomic(str(path), "text, not bytes")
  assert path.read_text() == '{\n  "loss": 1.5\n}\n'
  assert os.listdir(tmp_path) == ["results.json"]
