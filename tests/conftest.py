"""Shared fixtures of the test suite, and its markers: each test gets the marker of its folder (``unit``,
``kernel``, ``browser``, ``contract``, ``codebase``, ``adapters``, ``distributed``) unless it names one itself;
``pytest -m unit`` runs the quick ones."""
from pathlib import Path

import pytest
from kernel_session import KernelSession

LAYERS = ("unit", "kernel", "browser", "contract", "codebase", "adapters", "distributed")
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if any(item.get_closest_marker(name) for name in LAYERS):
            continue
        folder = Path(item.path).resolve().relative_to(HERE).parts[0] if HERE in Path(item.path).resolve().parents \
            else "unit"  # the package's doctests
        item.add_marker(folder if folder in LAYERS else "unit")


@pytest.fixture
def no_display():
    """Views made in the test display nothing: livetrain's transport ``none``, then the default again."""
    import livetrain

    livetrain.set_transport("none")
    yield
    livetrain.set_transport(None)


@pytest.fixture(scope="module")
def kernel():
    """One real python3 ipykernel per test module (BOKEH_RESOURCES=inline)."""
    ks = KernelSession()
    yield ks
    ks.close()


@pytest.fixture(scope="session", autouse=True)
def jupyter_servers():
    """The real-browser tests share one Jupyter server per app (see browser_harness); stop them at the end."""
    yield
    from browser_harness import stop_servers

    stop_servers()
