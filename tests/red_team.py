"""The red-team cases: what a user (or a hostile file) does, what must happen, and how it is checked.

Every case here is one test (``tests/test_red_team.py`` runs them), and one row of the table in
``docs/reliability.md`` (``python scripts/reliability_table.py`` writes it, with the message each case
gets today). Cases checked by other test files are listed in ``ELSEWHERE`` by their pytest id, so the
table covers everything and every row names a test.

A case runs against its own copy of a small project: a competition ``tiny`` in Kaggle's Digit
Recognizer layout (real Fashion-MNIST images: 90 training rows, 30 test rows, a sample submission,
a solution file), fetched, with two complete runs (``rf-pixels``, ``logreg-pixels``) and a blend.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

COMP_PY = '''"""A tiny competition for the red team."""

from kaggletk.competition import Competition

COMPETITION = Competition(
    name="tiny",
    title="Tiny",
    data_dir="../../download",
    id_column="ImageId",
    target_column="Label",
    first_id=1,
    n_folds=3,
    {extra}
)
'''


@dataclass
class Env:
    """One case's project: ``root`` (KAGGLETK_HOME), the download folder and the CLI."""

    root: Path
    cli: Callable[..., tuple[int, str, str]]

    @property
    def download(self) -> Path:
        return self.root / "download"

    @property
    def comp(self) -> Path:
        return self.root / "competitions" / "tiny"

    def competition(self, extra: str = "", *, text: str | None = None) -> None:
        """Rewrite competition.py with extra keyword lines (or whole ``text``)."""
        (self.comp / "competition.py").write_text(text if text is not None else COMP_PY.format(extra=extra))

    def run_dir(self, run: str = "rf-pixels") -> Path:
        return self.root / "oof" / "tiny" / run

    def submission(self, rows: list[list[str]] | str, name: str = "sub.csv") -> Path:
        path = self.root / name
        if isinstance(rows, str):
            path.write_text(rows)
        else:
            with open(path, "w", newline="") as fh:
                csv.writer(fh, lineterminator="\n").writerows(rows)
        return path

    def good_rows(self) -> list[list[str]]:
        with open(self.root / "submissions" / "tiny" / "rf-pixels.csv", newline="") as fh:
            return [row for row in csv.reader(fh)]

    def fresh_source(self, name: str = "tiny2") -> Path:
        """A second competition ``name`` reading ``download2/`` (copied from the good files): edit, then fetch it."""
        src = self.root / "download2"
        if not src.exists():
            shutil.copytree(self.download, src)
        folder = self.root / "competitions" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "competition.py").write_text(
            COMP_PY.replace('name="tiny"', f'name="{name}"').replace("../../download", "../../download2").format(extra=""))
        return src


@dataclass
class Case:
    id: str
    area: str
    case: str
    expected: str
    run: Callable[[Env], tuple[int, str, str]]
    status: int = 2
    words: tuple[str, ...] = ()
    check: Callable[[Env, str, str], None] | None = None  # more assertions after the run
    files_kept: bool = True  # the project's finished files are byte-for-byte unchanged by a refused command


CASES: list[Case] = []


def case(id: str, area: str, what: str, expected: str, run, status: int = 2, words=(), check=None, files_kept=None):
    CASES.append(Case(id, area, what, expected, run, status, tuple(words), check,
                      files_kept if files_kept is not None else status != 0))


def cli(*argv: str):
    return lambda env: env.cli(*argv)


def then(setup, *argv: str):
    """Run ``setup(env)`` then the CLI with ``argv`` (items may be callables of env, e.g. paths)."""
    def run(env):
        setup(env)
        return env.cli(*[a(env) if callable(a) else a for a in argv])
    return run


def write(rel: str, data: bytes | str):
    def setup(env):
        path = env.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return setup


def path(rel: str):
    return lambda env: str(env.root / rel)


# ------------------------------------------------------------------------------------------------ helpers
def _assert_absent(*paths: Path) -> None:
    for p in paths:
        assert not p.exists(), f"{p} was written"


def _assert_in(text: str, *words: str) -> None:
    for w in words:
        assert w in text, f"{w!r} not in {text!r}"


def _assert_glob(folder: Path, pattern: str) -> None:
    assert list(folder.glob(pattern)), f"no {pattern} in {folder}"


def _assert_no_secret(text: str, secret: str) -> None:
    assert secret not in text, f"secret shown: {text!r}"


def _zip(path: Path, members: dict, unlink: Path | None = None) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    if unlink:
        unlink.unlink()


def bounded(limit: int, run):
    """Run with the inflation bound lowered to ``limit`` bytes (the same code path as the real 4 GiB bound)."""
    def wrapped(env):
        from kaggletk.data import _base

        old = _base.MAX_MEMBER_BYTES
        _base.MAX_MEMBER_BYTES = limit
        try:
            return run(env)
        finally:
            _base.MAX_MEMBER_BYTES = old
    return wrapped


