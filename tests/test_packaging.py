"""The built wheel installs the layers as real subpackages of fastapi_taskflow, nothing else."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "fastapi_taskflow"
LAYERS = ("domain", "ports", "application", "adapters", "entrypoints")
# Non-Python files the dashboard needs at run time; they must travel in the wheel.
PACKAGE_DATA_DIRS = ("entrypoints/fastapi/templates", "entrypoints/fastapi/static")

# Top-level entries of a working tree that never belong in a build (hidden ones aside).
_NOT_SOURCES = {"build", "dist", "site", "node_modules", "__pycache__"}


def _is_build_input(path: Path) -> bool:
    name = path.name
    if name.startswith(".") or name in _NOT_SOURCES or name.endswith(".egg-info"):
        return False
    # Any virtualenv, whatever it is called.
    return not (path.is_dir() and (path / "pyvenv.cfg").exists())


def _copy_sources(destination: Path) -> None:
    """Copy the working tree, keeping the layer symlinks as symlinks.

    Building from a copy keeps ``build/`` and ``*.egg-info`` out of the working tree and lets
    this test run while other builds (tox, an editable install) use the same checkout.
    """
    destination.mkdir()
    for entry in REPO_ROOT.iterdir():
        if not _is_build_input(entry):
            continue
        target = destination / entry.name
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(
                entry, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(entry, target, follow_symlinks=False)


def _run(*command: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        f"command failed ({result.returncode}): {' '.join(map(str, command))}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    return result.stdout


def _source_files(relative_dir: str, pattern: str) -> Iterator[str]:
    """Paths, relative to the layer root, of source files the wheel must contain."""
    root = REPO_ROOT / relative_dir
    if not root.is_dir():
        return
    for path in sorted(root.rglob(pattern)):
        if path.is_file() and "__pycache__" not in path.parts:
            yield f"{PACKAGE}/{relative_dir}/{path.relative_to(root).as_posix()}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel-build")
    sources = work / "src"
    _copy_sources(sources)
    out = work / "dist"
    _run(sys.executable, "-m", "build", "--wheel", "--outdir", out, sources)
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_entries(wheel: Path) -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(wheel) as archive:
        return {info.filename: info for info in archive.infolist() if not info.is_dir()}


def test_wheel_installs_only_the_fastapi_taskflow_package(
    wheel_entries: dict[str, zipfile.ZipInfo],
) -> None:
    strays = [
        name
        for name in wheel_entries
        if not name.startswith(f"{PACKAGE}/")
        and not (name.startswith(f"{PACKAGE}-") and name.split("/")[0].endswith(".dist-info"))
    ]
    assert not strays, "outside fastapi_taskflow/:\n" + "\n".join(strays)


def test_wheel_carries_the_facade_marker_and_every_layer_module(
    wheel_entries: dict[str, zipfile.ZipInfo],
) -> None:
    required = {
        f"{PACKAGE}/__init__.py",
        f"{PACKAGE}/py.typed",
        f"{PACKAGE}/domain/task.py",
        *(f"{PACKAGE}/{layer}/__init__.py" for layer in LAYERS),
    }
    for layer in LAYERS:
        required.update(_source_files(layer, "*.py"))
    for data_dir in PACKAGE_DATA_DIRS:
        required.update(_source_files(data_dir, "*"))

    missing = sorted(required - wheel_entries.keys())
    assert not missing, "missing from the wheel:\n" + "\n".join(missing)


def test_wheel_stores_real_files_not_symlinks(wheel_entries: dict[str, zipfile.ZipInfo]) -> None:
    links = [
        name for name, info in wheel_entries.items() if stat.S_ISLNK(info.external_attr >> 16)
    ]
    assert links == []
    assert wheel_entries[f"{PACKAGE}/domain/task.py"].file_size > 0


def test_installed_wheel_imports_from_its_own_files(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel)

    # The wheel was installed without its dependencies (no network needed). Let the new venv
    # fall back to this environment's packages for them: a .pth line appends the paths *after*
    # the venv's own site-packages, so fastapi_taskflow itself still comes from the wheel.
    site_packages = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    outer_paths = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site_packages / "zz_outer_environment.pth").write_text("\n".join(outer_paths) + "\n")

    for layer in LAYERS:
        assert not (site_packages / layer).exists(), f"top-level {layer!r} was installed"

    outside_the_repo = tmp_path / "elsewhere"
    outside_the_repo.mkdir()
    imported_from = _run(
        python,
        "-I",  # ignore PYTHONPATH and friends, so the checkout cannot leak in
        "-c",
        "import fastapi_taskflow.domain.task as m, fastapi_taskflow.ports.storage as s; "
        "print(m.__file__); print(s.__file__)",
        cwd=outside_the_repo,
    ).split()

    assert [Path(path) for path in imported_from] == [
        site_packages / PACKAGE / "domain" / "task.py",
        site_packages / PACKAGE / "ports" / "storage.py",
    ]
    assert not any(Path(path).is_symlink() for path in imported_from)
