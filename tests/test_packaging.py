"""The build maps the top-level training/ and export/ into the package; the package list is complete."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the check is the same on any version

ROOT = Path(__file__).resolve().parents[1]


def test_package_list_matches_the_folders() -> None:
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    mapped = setup["package-dir"]
    assert mapped == {"lesps_deploy.training": "training", "lesps_deploy.export": "export"}
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "lesps_deploy").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    for name, folder in mapped.items():
        assert (ROOT / folder / "__init__.py").is_file()
        on_disk |= {name} | {
            ".".join([name, *init.parent.relative_to(ROOT / folder).parts])
            for init in (ROOT / folder).rglob("__init__.py")
            if init.parent != ROOT / folder
        }
    assert set(setup["packages"]) == on_disk
    assert all(name.startswith("lesps_deploy") for name in setup["packages"])  # no bare training/export


def test_checkout_imports_the_top_level_folders() -> None:
    import lesps_deploy.export
    import lesps_deploy.training

    assert Path(lesps_deploy.training.__file__).parent.name == "training"
    assert Path(lesps_deploy.export.__file__).parent.name == "export"