def _rows(nbytes: int, labels: bool = True):
    """CSV text of ``nbytes`` or so: the header, then rows of real-looking pixels."""
    header = ("label," if labels else "") + ",".join(f"pixel{i}" for i in range(784)) + "\n"
    rng = np.random.default_rng(5)
    block = "".join((f"{i % 10}," if labels else "") + ",".join(map(str, rng.integers(0, 9, 784))) + "\n" for i in range(500))
    yield header.encode()
    for _ in range(max(1, nbytes // len(block))):
        yield block.encode()


def _zip_bomb(path: Path, nbytes: int, unlink: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("train.csv", "w") as fh:
            for chunk in _rows(nbytes):
                fh.write(chunk)
    unlink.unlink()


def _gz_rows(path: Path, nbytes: int, unlink: Path, labels: bool = True) -> None:
    with gzip.open(path, "wb", compresslevel=1) as fh:
        for chunk in _rows(nbytes, labels):
            fh.write(chunk)
    unlink.unlink()


def _zip_forged(path: Path, data: bytes, unlink: Path) -> None:
    """A stored member whose local and central headers say it is 1,000 bytes long."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("train.csv", data)
    blob = bytearray(path.read_bytes())
    size = struct.pack("<I", len(data))
    for sig, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = blob.index(sig)
        assert blob[start + at:start + at + 4] == size
        blob[start + at:start + at + 4] = struct.pack("<I", 1000)
    path.write_bytes(bytes(blob))
    unlink.unlink()


_GZ_BOMB: bytes | None = None


def _gz_bomb() -> bytes:
    global _GZ_BOMB
    if _GZ_BOMB is None:
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=6) as gz:
            gz.write(struct.pack(">IIII", 0x0803, 1_400_000, 28, 28))
            zeros = b"\0" * (1 << 20)
            for _ in range(256):
                gz.write(zeros)
        _GZ_BOMB = buf.getvalue()
    return _GZ_BOMB


def _png(path: Path, side: int, mode: str = "L") -> None:
    from PIL import Image

    arr = np.random.default_rng(3).integers(0, 255, (side, side), dtype=np.uint8)
    img = Image.fromarray(arr)
    if mode == "RGBA":
        img = img.convert("RGBA")
    elif mode == "I;16":
        img = Image.fromarray(arr.astype(np.uint16) * 256)
    img.save(path)


def _bom(p: Path) -> Path:
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    return p


def _crlf(p: Path) -> Path:
    p.write_bytes(p.read_bytes().replace(b"\n", b"\r\n"))
    return p


def _bytes(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


def _big_submission(env) -> Path:
    p = env.root / "sub.csv"
    with open(p, "w") as fh:
        fh.write("ImageId,Label\n")
        line = "".join(f"{i},0\n" for i in range(1, 1_000_001))
        for _ in range(3):
            fh.write(line)
    return p


def _copy_test_csv(env, name: str) -> None:
    lines = (env.download / "test.csv").read_text().splitlines()
    (env.root / name).write_text("\n".join(lines[:6]) + "\n")


def _copy_test_csv_arg(env) -> str:
    _copy_test_csv(env, "new.csv")
    return str(env.root / "new.csv")


def _drop_models(env) -> None:
    manifest = env.run_dir() / "manifest.json"
    data = json.loads(manifest.read_text())
    folds = data.get("folds") or {}
    for fold in folds.values() if isinstance(folds, dict) else folds:
        (fold.get("extra") or {}).pop("model", None)
    manifest.write_text(json.dumps(data))


def _kaggle_json(env, text: str) -> None:
    folder = Path(os.environ["KAGGLE_CONFIG_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kaggle.json").write_text(text)
    os.chmod(folder / "kaggle.json", 0o600)


def _with_env(values: dict, fn):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        return fn()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _debug_run(env):
    try:
        return env.cli("--debug", "cv", "tiny", "--model", "rff")
    except Exception as exc:  # --debug re-raises: the traceback is the point
        from kaggletk.errors import KaggletkError

        assert isinstance(exc, KaggletkError) and "rff" in str(exc)
        return 2, "", f"kaggletk: error: {exc}"


def _debug_secret(env):
    """``--debug`` in a real process: its traceback is what the user sees (returned as output: it is asked for)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "kaggletk", "--debug", "tune", "tiny", "--model", "rf", "--trials", "1",
                           "--storage", "postgresql://u:hunter22@127.0.0.1:9/x"], capture_output=True, text=True, timeout=300)
    assert "Traceback" in proc.stderr and "KaggletkError" in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout + proc.stderr, ""


# ------------------------------------------------------------------------------------------------ command line
A = "command line"
case("unknown-command", A, "`kaggletk trian`", "argparse usage and an error naming the choices", cli("trian"),
     words=("invalid choice", "'trian'"))
case("unknown-competition", A, "`cv tinny --model rf`", "one line: unknown competition, closest name", cli("cv", "tinny", "--model", "rf"),
     words=("tinny", "tiny"))
case("competition-path-traversal", A, "`cv ../../etc --model rf`", "refused as a name, nothing read outside", cli("cv", "../../etc", "--model", "rf"),
     words=("../../etc",))
case("unknown-model", A, "`--model rff`", "one line naming the closest model", cli("cv", "tiny", "--model", "rff"),
     words=("rff", "did you mean rf"))
case("unknown-model-in-list", A, "`--model rf,xgbb`", "one line naming the bad item; nothing trained", cli("cv", "tiny", "--model", "rf,xgbb"),
     words=("xgbb", "xgb"))
case("unknown-view", A, "`--view pixles`", "one line naming the closest view", cli("cv", "tiny", "--model", "rf", "--view", "pixles"),
     words=("pixles", "pixels"))
case("unknown-view-in-spec", A, "`--model rf:pca2`", "one line naming the view", cli("cv", "tiny", "--model", "rf:pca2"),
     words=("pca2",))
case("view-wrong-for-model", A, "`--model cnn --view hog` (a CNN needs images)", "one line: the views the model takes",
     cli("cv", "tiny", "--model", "cnn", "--view", "hog"), words=("hog", "cnn"))
case("params-not-json", A, "`--params '{max_depth: 3}'`", "one line: not JSON, with the position", cli("cv", "tiny", "--model", "xgb", "--params", "{max_depth: 3}"),
     words=("--params", "JSON"))
case("params-json-array", A, "`--params '[1, 2]'`", "one line: must be an object", cli("cv", "tiny", "--model", "xgb", "--params", "[1, 2]"),
     words=("--params", "object"))
case("params-json-string", A, "`--params '\"deep\"'`", "one line: must be an object", cli("cv", "tiny", "--model", "xgb", "--params", '"deep"'),
     words=("--params", "object"))
case("params-json-null", A, "`--params null`", "one line: must be an object", cli("cv", "tiny", "--model", "xgb", "--params", "null"),
     words=("--params", "object"))
case("params-file-missing", A, "`--params nothere.json`", "one line naming the file", cli("cv", "tiny", "--model", "xgb", "--params", "nothere.json"),
     words=("nothere.json",))
case("params-file-directory", A, "`--params somedir.json` (a folder)", "one line naming the folder",
     then(lambda env: (env.root / "somedir.json").mkdir(), "cv", "tiny", "--model", "xgb", "--params", path("somedir.json")),
     words=("somedir.json",))
case("params-file-bad-json", A, "a params file with a trailing comma", "one line naming the file and line",
     then(write("p.json", '{"max_depth": 3,\n}'), "cv", "tiny", "--model", "xgb", "--params", path("p.json")),
     words=("p.json", "line 2"))
case("params-file-binary", A, "a params file of random bytes", "one line naming the file",
     then(write("p.json", os.urandom(64) + b"\xff\xfe"), "cv", "tiny", "--model", "xgb", "--params", path("p.json")),
     words=("p.json",))
case("params-unknown-key-xgb", A, "`--params '{\"max_dept\": 3}'` for xgb", "refused, naming max_depth",
     cli("cv", "tiny", "--model", "xgb", "--params", '{"max_dept": 3}'), words=("max_dept", "max_depth"))
case("params-unknown-key-lgbm", A, "`--params '{\"num_leave\": 7}'` for lgbm", "refused, naming num_leaves",
     cli("cv", "tiny", "--model", "lgbm", "--params", '{"num_leave": 7}'), words=("num_leave", "num_leaves"))
case("params-unknown-key-rf", A, "`--params '{\"n_estimator\": 7}'` for rf", "refused, naming n_estimators",
     cli("cv", "tiny", "--model", "rf", "--params", '{"n_estimator": 7}'), words=("n_estimator", "n_estimators"))
case("params-unknown-key-cnn", A, "`--params '{\"epoch\": 2}'` for cnn", "refused, naming epochs",
     cli("cv", "tiny", "--model", "cnn", "--params", '{"epoch": 2}'), words=("epoch", "epochs"))
# --params values each adapter refuses by name: (id, case, expected, model, params, words in the error)
for _id, _what, _expected, _model, _params, _words in [
    ('params-wrong-type', "`--params '{\"max_depth\": \"deep\"}'`", "refused, naming the key and the type", 'xgb', '{"max_depth": "deep"}', ("max_depth", "deep")),
    ('params-bool-for-int', "`--params '{\"n_estimators\": true}'`", "refused: a bool is not a count", 'rf', '{"n_estimators": true}', ("n_estimators",)),
    ('params-negative-count', "`--params '{\"n_estimators\": -5}'`", "refused, naming the range", 'rf', '{"n_estimators": -5}', ("n_estimators", "-5")),
    ('params-zero-epochs', "`--params '{\"epochs\": 0}'` for mlp", "refused, naming epochs", 'mlp', '{"epochs": 0}', ("epochs",)),
    ('params-zero-batch', "`--params '{\"batch_size\": 0}'` for cnn", "refused, naming batch_size", 'cnn', '{"batch_size": 0}', ("batch_size",)),
    ('params-lr-string', "`--params '{\"learning_rate\": \"fast\"}'` for mlp", "refused, naming learning_rate", 'mlp', '{"learning_rate": "fast"}', ("learning_rate", "fast")),
    ('params-nan', "`--params '{\"learning_rate\": NaN}'` for xgb", "refused: not a finite number", 'xgb', '{"learning_rate": NaN}', ("learning_rate",)),
    ('params-infinity', "`--params '{\"learning_rate\": Infinity}'` for xgb", "refused: not a finite number", 'xgb', '{"learning_rate": Infinity}', ("learning_rate",)),
    ('params-dropout-above-1', "`--params '{\"dropout\": 1.5}'` for mlp", "refused, naming the range", 'mlp', '{"dropout": 1.5}', ("dropout", "1.5")),
]:
    case(_id, A, _what, _expected, cli("cv", "tiny", "--model", _model, "--params", _params), words=_words)
case("params-deep-nesting", A, "a `--params` JSON nested 20,000 deep", "one line: too deeply nested",
     cli("cv", "tiny", "--model", "xgb", "--params", '{"a": ' * 20000 + "1" + "}" * 20000), words=("--params",))
case("params-300k-keys", A, "a params file with 300,000 keys", "refused at once: too many keys",
     then(write("many.json", json.dumps({f"k{i}": i for i in range(300_000)})), "cv", "tiny", "--model", "xgb", "--params", path("many.json")),
     words=("--params",))
case("params-huge-file", A, "a params file of 5 MB", "refused at once: too large",
     then(write("big.json", '{"a": "' + "x" * 5_000_000 + '"}'), "cv", "tiny", "--model", "xgb", "--params", path("big.json")),
     words=("--params",))
case("params-tuned-none", A, "`--params tuned` before any tuning", "one line: no tuned params, run tune first",
     cli("cv", "tiny", "--model", "xgb", "--params", "tuned"), words=("tuned", "kaggletk tune"))
case("view-params-not-json", A, "`--view-params '{n: 3}'`", "one line: not JSON",
     cli("cv", "tiny", "--model", "logreg", "--view", "pca", "--view-params", "{n: 3}"), words=("--view-params",))
case("view-params-unknown-key", A, "`--view-params '{\"n_component\": 3}'`", "refused, naming n_components",
     cli("cv", "tiny", "--model", "logreg", "--view", "pca", "--view-params", '{"n_component": 3}'), words=("n_component", "n_components"))
case("view-params-bad-value", A, "`--view-params '{\"n_components\": -1}'`", "refused, naming the range",
     cli("cv", "tiny", "--model", "logreg", "--view", "pca", "--view-params", '{"n_components": -1}'), words=("n_components",))
case("folds-one", A, "`--folds 1`", "one line: at least 2 folds", cli("cv", "tiny", "--model", "rf", "--folds", "1"), words=("--folds", "2"))
case("folds-zero", A, "`--folds 0`", "one line: at least 2 folds", cli("cv", "tiny", "--model", "rf", "--folds", "0"), words=("--folds",))
case("folds-negative", A, "`--folds -3`", "one line: at least 2 folds", cli("cv", "tiny", "--model", "rf", "--folds", "-3"), words=("--folds",))
case("folds-not-int", A, "`--folds three`", "argparse: invalid int", cli("cv", "tiny", "--model", "rf", "--folds", "three"), words=("--folds",))
case("folds-more-than-class", A, "`--folds 50` with 9 rows in the smallest class", "one line naming the smallest class",
     cli("cv", "tiny", "--model", "rf", "--folds", "50"), words=("50",))
case("fold-out-of-range", A, "`--fold 7` with 3 folds", "one line: folds are 0-2", cli("cv", "tiny", "--model", "rf", "--fold", "7"), words=("--fold", "7"))
case("fold-negative", A, "`--fold -1`", "one line: folds are 0-2", cli("cv", "tiny", "--model", "rf", "--fold", "-1"), words=("--fold",))
case("seed-not-int", A, "`--seed x`", "argparse: invalid int", cli("cv", "tiny", "--model", "rf", "--seed", "x"), words=("--seed",))
case("run-name-traversal", A, "`--name ../../x`", "refused as a name: nothing written outside oof/",
     cli("cv", "tiny", "--model", "rf", "--name", "../../x"), words=("../../x",),
     check=lambda env, out, err: _assert_absent(env.root.parent / "x"))
case("run-name-empty", A, "`--name ''`", "refused as a name", cli("cv", "tiny", "--model", "rf", "--name", ""), words=("name",))
case("run-name-slash", A, "`--name a/b`", "refused as a name", cli("cv", "tiny", "--model", "rf", "--name", "a/b"), words=("a/b",))
case("run-name-dot", A, "`--name .`", "refused as a name", cli("cv", "tiny", "--model", "rf", "--name", "."), words=("'.'",))
case("run-name-newline", A, "`--name 'a\\nb'`", "refused as a name", cli("cv", "tiny", "--model", "rf", "--name", "a\nb"), words=("name",))
case("run-name-very-long", A, "`--name` of 300 characters", "refused as a name", cli("cv", "tiny", "--model", "rf", "--name", "a" * 300), words=("name",))
case("device-gpu-without-gpu", A, "`--device gpu` on a machine without one", "one line: no GPU visible, use --device cpu or auto",
     cli("cv", "tiny", "--model", "mlp", "--device", "gpu", "--params", '{"epochs": 1}'), words=("gpu", "--device"))
case("device-gpu-xgb", A, "`--device gpu` for xgb without a GPU", "one line: no GPU visible",
     cli("cv", "tiny", "--model", "xgb", "--device", "gpu"), words=("gpu",))
case("device-unknown", A, "`--device tpu`", "argparse: invalid choice", cli("cv", "tiny", "--model", "rf", "--device", "tpu"), words=("tpu",))
case("data-full-missing", A, "`--data full` when only the sample exists", "one line: no full data, how to fetch",
     cli("cv", "fashion_mnist", "--model", "rf", "--data", "full"), words=("fetch",),
     check=None)
case("existing-run-other-params", A, "rerunning `cv` under an existing run name with other params", "one line: differs, use --overwrite or --name",
     cli("cv", "tiny", "--model", "rf", "--params", '{"n_estimators": 7}', "--name", "rf-pixels"), words=("rf-pixels", "--overwrite"))
case("complete-run-rerun", A, "rerunning `cv` of a complete run", "exit 0, nothing retrained, says it is complete",
     cli("cv", "tiny", "--model", "rf", "--params", '{"n_estimators": 20}'), status=0, files_kept=True)
case("blend-unknown-run", A, "`blend --runs rf-pixels,nope`", "one line naming the run and listing the runs",
     cli("blend", "tiny", "--runs", "rf-pixels,nope"), words=("nope", "rf-pixels"))
case("blend-one-run", A, "`blend --runs rf-pixels`", "one line: at least two runs", cli("blend", "tiny", "--runs", "rf-pixels"), words=("two",))
case("blend-same-run-twice", A, "`blend --runs rf-pixels,rf-pixels`", "one line: a run listed twice",
     cli("blend", "tiny", "--runs", "rf-pixels,rf-pixels"), words=("rf-pixels",))
case("blend-name-traversal", A, "`blend --name ../b`", "refused as a name", cli("blend", "tiny", "--name", "../b"), words=("../b",))
case("blend-name-is-run", A, "`blend --name rf-pixels` (a model run's name)", "one line: that name is a model run",
     cli("blend", "tiny", "--name", "rf-pixels"), words=("rf-pixels",))
case("blend-bad-method", A, "`blend --method median`", "argparse: invalid choice", cli("blend", "tiny", "--method", "median"), words=("median",))
case("predict-unknown-run", A, "`predict --run nope`", "one line naming the runs there are", cli("predict", "tiny", "--run", "nope"),
     words=("nope", "leaderboard"))
case("predict-name-traversal", A, "`predict --name ../../evil`", "refused as a name", cli("predict", "tiny", "--run", "rf-pixels", "--name", "../../evil"),
     words=("../../evil",))
case("predict-images-missing", A, "`predict --images nothere.csv`", "one line naming the file",
     cli("predict", "tiny", "--run", "rf-pixels", "--images", "nothere.csv"), words=("nothere.csv",))
case("predict-images-wrong-size", A, "`predict --images` with 100 pixel columns", "one line: the images' size differs from training",
     then(write("new.csv", ",".join(f"pixel{i}" for i in range(100)) + "\n" + ",".join(["0"] * 100) + "\n"),
          "predict", "tiny", "--run", "rf-pixels", "--images", path("new.csv")), words=("new.csv",))
case("predict-images-out-is-dir", A, "`predict --images new.csv --out somedir`", "one line naming the folder",
     then(lambda env: ((env.root / "somedir").mkdir(), _copy_test_csv(env, "new.csv")),
          "predict", "tiny", "--run", "rf-pixels", "--images", path("new.csv"), "--out", path("somedir")), words=("somedir",))
case("predict-images-no-models", A, "`predict --images` for a run trained before models were saved", "one line: rerun cv to save models",
     then(lambda env: _drop_models(env), "predict", "tiny", "--run", "rf-pixels", "--images", lambda env: _copy_test_csv_arg(env)),
     words=("rf-pixels",))
case("leaderboard-unknown-comp", A, "`leaderboard tinny`", "one line naming the closest competition", cli("leaderboard", "tinny"), words=("tiny",))
case("tune-zero-trials", A, "`tune --trials 0`", "one line: at least 1", cli("tune", "tiny", "--model", "rf", "--trials", "0"), words=("--trials",))
case("tune-negative-timeout", A, "`tune --timeout -5`", "one line: a positive number", cli("tune", "tiny", "--model", "rf", "--timeout", "-5"), words=("--timeout",))
case("tune-unknown-storage", A, "`tune --storage mysql+foo://h/db`", "one line naming the storage forms",
     cli("tune", "tiny", "--model", "rf", "--trials", "1", "--storage", "mysql+foo://h/db"), words=("--storage",))
case("tune-storage-unreachable", A, "`tune --storage postgresql://u:s3cret@127.0.0.1:9/db`", "one line, the password masked",
     cli("tune", "tiny", "--model", "rf", "--trials", "1", "--storage", "postgresql://u:s3cret@127.0.0.1:9/db"), words=("127.0.0.1",),
     check=lambda env, out, err: _assert_no_secret(out + err, "s3cret"))
case("tune-bad-folds", A, "`tune --folds 9` with 3 folds", "one line: at most 3", cli("tune", "tiny", "--model", "rf", "--folds", "9"), words=("--folds",))
case("sweep-unknown-param", A, "`sweep --param max_dept`", "refused, naming max_depth",
     cli("sweep", "tiny", "--model", "xgb", "--param", "max_dept", "--values", "2,3"), words=("max_dept", "max_depth"))
case("sweep-bad-value", A, "`sweep --param max_depth --values 2,deep`", "refused, naming the value",
     cli("sweep", "tiny", "--model", "xgb", "--param", "max_depth", "--values", "2,deep"), words=("max_depth", "deep"))
case("sweep-zero-replicates", A, "`sweep --replicates 0`", "one line: at least 1",
     cli("sweep", "tiny", "--model", "xgb", "--param", "max_depth", "--values", "2", "--replicates", "0"), words=("--replicates",))
case("sweep-empty-values", A, "`sweep --values ,`", "one line: no values",
     cli("sweep", "tiny", "--model", "xgb", "--param", "max_depth", "--values", ","), words=("--values",))
case("fetch-from-missing", A, "`fetch tiny --from nothere/`", "one line naming the folder", cli("fetch", "tiny", "--from", "nothere"), words=("nothere",))
case("fetch-from-file", A, "`fetch tiny --from a-file.txt`", "one line: not a folder",
     then(write("a-file.txt", "x"), "fetch", "tiny", "--from", path("a-file.txt")), words=("a-file.txt",))
case("fetch-from-empty", A, "`fetch tiny --from empty/`", "one line: no training files, with the patterns looked for",
     then(lambda env: (env.root / "empty").mkdir(), "fetch", "tiny", "--from", path("empty")), words=("empty",))
case("new-existing", A, "`new tiny` when it exists", "one line: already exists, never overwritten",
     then(lambda env: None, "new", "tiny", "--from", path("download")), words=("already exists",))
case("new-bad-name", A, "`new 'My Comp'`", "refused as a name", then(lambda env: None, "new", "My Comp", "--from", path("download")), words=("My Comp",))
case("new-from-missing", A, "`new other --from nothere/`", "one line naming the folder", cli("new", "other", "--from", "nothere"), words=("nothere",))
case("new-from-unreadable-files", A, "`new other --from` a folder of text notes", "one line: no training files found",
     then(write("notes/readme.txt", "hello"), "new", "other", "--from", path("notes")), words=("notes",))
case("report-unknown-comp", A, "`report tinny`", "one line naming the closest competition", cli("report", "tinny"), words=("tiny",))
case("folds-check-unknown-comp", A, "`folds nope --check`", "one line", cli("folds", "nope", "--check"), words=("nope",))
case("debug-flag-shows-traceback", A, "`--debug cv tiny --model rff`", "the traceback, for bug reports",
     lambda env: _debug_run(env), status=2, words=())


# ------------------------------------------------------------------------------------------------ competition.py
C = "competition.py"


def comp(extra: str = "", text: str | None = None, argv=("cv", "tiny", "--model", "rf")):
    def run(env):
        env.competition(extra, text=text)
        return env.cli(*argv)
    return run


case("comp-syntax-error", C, "a syntax error in competition.py", "one line naming the file and line",
     comp(text="COMPETITION = Competition(\n  name='tiny'\n  title='x')\n"), words=("competition.py", "line"))
case("comp-raises", C, "competition.py raising ValueError at import", "one line naming the file and the exception",
     comp(text="raise ValueError('boom')\n"), words=("competition.py", "boom"))
case("comp-missing-import", C, "competition.py importing a missing module", "one line naming the file and the module",
     comp(text="import not_a_module_xyz\n"), words=("competition.py", "not_a_module_xyz"))
case("comp-no-competition", C, "competition.py without COMPETITION", "one line: define COMPETITION = Competition(...)",
     comp(text="X = 1\n"), words=("competition.py", "COMPETITION"))
case("comp-wrong-type", C, "COMPETITION = {'name': 'tiny'}", "one line: must be a Competition",
     comp(text="COMPETITION = {'name': 'tiny'}\n"), words=("competition.py", "Competition"))
case("comp-sys-exit", C, "competition.py calling sys.exit()", "one line naming the file",
     comp(text="import sys\nsys.exit(3)\n"), words=("competition.py",))
case("comp-name-mismatch", C, "name='other' in competitions/tiny/", "one line: the name must be the folder's",
     comp(text=COMP_PY.replace('name="tiny"', 'name="other"').format(extra="")), words=("competition.py", "other", "tiny"))
case("comp-bad-kwarg", C, "Competition(..., n_fold=3)", "one line naming the keyword and the closest",
     comp("n_fold=3,"), words=("competition.py", "n_fold"))
case("comp-unknown-metric", C, "metric='auc'", "one line naming the metrics kaggletk has", comp("metric='auc',"), words=("auc", "accuracy"))
case("comp-metric-typo", C, "metric='acuracy'", "one line naming accuracy", comp("metric='acuracy',"), words=("acuracy", "accuracy"))
case("comp-one-fold", C, "n_folds=1", "one line: at least 2", comp(text=COMP_PY.replace("n_folds=3", "n_folds=1").format(extra="")), words=("n_folds",))
case("comp-folds-str", C, "n_folds='5'", "one line: must be an integer", comp(text=COMP_PY.replace("n_folds=3", "n_folds='5'").format(extra="")), words=("n_folds",))
case("comp-unknown-scheme", C, "fold_scheme='kfold'", "one line naming the schemes", comp("fold_scheme='kfold',"), words=("kfold", "stratified"))
case("comp-duplicate-labels", C, "labels=(0, 1, 1, 2, ...)", "one line: a label listed twice",
     comp("labels=(0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9),"), words=("labels",))
case("comp-class-names-length", C, "class_names with 3 names for 10 labels", "one line: one name per label",
     comp("labels=tuple(range(10)), class_names=('a', 'b', 'c'),"), words=("class_names",))
case("comp-labels-missing-one", C, "labels=(0..8) when the data has 9", "one line naming the file and the label",
     comp("labels=tuple(range(9)),", argv=("fetch", "tiny")), words=("9",))
case("comp-empty-labels", C, "labels=()", "one line: labels is empty", comp("labels=(),"), words=("labels",))
case("comp-unknown-default-model", C, "default_models=('rf', 'xgbb')", "one line naming xgbb",
     comp("default_models=('rf', 'xgbb'),", argv=("cv", "tiny", "--model", "default")), words=("xgbb",))
case("comp-unknown-view", C, "views=('pixels', 'pca3')", "one line naming the view", comp("views=('pixels', 'pca3'),"), words=("pca3",))
case("comp-bad-image-shape", C, "image_shape=(27, 27)", "one line: 784 pixels are not 27x27", comp("image_shape=(27, 27),", argv=("fetch", "tiny")),
     words=("image_shape",))
case("comp-data-dir-missing", C, "data_dir='nowhere'", "one line naming the folder and how to fetch",
     comp(text=COMP_PY.replace("../../download", "nowhere").format(extra=""), argv=("fetch", "tiny")), words=("nowhere",))
case("comp-bad-slug", C, "kaggle_competition='not a slug!'", "one line naming the field", comp("kaggle_competition='not a slug!',"),
     words=("kaggle_competition",))
case("comp-hflip-str", C, "hflip='no'", "one line: must be True or False", comp("hflip='no',"), words=("hflip",))
case("comp-label-column-missing", C, "label_column='target' when the file has 'label'", "one line naming the file's columns",
     comp("label_column='target',", argv=("fetch", "tiny")), words=("target", "label"))
case("comp-test-id-column-missing", C, "test_id_column='Id' when test.csv has none", "one line naming the file",
     comp("test_id_column='Id',", argv=("fetch", "tiny")), words=("Id", "test.csv"))
case("comp-folder-without-file", C, "a folder under competitions/ without competition.py", "ignored by `competitions`",
     then(lambda env: (env.root / "competitions" / "notes").mkdir(), "competitions"), status=0)
case("comp-listing-with-broken-one", C, "`competitions` with one broken competition.py", "lists the others, names the broken one",
     then(lambda env: write("competitions/broken/competition.py", "raise RuntimeError('x')\n")(env), "competitions"), status=0,
     check=lambda env, out, err: _assert_in(out + err, "tiny", "broken"))
case("comp-negative-first-id", C, "first_id=-1", "accepted: Kaggle IDs can start anywhere", comp("first_id=-1,", argv=("competitions",)), status=0)


# ------------------------------------------------------------------------------------------------ CSV files
D = "CSV data"


def source_edit(edit, argv=None):
    """Edit download2/ (a copy of the good files) with ``edit(folder)``, then fetch competition tiny2 from it."""
    def run(env):
        folder = env.fresh_source()
        edit(folder)
        return env.cli(*(argv or ("fetch", "tiny2")))
    return run


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _put_lines(path: Path, lines: list[str], end="\n") -> None:
    path.write_text(end.join(lines) + end)


def _cell(path: Path, line_no: int, col: int, value: str):
    lines = _lines(path)
    cells = lines[line_no - 1].split(",")
    cells[col] = value
    lines[line_no - 1] = ",".join(cells)
    _put_lines(path, lines)


def on(name: str, fn):
    return lambda folder: fn(folder / name)


ok = 0  # the exit status of a case that must simply work
case("csv-empty-file", D, "train.csv of 0 bytes", "one line: the file is empty", source_edit(on("train.csv", lambda p: p.write_text(""))),
     words=("train.csv", "empty"))
case("csv-header-only", D, "train.csv with a header and no rows", "one line: no rows", source_edit(on("train.csv", lambda p: _put_lines(p, _lines(p)[:1]))),
     words=("train.csv",))
case("csv-bom", D, "train.csv saved with a UTF-8 BOM (Excel)", "read as if without", source_edit(on("train.csv", lambda p: p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes()))),
     status=ok)
