"""The ``Examples`` sections of the public API's docstrings run, and show what the code prints.

Each module below is run through :mod:`doctest` (ELLIPSIS for hashes and long messages,
NORMALIZE_WHITESPACE for wrapped output); a failing example fails its module's test with
doctest's own report. The examples round their figures (or print them with a format) so
that they hold on any CPU: the last digits of float32 filters may differ between builds.
"""

from __future__ import annotations

import doctest
import importlib
import io

import numpy as np
import pytest

#: Public functions that must show an example, and the module that defines them.
DOCUMENTED = {
    "load_image": "io", "measure": "measure", "compare": "compare", "compare_series": "compare",
    "delta_e00": "color", "glcm_features": "glcm", "register": "align",
}
#: Modules whose docstrings hold examples (every docstring in them with ``>>>`` is run). By
#: import path: ``texturecmp.measure`` and ``texturecmp.compare`` are also function names.
MODULES = tuple(importlib.import_module(f"texturecmp.{m}") for m in dict.fromkeys(DOCUMENTED.values()))

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
#: numpy's default print options: the examples show arrays as a user's fresh session prints
#: them, whatever another test or library in the same worker set (a legacy="1.13" mode pads
#: a space for the sign, which failed the examples under pytest-xdist)
NUMPY_DEFAULTS = dict(precision=8, threshold=1000, edgeitems=3, linewidth=75, suppress=False, nanstr="nan",
                      infstr="inf", sign="-", floatmode="maxprec", legacy=False)


def run_doctests(module) -> tuple[int, int, str]:
    """(examples attempted, failed, doctest's report) for every docstring of ``module``."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report = io.StringIO()
    with np.printoptions(**NUMPY_DEFAULTS):
        for test in finder.find(module, module.__name__, globs={}):
            runner.run(test, out=report.write)
    return runner.tries, runner.failures, report.getvalue()


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_examples_pass(module):
    tries, failures, report = run_doctests(module)
    assert tries > 0, f"{module.__name__} has no examples"
    assert failures == 0, report


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_public_function_has_an_examples_section(name):
    func = getattr(importlib.import_module(f"texturecmp.{DOCUMENTED[name]}"), name)
    doc = func.__doc__ or ""
    assert "\n    Examples\n    --------\n" in doc, f"{name}'s docstring has no numpydoc Examples section"
    (test,) = doctest.DocTestFinder().find(func, name, globs={})
    assert len(test.examples) >= 3, f"{name}'s Examples section shows too little"


def test_a_wrong_output_fails():
    """The runner used above reports a wrong expected output (so the tests above can fail)."""
    def sample():
        """
        >>> 1 + 1
        3
        """
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report = io.StringIO()
    for test in doctest.DocTestFinder().find(sample, "sample", globs={}):
        runner.run(test, out=report.write)
    assert runner.failures == 1 and "Expected:\n    3\nGot:\n    2" in report.getvalue()
