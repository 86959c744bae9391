"""``--params``: a JSON object, a JSON file, or ``tuned`` (the tuning result saved for the model)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaggletk.errors import KaggletkError
from kaggletk.workspace import Workspace, workspace


@dataclass(frozen=True)
class ParamSpec:
    params: dict[str, Any]
    source: str  # "default", "json", a file path, or "tuned"
    view: str | None = None  # the view the tuned params were found for


def _file_name(model: str, variant: str) -> str:
    return f"{model}.json" if variant == "full" else f"{model}.{variant}.json"


def shipped_tuned_path(comp: str, model: str, ws: Workspace | None = None, variant: str = "full") -> Path:
    """``competitions/<comp>/tuned/<model>.json``: tuned params a project ships (committed; kaggletk never writes it)."""
    return (ws or workspace()).competition_dir(comp) / "tuned" / _file_name(model, variant)


def user_tuned_path(comp: str, model: str, ws: Workspace | None = None, variant: str = "full") -> Path:
    """``oof/<comp>/tuned/<model>[.sample].json``: where ``kaggletk tune`` saves the best params it found."""
    return (ws or workspace()).comp_oof_dir(comp) / "tuned" / _file_name(model, variant)


def tuned_path(comp: str, model: str, ws: Workspace | None = None, variant: str = "full") -> Path:
    """The tuned params ``--params tuned`` reads: your own tuning's when there is one, else the shipped file."""
    own = user_tuned_path(comp, model, ws, variant)
    return own if own.exists() else shipped_tuned_path(comp, model, ws, variant)


# Bounds on what --params may hold: a model has tens of parameters, not thousands, and no value nests deeply.
MAX_PARAMS = 200
MAX_DEPTH = 8
MAX_BYTES = 1 << 20


def _bounded(params: dict[str, Any], where: str) -> dict[str, Any]:
    if len(params) > MAX_PARAMS:
        raise KaggletkError(f"{where}: {len(params)} parameters; a model takes at most {MAX_PARAMS}, check the file")

    def depth(value: Any, level: int) -> None:
        if level > MAX_DEPTH:
            raise KaggletkError(f"{where}: a value nests more than {MAX_DEPTH} levels deep; parameters are numbers, "
                                "strings, lists or small objects")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for child in children:
            depth(child, level + 1)

    depth(params, 1)
    bad = [k for k in params if not isinstance(k, str) or not k]
    if bad:
        raise KaggletkError(f"{where}: parameter names must be non-empty strings")
    return params


def _loads(text: str, where: str) -> Any:
    if len(text) > MAX_BYTES:
        raise KaggletkError(f"{where}: {len(text):,} bytes of parameters, more than the {MAX_BYTES:,} allowed; "
                            "--params takes a small JSON object of model parameters")
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise KaggletkError(f"{where}: JSON nested too deeply; parameters are numbers, strings, lists or small objects") from exc


def parse_params(spec: str | dict | None, comp: str, model: str, ws: Workspace | None = None, variant: str = "full") -> ParamSpec:
    """Turn a ``--params`` value into a dict of parameter overrides (``tuned``: the file for this data variant)."""
    spec = _parse(spec, comp, model, ws, variant)
    _bounded(spec.params, "--params" if spec.source in ("json", "default") else spec.source)
    return spec


def _parse(spec: str | dict | None, comp: str, model: str, ws: Workspace | None, variant: str) -> ParamSpec:
    if spec is None or spec == "":
        return ParamSpec({}, "default")
    if isinstance(spec, dict):
        return ParamSpec(dict(spec), "json")
    if spec == "tuned":
        path = tuned_path(comp, model, ws, variant)
        if not path.exists():
            data = "" if variant == "full" else f" --data {variant}"
            raise KaggletkError(f"--params tuned: no tuned params for {model} on the {variant} data "
                                f"({user_tuned_path(comp, model, ws, variant)} or {path}); run "
                                f"`kaggletk tune {comp} --model {model}{data}` first")
        data = _load_json_file(path)
        if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
            raise KaggletkError(f"{path}: field 'params' must be a JSON object; rerun `kaggletk tune {comp} --model {model}`")
        return ParamSpec(data["params"], "tuned", data.get("view"))
    text = spec.strip()
    if not text.startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise KaggletkError(f"--params {spec!r}: neither a JSON object nor a file; pass e.g. '{{\"max_depth\": 8}}' or a .json file")
        data = _load_json_file(path)
        if not isinstance(data, dict):
            raise KaggletkError(f"{path}: must hold a JSON object of parameters, e.g. {{\"max_depth\": 8}}")
        return ParamSpec(data.get("params", data) if isinstance(data.get("params"), dict) else data, str(path))
    try:
        data = _loads(text, "--params")
    except json.JSONDecodeError as exc:
        raise KaggletkError(f"--params: not valid JSON ({exc.msg} at character {exc.pos}); pass e.g. '{{\"max_depth\": 8}}'") from exc
    if not isinstance(data, dict):
        raise KaggletkError("--params: must be a JSON object, e.g. '{\"max_depth\": 8}'")
    return ParamSpec(data, "json")


def _load_json_file(path: Path) -> Any:
    try:
        return _loads(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError as exc:
        raise KaggletkError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 JSON") from exc
    except IsADirectoryError as exc:
        raise KaggletkError(f"{path}: is a folder; --params takes a JSON object or a .json file") from exc
    except json.JSONDecodeError as exc:
        raise KaggletkError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); fix the file") from exc
    except OSError as exc:
        raise KaggletkError(f"{path}: cannot read ({exc.strerror})") from exc