case("csv-crlf", D, "train.csv with Windows line ends", "read as if without", source_edit(on("train.csv", lambda p: _put_lines(p, _lines(p), "\r\n"))), status=ok)
case("csv-cr-only", D, "train.csv with old Mac line ends (CR only)", "read as if without", source_edit(on("train.csv", lambda p: _put_lines(p, _lines(p), "\r"))), status=ok)
case("csv-quoted", D, "every cell quoted", "read as if without",
     source_edit(on("train.csv", lambda p: _put_lines(p, [",".join(f'"{c}"' for c in l.split(",")) for l in _lines(p)]))), status=ok)
case("csv-spaces", D, "spaces after the commas", "read as if without",
     source_edit(on("train.csv", lambda p: _put_lines(p, [", ".join(l.split(",")) for l in _lines(p)]))), status=ok)
case("csv-trailing-blank-lines", D, "three blank lines at the end", "read as if without",
     source_edit(on("train.csv", lambda p: p.write_text(p.read_text() + "\n\n\n"))), status=ok)
case("csv-blank-line-middle", D, "a blank line in the middle", "one line naming the line, or skipped",
     source_edit(on("train.csv", lambda p: _put_lines(p, _lines(p)[:10] + [""] + _lines(p)[10:]))), status=ok)
case("csv-semicolons", D, "train.csv separated by semicolons", "read (the separator is sniffed) or one line naming it",
     source_edit(on("train.csv", lambda p: _put_lines(p, [l.replace(",", ";") for l in _lines(p)]))), status=ok)
