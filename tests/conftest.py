"""Session fixtures shared by the test folders."""
import pytest

from wheel_install import Installed, install_wheel


@pytest.fixture(scope='session')
def installed_wheel(tmp_path_factory) -> Installed:
    """mmprelu installed from its wheel outside the repository
    (tests/wheel_install.py), built once per session."""
    return install_wheel(tmp_path_factory.mktemp('wheel'))
