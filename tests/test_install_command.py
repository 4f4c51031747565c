"""The install command a missing extra suggests works where cogym came from."""

from __future__ import annotations

from pathlib import Path

import cogym.errors
from cogym.errors import MissingExtraError


def test_a_cogym_running_from_a_clone_is_told_to_install_the_extra_from_the_clone():
    root = Path(cogym.errors.__file__).resolve().parent.parent
    assert (root / "pyproject.toml").is_file()  # the tests run from a clone
    message = str(MissingExtraError("running trials on Ray", "ray", "ray"))
    assert f'pip install -e "{root}[ray]"' in message
    assert "'ray', which is not installed" in message


def test_a_cogym_installed_from_the_index_is_told_the_index_form(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "cogym"
    package.mkdir(parents=True)
    monkeypatch.setattr(cogym.errors, "__file__", str(package / "errors.py"))
    message = str(MissingExtraError("running trials on Ray", "ray", "ray"))
    assert message.endswith('Install it with: pip install "cogym[ray]"')
    assert "-e" not in message