case("csv-tabs", D, "train.csv separated by tabs", "read (the separator is sniffed)",
     source_edit(on("train.csv", lambda p: _put_lines(p, [l.replace(",", "\t") for l in _lines(p)]))), status=ok)
case("csv-short-row", D, "line 6 with one cell fewer", "one line naming line 6 and the counts",
     source_edit(on("train.csv", lambda p: _put_lines(p, [l if i != 5 else l.rsplit(",", 1)[0] for i, l in enumerate(_lines(p))]))),
     words=("train.csv", "line 6"))
case("csv-long-row", D, "line 8 with one cell more", "one line naming line 8",
     source_edit(on("train.csv", lambda p: _put_lines(p, [l if i != 7 else l + ",0" for i, l in enumerate(_lines(p))]))),
     words=("train.csv", "line 8"))
case("csv-duplicate-column", D, "two columns named pixel5", "one line naming pixel5",
     source_edit(on("train.csv", lambda p: _put_lines(p, [_lines(p)[0].replace("pixel6,", "pixel5,", 1)] + _lines(p)[1:]))),
     words=("train.csv", "pixel5"))
case("csv-no-label-column", D, "train.csv without a label column", "one line naming the columns and label_column",
     source_edit(on("train.csv", lambda p: _put_lines(p, [",".join(l.split(",")[1:]) for l in _lines(p)]))),
     words=("train.csv", "label"))
case("csv-two-label-columns", D, "both `label` and `class` columns", "one line: which one? set label_column",
     source_edit(on("train.csv", lambda p: _put_lines(p, ["class," + _lines(p)[0]] + ["0," + l for l in _lines(p)[1:]]))),
     words=("train.csv", "label_column"))
case("csv-783-pixels", D, "783 pixel columns (not a square)", "one line: set image_shape",
     source_edit(lambda f: [_put_lines(f / n, [",".join(l.split(",")[:-1]) for l in _lines(f / n)]) for n in ("train.csv", "test.csv")]),
     words=("783", "image_shape"))
case("csv-latin1", D, "train.csv in latin-1 with an accented header", "one line naming the encoding",
     source_edit(on("train.csv", lambda p: p.write_bytes(p.read_bytes().replace(b"label", b"\xe9tiquette", 1)))),
     words=("train.csv",))
case("csv-utf16", D, "train.csv saved as UTF-16", "one line naming the encoding, or read",
     source_edit(on("train.csv", lambda p: p.write_bytes(p.read_text().encode("utf-16")))), words=("train.csv",))
case("csv-nul-bytes", D, "NUL bytes in a row", "one line naming the line",
     source_edit(on("train.csv", lambda p: p.write_bytes(p.read_bytes().replace(b"\n", b"\n\x00\x00", 3)))), words=("train.csv",))
case("csv-is-directory", D, "a folder named train.csv", "one line naming it",
     source_edit(lambda f: ((f / "train.csv").unlink(), (f / "train.csv").mkdir())), words=("train.csv",))
case("csv-binary", D, "train.csv of random bytes", "one line naming the file",
     source_edit(on("train.csv", lambda p: p.write_bytes(np.random.default_rng(0).bytes(5000)))), words=("train.csv",))
case("csv-float-pixels-01", D, "pixels scaled to 0-1 floats", "one line: pixels must be 0-255 integers",
     source_edit(on("train.csv", lambda p: _cell(p, 3, 5, "0.5"))), words=("train.csv", "line 3"))
