"""The tiers' own rules (tests/conftest.py): a run whose `-m` expression selects no browser test
never imports Playwright, and leaves unimported the test modules it would deselect whole; a run
that may select one loads pytest-playwright as its entry point would have."""

import sys

import pytest

from tests.conftest import may_select, module_markers

UNIT = "not functional and not db and not browser and not s3strict and not package"


def test_playwright_is_imported_only_by_runs_that_may_select_browser_tests(request):
    """This very run: `make check`'s unit tier (or any run excluding browser tests) has imported
    no Playwright, not even to collect; a run that may select one has pytest-playwright loaded."""
    config = request.config
    loaded = [name for name in sys.modules if name.split(".")[0] == "playwright"]
    if may_select(config.option.markexpr or "", frozenset({"browser"})):
        assert config.pluginmanager.has_plugin("playwright")
    else:
        assert loaded == [], "a non-browser run imported Playwright"
        assert not config.pluginmanager.has_plugin("playwright")


@pytest.mark.parametrize(
    ("markexpr", "markers", "selects"),
    [
        ("", {"browser"}, True),
        (UNIT, {"browser"}, False),
        (UNIT, {"functional", "django_db"}, False),
        (UNIT, {"django_db"}, True),
        ("functional and not browser", {"functional"}, True),
        ("functional and not browser", {"browser"}, False),
        ("db", {"browser"}, True),  # a browser test may be marked db too
        ("not db and not browser", {"functional"}, True),
        ("(unparsable", {"browser"}, True),  # unreadable: assume it may
    ],
)
def test_an_expression_selects_tests_with_markers_when_some_other_markers_let_it(
    markexpr, markers, selects
):
    assert may_select(markexpr, frozenset(markers)) is selects


def test_the_markers_a_module_puts_on_all_its_tests(tmp_path):
    cases = {
        "pytestmark = pytest.mark.functional\n": {"functional"},
        "pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]\n": {
            "browser",
            "django_db",
        },
        "import pytest\n\ndef test_x():\n    pass\n": set(),
        # Another shape (here: chosen at import time) is not read: the module is collected.
        "pytestmark = [] if X else [pytest.mark.browser]\n": set(),
    }
    for number, (source, markers) in enumerate(cases.items()):
        path = tmp_path / f"test_{number}.py"
        path.write_text(source)
        assert module_markers(path) == markers, source
