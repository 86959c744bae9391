"""Competitions are folders: listed, loaded, and refused with the known names when unknown."""

from __future__ import annotations

import pytest

from kaggletk.competition import list_competitions, load_competition
from kaggletk.errors import KaggletkError
from tests.conftest import run_cli


def test_both_competitions_are_listed(project):
    assert list_competitions() == ["fashion_mnist", "sign_mnist"]
    status, out, _ = run_cli("competitions")
    assert status == 0
    assert "fashion_mnist" in out and "sign_mnist" in out


def test_sign_mnist_maps_labels_without_j(project):
    comp = load_competition("sign_mnist")
    assert comp.n_classes == 24 and 9 not in comp.labels
    assert comp.class_names[comp.labels.index(24)] == "Y"
    assert list(comp.to_index([0, 8, 10, 24])) == [0, 8, 9, 23]
    assert list(comp.to_label([0, 8, 9, 23])) == [0, 8, 10, 24]


@pytest.mark.parametrize("name", ["nope", "../fashion_mnist", "fashion_mnist/..", "/etc", "..", "a/b"])
def test_unknown_or_unsafe_names_are_refused_with_the_known_names(project, name):
    with pytest.raises(KaggletkError, match="known: fashion_mnist, sign_mnist"):
        load_competition(name)
    status, _, err = run_cli("fetch", name)
    assert status == 2
    assert err.count("\n") == 1 and "known: fashion_mnist, sign_mnist" in err


def test_a_broken_competition_file_names_the_file(project):
    broken = project / "competitions" / "broken"
    broken.mkdir()
    (broken / "competition.py").write_text("from kaggletk.competition import Competition\nCOMPETITION = Competition(name='broken'\n")
    with pytest.raises(KaggletkError, match=r"broken/competition.py: line 2: cannot be loaded \(SyntaxError"):
        load_competition("broken")
    (broken / "competition.py").write_text("X = 1\n")
    with pytest.raises(KaggletkError, match="must define COMPETITION"):
        load_competition("broken")
    (broken / "competition.py").write_text(
        "from kaggletk.competition import Competition\n"
        "COMPETITION = Competition(name='broken', title='b', labels=(0, 1), class_names=('a',))\n")
    with pytest.raises(KaggletkError, match="class_names has 1 entries for 2 labels"):
        load_competition("broken")


def test_adding_a_competition_is_one_folder(project):
    new = project / "competitions" / "digits"
    new.mkdir()
    (new / "competition.py").write_text(
        "from kaggletk.competition import Competition\n"
        "COMPETITION = Competition(name='digits', title='Digits', labels=tuple(range(10)),"
        " class_names=tuple('0123456789'))\n")
    assert "digits" in list_competitions()
    assert load_competition("digits").n_classes == 10