case("csv-exponent-pixel", D, "a pixel written 1e2", "read as 100", source_edit(on("train.csv", lambda p: _cell(p, 3, 5, "1e2"))), status=ok)
case("csv-pixel-100.0", D, "a pixel written 100.0", "read as 100", source_edit(on("train.csv", lambda p: _cell(p, 3, 5, "100.0"))), status=ok)
case("csv-pixel-inf", D, "a pixel written inf", "one line naming line and column", source_edit(on("train.csv", lambda p: _cell(p, 4, 5, "inf"))),
     words=("train.csv", "line 4"))
case("csv-label-3.0", D, "a label written 3.0", "read as 3", source_edit(on("train.csv", lambda p: _cell(p, 2, 0, "3.0"))), status=ok)
case("csv-label-space", D, "a label written ' 3'", "read as 3", source_edit(on("train.csv", lambda p: _cell(p, 2, 0, " 3"))), status=ok)
case("csv-label-empty", D, "an empty label on line 5", "one line naming line 5", source_edit(on("train.csv", lambda p: _cell(p, 5, 0, ""))),
     words=("train.csv", "line 5"))
case("csv-label-nan", D, "a label NaN on line 5", "one line naming line 5", source_edit(on("train.csv", lambda p: _cell(p, 5, 0, "NaN"))),
     words=("train.csv", "line 5"))
case("csv-one-class", D, "every label the same", "one line: one class, nothing to learn",
     source_edit(on("train.csv", lambda p: _put_lines(p, _lines(p)[:1] + ["0," + l.split(",", 1)[1] for l in _lines(p)[1:]]))),
     words=("train.csv",))
case("csv-class-with-one-row", D, "a class with one training row and 3 folds", "one line at cv naming the class",
     source_edit(on("train.csv", lambda p: _put_lines(p, _lines(p)[:1] + [l for l in _lines(p)[1:] if not l.startswith("9,")] + [
         next(l for l in _lines(p)[1:] if l.startswith("9,"))])), argv=None),
     status=ok)
case("csv-test-empty", D, "test.csv with a header only", "one line: no test rows",
     source_edit(on("test.csv", lambda p: _put_lines(p, _lines(p)[:1]))), words=("test.csv",))
case("csv-test-other-width", D, "test.csv with 100 pixel columns", "one line: the test images are another size",
     source_edit(on("test.csv", lambda p: _put_lines(p, [",".join(l.split(",")[:100]) for l in _lines(p)]))), words=("test.csv",))
case("csv-test-with-labels", D, "test.csv that has a label column", "read: the label column is kept as held-out labels or ignored",
     source_edit(on("test.csv", lambda p: _put_lines(p, ["label," + _lines(p)[0]] + ["0," + l for l in _lines(p)[1:]]))), status=ok)
case("csv-test-missing", D, "no test file", "one line: no test file, with the patterns",
     source_edit(lambda f: (f / "test.csv").unlink()), words=("test",))
case("csv-train-missing", D, "no training file", "one line listing what was found",
     source_edit(lambda f: (f / "train.csv").unlink()), words=("train",))
case("csv-two-train-files", D, "train.csv and train_v2.csv side by side", "one line: which one? both named",
     source_edit(lambda f: shutil.copy(f / "train.csv", f / "train_v2.csv")), words=("train.csv", "train_v2.csv"))
case("csv-gz-truncated", D, "train.csv.gz cut in half", "one line: truncated",
     source_edit(lambda f: ((f / "train.csv.gz").write_bytes(gzip.compress((f / "train.csv").read_bytes())[:3000]), (f / "train.csv").unlink())),
     words=("train.csv.gz",))
case("csv-gz-not-gzip", D, "train.csv.gz that is plain text", "one line: not gzip",
     source_edit(lambda f: (f / "train.csv").rename(f / "train.csv.gz")), words=("train.csv.gz",))
case("csv-zip-two-members", D, "train.zip holding two CSVs", "one line naming both members",
     source_edit(lambda f: _zip(f / "train.zip", {"a.csv": (f / "train.csv").read_bytes(), "b.csv": (f / "train.csv").read_bytes()}, unlink=f / "train.csv")),
     words=("train.zip",))
case("csv-zip-empty", D, "an empty train.zip", "one line naming the file", source_edit(lambda f: _zip(f / "train.zip", {}, unlink=f / "train.csv")),
     words=("train.zip",))
case("csv-zip-traversal", D, "train.zip with a member ../../evil.csv", "read from memory, nothing extracted outside",
     source_edit(lambda f: _zip(f / "train.zip", {"../../evil.csv": (f / "train.csv").read_bytes()}, unlink=f / "train.csv")),
     status=ok, check=lambda env, out, err: _assert_absent(env.root / "evil.csv", env.root.parent / "evil.csv"))
case("csv-zip-bomb", D, "train.zip whose member inflates past the bound (40 MB; the bound lowered to 16 MB)",
     "refused from the zip's header, before inflating", bounded(16 << 20, source_edit(lambda f: _zip_bomb(f / "train.zip", 40 << 20, unlink=f / "train.csv"))),
     words=("train.zip", "inflate"))
case("csv-gz-bomb", D, "train.csv.gz inflating past the bound (40 MB; the bound lowered to 16 MB)", "refused while streaming",
     bounded(16 << 20, source_edit(lambda f: _gz_rows(f / "train.csv.gz", 40 << 20, unlink=f / "train.csv"))), words=("train.csv.gz", "inflates"))
case("csv-zip-forged-size", D, "train.zip whose header under-states its member's size", "one line: corrupt (CRC), nothing kept",
     source_edit(lambda f: _zip_forged(f / "train.zip", (f / "train.csv").read_bytes(), unlink=f / "train.csv")), words=("train.zip",))
case("csv-big-streamed", D, "a 90 MB train.csv.gz (118,000 rows)", "read in chunks: the cache is built", source_edit(
     lambda f: _gz_rows(f / "train.csv.gz", 90 << 20, unlink=f / "train.csv", labels=True)), status=ok)
case("csv-huge-header", D, "a header of 2 million columns", "one line: too many columns",
     source_edit(on("train.csv", lambda p: p.write_text("label," + ",".join(f"c{i}" for i in range(2_000_000)) + "\n0\n"))), words=("train.csv",))
case("csv-sample-fewer-ids", D, "sample_submission.csv with 5 rows fewer than test.csv", "one line: counts differ",
     source_edit(on("sample_submission.csv", lambda p: _put_lines(p, _lines(p)[:-5]))), words=("sample_submission.csv",))
case("csv-sample-three-columns", D, "sample_submission.csv with 3 columns", "one line: expected ID and target",
     source_edit(on("sample_submission.csv", lambda p: _put_lines(p, [l + ",x" for l in _lines(p)]))), words=("sample_submission.csv",))
case("csv-sample-empty", D, "an empty sample_submission.csv", "one line naming it",
     source_edit(on("sample_submission.csv", lambda p: p.write_text(""))), words=("sample_submission.csv",))
case("csv-sample-duplicate-ids", D, "sample_submission.csv listing an ID twice", "one line naming the ID",
     source_edit(on("sample_submission.csv", lambda p: _put_lines(p, _lines(p)[:3] + [_lines(p)[2]] + _lines(p)[4:]))), words=("sample_submission.csv",))
case("csv-solution-unknown-label", D, "solution.csv with a label 42", "one line naming solution.csv",
     source_edit(on("solution.csv", lambda p: _cell(p, 3, 1, "42"))), words=("solution.csv",))
case("csv-solution-wrong-ids", D, "solution.csv whose IDs are not the test IDs", "one line naming solution.csv",
     source_edit(on("solution.csv", lambda p: _put_lines(p, _lines(p)[:1] + [f"{9000 + i},{l.split(',')[1]}" for i, l in enumerate(_lines(p)[1:])]))),
     words=("solution.csv",))


# ------------------------------------------------------------------------------------------------ other formats
F = "IDX, HDF5, NPZ, image folders"


def _idx(images: np.ndarray | None = None, labels: np.ndarray | None = None, *, magic: int | None = None, dims=None, payload=None) -> bytes:
    if images is not None:
        dims = dims if dims is not None else images.shape
        body = images.astype(np.uint8).tobytes() if payload is None else payload
        return struct.pack(">I", magic if magic is not None else 0x0803) + struct.pack(f">{len(dims)}I", *dims) + body
    dims = dims if dims is not None else labels.shape
    body = labels.astype(np.uint8).tobytes() if payload is None else payload
    return struct.pack(">I", magic if magic is not None else 0x0801) + struct.pack(f">{len(dims)}I", *dims) + body


def idx_source(edit):
    """An IDX download (real images) edited by ``edit(parts)``; fetch competition tiny2 from it."""
    def run(env):
        src = env.root / "download2"
        data = np.load(env.root / "tiny-arrays.npz")
        parts = {"train-images-idx3-ubyte": _idx(data["xtr"]), "train-labels-idx1-ubyte": _idx(labels=data["ytr"]),
                 "t10k-images-idx3-ubyte": _idx(data["xte"])}
        edit(parts, data)
        src.mkdir()
        for name, blob in parts.items():
            if blob is not None:
                (src / name).write_bytes(blob)
        env.fresh_source()
        return env.cli("fetch", "tiny2")
    return run


case("idx-good", F, "IDX files without gzip", "read", idx_source(lambda p, d: None), status=ok)
case("idx-gzip", F, "IDX files gzipped", "read", idx_source(lambda p, d: p.update({k + ".gz": gzip.compress(v) for k, v in list(p.items())}) or [p.pop(k) for k in list(p) if not k.endswith(".gz")]), status=ok)
case("idx-bad-magic", F, "images IDX with magic 0x0000", "one line naming the file and the magic",
     idx_source(lambda p, d: p.update({"train-images-idx3-ubyte": _idx(d["xtr"], magic=0)})), words=("train-images-idx3-ubyte",))
case("idx-float-type", F, "images IDX of float32 (type 0x0D) holding whole values 0-255", "read: the values become uint8",
     idx_source(lambda p, d: p.update({"train-images-idx3-ubyte": _idx(d["xtr"], magic=0x0D03, payload=d["xtr"].astype(">f4").tobytes())})),
     status=ok)
