"""The API docstrings' examples run as written (numpydoc ``Examples``), on the bundled sample data in a fresh project."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["kaggletk._api", "kaggletk._registry", "kaggletk.cv._pseudo"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, project):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (doctest output above)"