case("idx-short", F, "images IDX 100 bytes short", "one line: truncated",
     idx_source(lambda p, d: p.update({"train-images-idx3-ubyte": _idx(d["xtr"])[:-100]})), words=("train-images-idx3-ubyte",))
case("idx-long", F, "images IDX with 100 bytes of trailing garbage", "one line: sizes disagree",
     idx_source(lambda p, d: p.update({"train-images-idx3-ubyte": _idx(d["xtr"]) + b"\0" * 100})), words=("train-images-idx3-ubyte",))
case("idx-header-huge", F, "an IDX header claiming 4 billion images", "refused at the header, nothing allocated",
     idx_source(lambda p, d: p.update({"train-images-idx3-ubyte": _idx(d["xtr"], dims=(4_000_000_000, 28, 28))})), words=("train-images-idx3-ubyte",))
case("idx-gzip-bomb", F, "a .gz that inflates to 256 MB, its header declaring 1.4 million images", "refused after reading the header",
     idx_source(lambda p, d: (p.pop("train-images-idx3-ubyte"), p.update({"train-images-idx3-ubyte.gz": _gz_bomb()}))), words=("train-images-idx3-ubyte",))
case("idx-labels-count", F, "80 labels for 90 images", "one line: counts differ",
     idx_source(lambda p, d: p.update({"train-labels-idx1-ubyte": _idx(labels=d["ytr"][:80])})), words=("80", "90"))
case("idx-images-1d", F, "an images file with 1 dimension", "one line: expected images",
     idx_source(lambda p, d: p.update({"train-images-idx3-ubyte": _idx(labels=d["ytr"], magic=0x0801)})), words=("train-images-idx3-ubyte",))
case("idx-zero-images", F, "an images file with 0 images", "one line: no images",
     idx_source(lambda p, d: p.update({"train-images-idx3-ubyte": _idx(d["xtr"][:0]), "train-labels-idx1-ubyte": _idx(labels=d["ytr"][:0])})),
     words=("train",))
case("idx-labels-missing", F, "images IDX without its labels file", "one line: no training labels",
     idx_source(lambda p, d: p.update({"train-labels-idx1-ubyte": None})), words=("label",))


def bundle_source(make):
    def run(env):
        src = env.root / "download2"
        src.mkdir()
        data = np.load(env.root / "tiny-arrays.npz")
        make(src, data)
        env.fresh_source()
        return env.cli("fetch", "tiny2")
    return run


def _h5(path, **arrays):
    import h5py

    with h5py.File(path, "w") as fh:
        for key, value in arrays.items():
            fh[key] = value


case("h5-good", F, "an HDF5 bundle", "read", bundle_source(lambda s, d: _h5(s / "data.h5", train_images=d["xtr"], train_labels=d["ytr"], test_images=d["xte"])), status=ok)
case("h5-label-count", F, "HDF5 with 80 labels for 90 images", "one line: counts differ",
     bundle_source(lambda s, d: _h5(s / "data.h5", train_images=d["xtr"], train_labels=d["ytr"][:80], test_images=d["xte"])), words=("data.h5",))
case("h5-float-images", F, "HDF5 with float images in 0-1", "scaled or one line naming the key",
     bundle_source(lambda s, d: _h5(s / "data.h5", train_images=d["xtr"] / 255.0, train_labels=d["ytr"], test_images=d["xte"] / 255.0)), status=ok)
case("h5-corrupt", F, "a .h5 file of random bytes", "one line naming the file",
     bundle_source(lambda s, d: (s / "data.h5").write_bytes(np.random.default_rng(1).bytes(4096))), words=("data.h5",))
case("h5-wrong-rank", F, "HDF5 train_images of shape (90, 784)", "read as flat rows of a square image",
     bundle_source(lambda s, d: _h5(s / "data.h5", train_images=d["xtr"].reshape(90, -1), train_labels=d["ytr"], test_images=d["xte"].reshape(30, -1))), status=ok)
case("npz-good", F, "an .npz bundle", "read", bundle_source(lambda s, d: np.savez(s / "data.npz", train_images=d["xtr"], train_labels=d["ytr"], test_images=d["xte"])), status=ok)
case("npz-corrupt", F, "a .npz of random bytes", "one line naming the file",
     bundle_source(lambda s, d: (s / "data.npz").write_bytes(np.random.default_rng(2).bytes(4096))), words=("data.npz",))
case("npz-missing-key", F, ".npz without test_images", "one line listing its keys",
     bundle_source(lambda s, d: np.savez(s / "data.npz", train_images=d["xtr"], train_labels=d["ytr"])), words=("data.npz", "test_images"))
case("npz-nan-images", F, ".npz with NaN pixels", "one line: not finite",
     bundle_source(lambda s, d: np.savez(s / "data.npz", train_images=np.where(d["xtr"] > 200, np.nan, d["xtr"] / 255.0), train_labels=d["ytr"], test_images=d["xte"] / 255.0)),
     words=("data.npz",))


def folder_source(edit=None, side=28):
    def run(env):
        from PIL import Image

        src = env.root / "download2"
        data = np.load(env.root / "tiny-arrays.npz")
        (src / "train").mkdir(parents=True)
        (src / "test").mkdir()
        rows = ["id,label"]
        for i, (img, y) in enumerate(zip(data["xtr"], data["ytr"])):
            Image.fromarray(img).resize((side, side)).save(src / "train" / f"tr{i}.png")
            rows.append(f"tr{i},{y}")
        (src / "train.csv").write_text("\n".join(rows) + "\n")
        for i, img in enumerate(data["xte"]):
            Image.fromarray(img).resize((side, side)).save(src / "test" / f"te{i}.png")
        if edit:
            edit(src)
        env.fresh_source()
        return env.cli("fetch", "tiny2")
    return run


case("png-good", F, "image folders with an id,label CSV", "read", folder_source(), status=ok)
case("png-corrupt", F, "a training PNG of random bytes", "one line naming the image",
     folder_source(lambda s: (s / "train" / "tr3.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(100))), words=("tr3.png",))
case("png-ds-store", F, "a .DS_Store file among the images", "ignored", folder_source(lambda s: (s / "train" / ".DS_Store").write_bytes(b"\0" * 10)), status=ok)
case("png-mixed-sizes", F, "one training image 32x32 among 28x28", "one line naming the image and the sizes",
     folder_source(lambda s: _png(s / "train" / "tr5.png", 32)), words=("tr5.png",))
case("png-label-without-image", F, "a label row whose image is missing", "one line naming the ID",
     folder_source(lambda s: (s / "train" / "tr7.png").unlink()), words=("tr7",))
case("png-image-without-label", F, "an image with no label row", "one line naming it, or ignored with a note",
     folder_source(lambda s: _png(s / "train" / "extra.png", 28)), status=ok)
case("png-rgba", F, "an RGBA training image among gray ones", "read as gray (alpha dropped, its channels are equal)",
     folder_source(lambda s: _png(s / "train" / "tr2.png", 28, mode="RGBA")), status=ok)
case("png-16bit", F, "a 16-bit grayscale PNG", "one line naming the image, or scaled", folder_source(lambda s: _png(s / "train" / "tr4.png", 28, mode="I;16")), status=ok)
case("png-empty-test", F, "an empty test folder", "one line: no test images", folder_source(lambda s: [p.unlink() for p in (s / "test").iterdir()]), words=("test",))


# ------------------------------------------------------------------------------------------------ submissions
S = "submissions"


def sub(edit, argv=("validate", "tiny")):
    def run(env):
        rows = env.good_rows()
        result = edit(rows)
        p = env.submission(result if result is not None else rows)
        return env.cli(*argv, str(p))
    return run


case("sub-good", S, "the submission kaggletk wrote", "valid", sub(lambda r: None), status=ok)
case("sub-missing-file", S, "`validate tiny nothere.csv`", "one line naming the file", cli("validate", "tiny", "nothere.csv"), words=("nothere.csv",))
case("sub-directory", S, "`validate tiny somedir`", "one line naming the folder",
     then(lambda env: (env.root / "somedir").mkdir(), "validate", "tiny", path("somedir")), words=("somedir",))
case("sub-empty", S, "an empty file", "one line: empty", sub(lambda r: []), words=("sub.csv",))
case("sub-header-only", S, "a header and no rows", "one line: 30 rows expected", sub(lambda r: r[:1]), words=("sub.csv", "30"))
case("sub-wrong-header", S, "header id,label instead of ImageId,Label", "one line naming the expected header",
     sub(lambda r: [["id", "label"]] + r[1:]), words=("sub.csv", "ImageId"))
case("sub-header-case", S, "header imageid,label", "one line naming the expected header", sub(lambda r: [["imageid", "label"]] + r[1:]), words=("ImageId",))
case("sub-columns-swapped", S, "columns Label,ImageId", "one line naming the order", sub(lambda r: [[b, a] for a, b in r]), words=("sub.csv",))
case("sub-extra-column", S, "a third column", "one line naming it", sub(lambda r: [x + ["0.9"] for x in r]), words=("sub.csv",))
case("sub-missing-row", S, "one row missing", "one line naming the missing ID", sub(lambda r: r[:-1]), words=("sub.csv", "30"))
case("sub-extra-row", S, "one row too many", "one line naming the extra ID", sub(lambda r: r + [["999", "0"]]), words=("sub.csv", "999"))
case("sub-duplicate-id", S, "an ID listed twice", "one line naming the ID and the lines", sub(lambda r: r[:-1] + [r[1]]), words=("sub.csv", "twice"))
case("sub-unknown-id", S, "an ID not in the test set", "one line naming it", sub(lambda r: r[:-1] + [["12345", "0"]]), words=("12345",))
case("sub-id-5.0", S, "ID written 5.0", "one line: IDs must match the sample byte for byte", sub(lambda r: [r[0]] + [["5.0" if x[0] == "5" else x[0], x[1]] for x in r[1:]]),
     words=("5.0",))
case("sub-id-5e0", S, "ID written 5e0", "one line naming it", sub(lambda r: [r[0]] + [["5e0" if x[0] == "5" else x[0], x[1]] for x in r[1:]]), words=("5e0",))
case("sub-id-20-digits", S, "a 20-digit ID", "one line naming it", sub(lambda r: r[:-1] + [["12345678901234567890", "0"]]), words=("12345678901234567890",))
case("sub-id-leading-zero", S, "ID written 05", "one line: written differently from the test ID 5", sub(lambda r: [r[0]] + [["05" if x[0] == "5" else x[0], x[1]] for x in r[1:]]), words=("05",))
case("sub-id-spaces", S, "IDs padded with spaces", "valid: spaces around a cell are not part of it",
     sub(lambda r: [r[0]] + [[f" {x[0]} ", x[1]] for x in r[1:]]), status=ok)
case("sub-rows-shuffled", S, "rows in another order", "valid (Kaggle joins on the ID)", sub(lambda r: [r[0]] + r[1:][::-1]), status=ok)
case("sub-label-unknown", S, "a label 42", "one line naming the row and the label set", sub(lambda r: r[:2] + [[r[2][0], "42"]] + r[3:]), words=("42",))
case("sub-label-3.0", S, "a label written 3.0", "one line: labels must be written as the competition's", sub(lambda r: r[:2] + [[r[2][0], "3.0"]] + r[3:]),
     words=("3.0",))
case("sub-label-empty", S, "an empty label", "one line naming the row", sub(lambda r: r[:2] + [[r[2][0], ""]] + r[3:]), words=("sub.csv",))
case("sub-label-text", S, "a label 'dress' where labels are numbers", "one line naming it", sub(lambda r: r[:2] + [[r[2][0], "dress"]] + r[3:]),
     words=("dress",))
case("sub-bom", S, "saved by Excel with a BOM", "valid, or one line naming the BOM",
     lambda env: env.cli("validate", "tiny", str(_bom(env.submission(env.good_rows())))), status=ok)
case("sub-crlf", S, "CRLF line ends", "valid", lambda env: env.cli("validate", "tiny", str(_crlf(env.submission(env.good_rows())))), status=ok)
case("sub-semicolons", S, "separated by semicolons", "one line: Kaggle wants commas",
     lambda env: env.cli("validate", "tiny", str(env.submission("\n".join(";".join(x) for x in env.good_rows()) + "\n"))), words=("sub.csv",))
case("sub-binary", S, "a file of random bytes", "one line naming the file",
     lambda env: env.cli("validate", "tiny", str(_bytes(env.root / "sub.csv", os.urandom(3000)))), words=("sub.csv",))
case("sub-gzip", S, "a gzipped submission", "valid (Kaggle accepts .csv.gz) or one line",
     lambda env: env.cli("validate", "tiny", str(_bytes(env.root / "sub.csv.gz", gzip.compress((env.root / "submissions/tiny/rf-pixels.csv").read_bytes())))),
     status=ok)
case("sub-huge", S, "a 27 MB file of 3 million rows", "one line: too many rows, read no further than needed",
     lambda env: env.cli("validate", "tiny", str(_big_submission(env))), words=("sub.csv",))
case("score-no-solution", S, "`score` for a competition without held-out labels", "one line: submit to score",
     then(lambda env: (env.fresh_source(), (env.root / "download2" / "solution.csv").unlink(), env.cli("fetch", "tiny2")),
          "score", "tiny2", path("submissions/tiny/rf-pixels.csv")), words=("tiny2", "submit"))
case("score-good", S, "`score` with solution.csv", "the score, joined on the ID", cli("score", "tiny", "submissions/tiny/rf-pixels.csv"), status=ok)
case("submit-no-credentials", S, "`submit` with no kaggle.json", "one line: where to put kaggle.json",
     cli("submit", "tiny", "-f", "submissions/tiny/rf-pixels.csv", "-m", "x", "--competition", "tiny-comp"), words=("kaggle.json",))
case("submit-invalid-file", S, "`submit` of an invalid file", "refused before any upload, naming the row",
     lambda env: env.cli("submit", "tiny", "-f", str(env.submission([["ImageId", "Label"], ["1", "0"]])), "-m", "x", "--competition", "tiny-comp"),
     words=("sub.csv",))
case("submit-no-slug", S, "`submit` for a competition with no Kaggle slug", "one line: set kaggle_competition or --competition",
     cli("submit", "tiny", "-f", "submissions/tiny/rf-pixels.csv", "-m", "x"), words=("kaggle_competition",))
case("submit-broken-kaggle-json", S, "a kaggle.json that is not JSON", "one line naming the file, no key shown",
     then(lambda env: _kaggle_json(env, '{"username": "u", "key": "abcdef0123456789'), "submit", "tiny", "-f", "submissions/tiny/rf-pixels.csv",
          "-m", "x", "--competition", "tiny-comp"),
     words=("kaggle.json",), check=lambda env, out, err: _assert_no_secret(out + err, "abcdef0123456789"))
case("submit-kaggle-json-no-key", S, "a kaggle.json without `key`", "one line naming the field",
     then(lambda env: _kaggle_json(env, '{"username": "u"}'), "submit", "tiny", "-f", "submissions/tiny/rf-pixels.csv", "-m", "x", "--competition", "tiny-comp"),
     words=("kaggle.json", "key"))


# ------------------------------------------------------------------------------------------------ files on disk
G = "files on disk"


def corrupt(rel_glob: str, how: str):
    def setup(env):
        matches = sorted(env.root.glob(rel_glob))
        assert matches, rel_glob
        for p in matches:
            if how == "truncate":
                p.write_bytes(p.read_bytes()[: max(1, p.stat().st_size // 2)])
            elif how == "delete":
                p.unlink()
            elif how == "flip":
                b = bytearray(p.read_bytes())
                b[-1] ^= 0xFF
                p.write_bytes(bytes(b))
            elif how == "garbage":
                p.write_text("{not json")
            elif how == "empty":
                p.write_text("")
    return setup


case("cache-array-flipped", G, "one byte of the cached train images changed", "one line: checksum, refetch",
     then(corrupt("competitions/tiny/data/full/train_images.npy", "flip"), "cv", "tiny", "--model", "logreg", "--name", "fresh"), words=("train_images.npy",))
case("cache-array-deleted", G, "the cached train images deleted", "one line: refetch",
     then(corrupt("competitions/tiny/data/full/train_images.npy", "delete"), "cv", "tiny", "--model", "logreg", "--name", "fresh"), words=("train_images.npy",))
case("cache-manifest-garbage", G, "the cache manifest replaced by garbage", "one line: refetch",
     then(corrupt("competitions/tiny/data/full/manifest.json", "garbage"), "cv", "tiny", "--model", "logreg", "--name", "fresh"), words=("manifest.json",))
case("cache-manifest-empty", G, "an empty cache manifest", "one line: refetch",
     then(corrupt("competitions/tiny/data/full/manifest.json", "empty"), "cv", "tiny", "--model", "logreg", "--name", "fresh"), words=("manifest.json",))
case("cache-refetch-repairs", G, "`fetch` after a corrupt cache", "the cache rebuilt from the competition's files, exit 0",
     then(corrupt("competitions/tiny/data/full/train_images.npy", "flip"), "fetch", "tiny"), status=ok,
     check=lambda env, out, err: _assert_in(env.cli("cv", "tiny", "--model", "logreg", "--name", "after")[1], "after"))
case("folds-file-garbage", G, "the saved folds file replaced by garbage", "one line naming it and how to rebuild",
     then(corrupt("oof/tiny/folds/*-k3-*.npz", "garbage"), "cv", "tiny", "--model", "logreg", "--name", "fresh"), words=("folds",))
case("oof-flipped-blend", G, "a byte of a run's OOF array changed", "blend refuses in one line naming the run; cv repairs it",
     then(corrupt("oof/tiny/rf-pixels/oof-*.npy", "flip"), "blend", "tiny"), words=("rf-pixels",))
case("oof-deleted-blend", G, "a complete run's OOF array deleted", "blend refuses in one line naming the run",
     then(corrupt("oof/tiny/rf-pixels/oof-*.npy", "delete"), "blend", "tiny"), words=("rf-pixels",))
case("oof-deleted-cv-repairs", G, "a complete run's OOF array deleted, then `cv` rerun", "reassembled from the fold files, exit 0",
     then(corrupt("oof/tiny/rf-pixels/oof-*.npy", "delete"), "cv", "tiny", "--model", "rf", "--params", '{"n_estimators": 20}'), status=ok,
     check=lambda env, out, err: _assert_glob(env.run_dir(), "oof-*.npy"))
case("run-manifest-garbage", G, "a run's manifest replaced by garbage", "leaderboard names the run and skips it",
     then(corrupt("oof/tiny/rf-pixels/manifest.json", "garbage"), "leaderboard", "tiny"), status=ok,
     check=lambda env, out, err: _assert_in(out + err, "rf-pixels", "logreg-pixels"))
case("run-manifest-garbage-cv", G, "a run's manifest garbage, then `cv` of that run", "one line: use --overwrite",
     then(corrupt("oof/tiny/rf-pixels/manifest.json", "garbage"), "cv", "tiny", "--model", "rf", "--params", '{"n_estimators": 20}'), words=("rf-pixels",))
case("fold-file-truncated", G, "one fold file of a complete run truncated, then `cv`", "that fold retrained, exit 0",
     then(corrupt("oof/tiny/rf-pixels/fold-1*.npz", "truncate"), "cv", "tiny", "--model", "rf", "--params", '{"n_estimators": 20}'), status=ok)
case("blend-run-deleted", G, "a blended run's folder deleted, then `predict` the blend", "the blend's own arrays still serve",
     then(lambda env: shutil.rmtree(env.run_dir("logreg-pixels")), "predict", "tiny", "--run", "blend-auto"), status=ok)
case("stale-tmp-left", G, "a .tmp folder left by a killed process", "ignored and cleaned; the run works",
     then(lambda env: (env.run_dir() / ".fold-0.abc.tmp").mkdir(), "cv", "tiny", "--model", "rf", "--params", '{"n_estimators": 20}'), status=ok)
case("lock-file-left", G, "a .lock file left by a killed process", "not a lock: the kernel released it",
     then(lambda env: (env.run_dir() / ".lock").write_text("12345"), "cv", "tiny", "--model", "rf", "--params", '{"n_estimators": 20}'), status=ok)
case("submissions-is-file", G, "submissions/tiny is a file", "one line naming it",
     then(lambda env: (shutil.rmtree(env.root / "submissions" / "tiny"), (env.root / "submissions" / "tiny").write_text("x")),
          "predict", "tiny", "--run", "rf-pixels"), words=("submissions",))
case("oof-is-file", G, "oof/tiny is a file", "one line naming it",
     then(lambda env: (shutil.rmtree(env.root / "oof" / "tiny"), (env.root / "oof" / "tiny").write_text("x")), "leaderboard", "tiny"), words=("oof",))
case("project-moved", G, "the whole project folder moved elsewhere", "everything still works (no absolute paths)", cli("leaderboard", "tiny"), status=ok)


# ------------------------------------------------------------------------------------------------ secrets
K = "secrets"


def masked(url: str, secret: str):
    def run(env):
        from kaggletk.tune import mask_url

        shown = mask_url(url)
        return (0 if secret not in shown and "***" in shown else 1), shown, ""
    return run


for i, (url, secret) in enumerate([
    ("postgresql://user:s3cret@db:5432/optuna", "s3cret"),
    ("postgresql://user:p@ss@db/optuna", "ss@db"),
    ("postgresql://user:p%40ss@db/optuna", "p%40ss"),
    ("postgresql://db/optuna?password=s3cret", "s3cret"),
    ("postgresql://db/optuna?user=u&password=s3cret&sslmode=require", "s3cret"),
    ("postgresql://db/optuna?sslpassword=s3cret", "s3cret"),
    ("postgresql+psycopg2://u:s3cret@db/optuna", "s3cret"),
    ("mysql://u:s3cret@db/optuna", "s3cret"),
    ("redis://:s3cret@cache:6379/0", "s3cret"),
    ("postgresql://u:s3cret@[::1]:5432/optuna", "s3cret"),
    ("postgresql://u:s3cret@db/optuna#frag", "s3cret"),
    ("postgresql://db/optuna?PASSWORD=s3cret", "s3cret"),
    ("postgresql://db/optuna?password=s%33cret", "s%33cret"),
    ("postgresql://db/optuna?token=s3cret", "s3cret"),
]):
    case(f"mask-url-{i + 1}", K, f"a storage URL `{url}`", "printed with the secret as ***", masked(url, secret), status=0)

case("secret-in-storage-error", K, "an unreachable storage with a password", "the error shows the URL masked",
     cli("tune", "tiny", "--model", "rf", "--trials", "1", "--storage", "postgresql://u:hunter22@127.0.0.1:9/x?password=hunter22"),
     check=lambda env, out, err: _assert_no_secret(out + err, "hunter22"))
case("secret-kaggle-key-env", K, "KAGGLE_KEY in the environment and a failing submit", "the key appears nowhere in the output",
     lambda env: _with_env({"KAGGLE_USERNAME": "u", "KAGGLE_KEY": "0123456789abcdef0123"},
                           lambda: env.cli("submit", "tiny", "-f", str(env.submission([["x"]])), "-m", "m", "--competition", "c")),
     check=lambda env, out, err: _assert_no_secret(out + err, "0123456789abcdef0123"))
case("secret-debug", K, "`--debug` with a password in --storage", "the traceback does not show it",
     lambda env: _debug_secret(env), status=1, check=lambda env, out, err: _assert_no_secret(out + err, "hunter22"))


# Cases that need a real process, a fake Kaggle server, a full disk or a race, checked by other test files:
# (area, case, expected, pytest node id). The table names each test; tests/test_red_team.py checks that it exists.
R, C, KS = "kills and resume", "concurrency", "Kaggle server faults"
ELSEWHERE: list[tuple[str, str, str, str]] = [
    (R, "`cv` SIGKILLed after a fold is trained, before its file", "rerun resumes to the same OOF, byte for byte",
     "tests/test_reliability.py::test_cv_killed_at_any_point_reruns_to_the_same_oof[fold-trained]"),
    (R, "`cv` SIGKILLed just before an atomic rename (2nd, 4th)", "rerun resumes to the same OOF",
     "tests/test_reliability.py::test_cv_killed_at_any_point_reruns_to_the_same_oof[before-rename:2]"),
    (R, "`cv` SIGKILLed between a fold file and its manifest entry", "the fold is trained again; same OOF",
     "tests/test_reliability.py::test_cv_killed_at_any_point_reruns_to_the_same_oof[fold-file-written:3]"),
    (R, "`cv` SIGKILLed between the two final arrays", "rerun reassembles them; same OOF",
     "tests/test_reliability.py::test_cv_killed_at_any_point_reruns_to_the_same_oof[between-final-arrays]"),
    (R, "a Keras fold SIGKILLed between epochs", "rerun resumes at the next epoch and ends with the same model",
     "tests/test_reliability.py::test_a_keras_fold_killed_between_epochs_resumes_at_the_next_epoch_with_the_same_model"),
    (R, "a pseudo-label run resumed after its source run was trained again", "refused in one line (its finished folds and "
     "its epoch checkpoint learned the old labels); --overwrite trains it on the new ones",
     "tests/test_pseudo.py::test_a_pseudo_run_is_not_resumed_on_labels_from_a_source_that_was_trained_again"),
    (R, "`cv` killed from outside in the middle of a fold", "rerun resumes at that fold",
     "tests/test_reliability.py::test_cv_killed_mid_fold_from_outside_resumes"),
    (R, "`blend` killed while writing", "the previous blend stays whole and usable",
     "tests/test_reliability.py::test_blend_killed_keeps_its_previous_result_whole"),
    (R, "`fetch` killed between its two folder renames", "the old cache is put back on the next read",
     "tests/test_reliability.py::test_fetch_killed_between_renames_keeps_the_old_cache"),
    (R, "a full disk while writing a run", "one line, nothing half-written kept",
     "tests/test_reliability.py::test_a_full_disk_gives_a_clear_error_and_keeps_what_was_written"),
    (R, "a read-only output folder", "one line naming the folder",
     "tests/test_reliability.py::test_a_read_only_output_folder_gives_a_clear_error"),
    (R, "`--debug` and plain errors", "the traceback only with --debug",
     "tests/test_reliability.py::test_debug_shows_the_traceback_and_plain_errors_do_not"),
    (R, "credentials in the environment during a whole flow", "never in any file or output",
     "tests/test_reliability.py::test_credentials_never_reach_any_file_or_output"),
    (C, "two processes racing for a folder lock", "exactly one holds it",
     "tests/test_concurrency.py::test_the_lock_admits_one_writer_in_races"),
    (C, "a busy lock; a dead holder's lock", "the busy one names its holder; a dead one is free at once",
     "tests/test_concurrency.py::test_a_busy_lock_names_its_holder_and_a_dead_ones_is_free_at_once"),
    (C, "two `fetch` at once on a cold cache", "one whole cache, both succeed",
     "tests/test_concurrency.py::test_two_fetches_at_once_leave_one_whole_cache"),
    (C, "two `cv` processes on one run", "never both write it; the second is refused naming the first",
     "tests/test_concurrency.py::test_two_cv_processes_on_one_run_never_both_write_it"),
    (C, "two runs of one competition side by side on a cold cache", "both work",
     "tests/test_reliability.py::test_two_runs_of_one_competition_work_side_by_side"),
    (C, "a cache changed in place (images inverted)", "one line naming the file",
     "tests/test_concurrency.py::test_a_changed_cache_is_refused_in_one_line"),
    (C, "a corrupt final OOF array", "rerunning `cv` reassembles it from the fold files",
     "tests/test_concurrency.py::test_rerunning_cv_repairs_a_corrupt_final_array_from_its_fold_files"),
    (C, "umask 022, 002, 077", "files and folders follow the umask",
     "tests/test_concurrency.py::test_written_files_follow_the_umask"),
    (C, "storage URLs with passwords in every form", "never printed",
     "tests/test_concurrency.py::test_storage_passwords_are_never_printed"),
    (KS, "the reply lost after Kaggle created the submission", "found in the list, not submitted again",
     "tests/test_kaggle_faults.py::test_a_reply_lost_after_the_create_is_found_in_the_list_and_not_submitted_again"),
    (KS, "a 5xx on create, not in the list", "tried once more, one submission",
     "tests/test_kaggle_faults.py::test_a_create_answered_with_5xx_and_not_listed_is_tried_once_more"),
    (KS, "a create that times out and is not listed", "not repeated; one line",
     "tests/test_kaggle_faults.py::test_a_create_that_times_out_and_is_not_listed_is_not_repeated"),
    (KS, "5xx before the create", "retried, one submission",
     "tests/test_kaggle_faults.py::test_5xx_before_the_create_is_retried_and_makes_one_submission"),
    (KS, "a stalled server", "submit ends at the time limit with one line",
     "tests/test_kaggle_faults.py::test_a_stalled_server_ends_submit_at_the_time_limit_with_one_line"),
    (KS, "a slow download", "arrives, with progress in bytes",
     "tests/test_kaggle_faults.py::test_a_slow_download_arrives_with_progress_in_bytes"),
    (KS, "a download broken midway", "retried, and the retry is told",
     "tests/test_kaggle_faults.py::test_a_download_broken_midway_is_retried_and_the_retry_is_told"),
    (KS, "a damaged download", "named as the competition calls the file",
     "tests/test_kaggle_faults.py::test_a_damaged_download_is_named_as_the_competition_calls_it"),
    (KS, "a broken kaggle.json", "named as there and broken",
     "tests/test_kaggle_faults.py::test_a_broken_kaggle_json_is_named_as_there_and_broken"),
    (KS, "every fault mode", "no output or file ever holds the key",
     "tests/test_kaggle_faults.py::test_no_output_or_file_ever_holds_the_key"),
]
