"""Checks of a checkpoint folder before anything is allocated: config fields, JSON size, weights header.

:func:`tinyts.models.base.load` reads untrusted files. A ``config.json`` decides how large a model is
built, so a typo (``"num_layers": 10000000``) or a hostile file could otherwise exhaust the memory
before the weights are ever looked at. The checks here run first, in this order:

1. :func:`read_json_capped`: the file is at most :data:`MAX_CONFIG_BYTES` and nested at most
   :data:`MAX_JSON_DEPTH` levels;
2. :func:`check_fields`: every field has the right JSON type and lies within generous bounds
   (:data:`FIELD_RULES`; the bundled ``tinycast-base``, 21.7M parameters, is far inside them), including
   the pruning record of a compressed model;
3. :func:`read_safetensors_header`: the 8-byte length and JSON header of ``model.safetensors`` (capped
   at :data:`MAX_HEADER_BYTES`; no tensor is read) must describe tensors that fit in the file;
4. :func:`expected_tensors` builds the model on the ``meta`` device (no memory for parameters) and
   :func:`compare_tensors` demands the same tensor names, shapes and dtype kinds as the header.

Only then is the real model built and the weights read (with safetensors). Every failure is a
:class:`~tinyts.models.base.CheckpointError` that says what is wrong and what to do.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import struct
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch.overrides import TorchFunctionMode

from tinyts.models.base import MODEL_TYPES, CheckpointError

__all__ = [
    "FIELD_RULES",
    "MAX_CONFIG_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_JSON_DEPTH",
    "TensorSpec",
    "check_fields",
    "compare_tensors",
    "expected_tensors",
    "read_json_capped",
    "read_safetensors_header",
]

#: largest ``config.json`` accepted (a pruned tinycast-base config is about 20 kB)
MAX_CONFIG_BYTES = 1 << 20
#: deepest nesting of JSON objects / lists accepted (a classifier's pruned backbone needs 5)
MAX_JSON_DEPTH = 16
#: largest safetensors JSON header accepted (about 100 bytes per tensor: ~160,000 tensors)
MAX_HEADER_BYTES = 1 << 24

# Bounds of the size fields. They keep the meta-device build cheap (a bounded number of layers) and
# every product of sizes far from int64 overflow; the weights header then decides the real size.
MAX_CONTEXT = 1 << 20
MAX_WIDTH = 1 << 16
MAX_LAYERS = 256
MAX_HEADS = 1024
MAX_CHANNELS = 4096
MAX_RATIO = 64.0
MAX_LABELS = 1 << 16
MAX_LABEL_CHARS = 1000
MAX_PRUNED_LAYERS = 4096
MAX_PATH_CHARS = 300

_DTYPE_KIND = {
    "F64": "float",
    "F32": "float",
    "F16": "float",
    "BF16": "float",
    "F8_E4M3": "float",
    "F8_E5M2": "float",
    "I64": "int",
    "I32": "int",
    "I16": "int",
    "I8": "int",
    "U64": "int",
    "U32": "int",
    "U16": "int",
    "U8": "int",
    "BOOL": "bool",
}
_DTYPE_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U64": 8,
    "U32": 4,
    "U16": 2,
    "U8": 1,
    "BOOL": 1,
}


# ---------------------------------------------------------------------------------------------- JSON
def read_json_capped(path: Path, what: str, max_bytes: int = MAX_CONFIG_BYTES) -> Any:
    """Parse a JSON file of at most ``max_bytes`` bytes and :data:`MAX_JSON_DEPTH` levels.

    Parameters
    ----------
    path : Path
        The file.
    what : str
        How to name the file in messages.
    max_bytes : int
        Size limit.

    Returns
    -------
    Any
        The parsed value.

    Raises
    ------
    CheckpointError
        Too large, not UTF-8, not valid JSON, or nested too deeply.
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise CheckpointError(
            f"{what} is {size:,} bytes, more than the {max_bytes:,} a tinyts config can need; "
            "the file is not a tinyts config (restore the one saved with the weights)"
        )
    return parse_json_capped(path.read_bytes(), what)


def parse_json_capped(data: bytes, what: str, max_depth: int | None = MAX_JSON_DEPTH) -> Any:
    """Parse JSON bytes, refusing nesting deeper than ``max_depth`` (None: only Python's recursion limit)."""
    try:
        value = json.loads(data.decode("utf-8"))
    except RecursionError as exc:
        raise _too_deep(what) from exc
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, int digit limit, bad UTF-8
        raise CheckpointError(f"{what} is not valid JSON ({exc}); the checkpoint is corrupt") from exc
    if max_depth is not None and _depth(value) > max_depth:
        raise _too_deep(what)
    return value


def _too_deep(what: str) -> CheckpointError:
    return CheckpointError(
        f"{what} is nested too deeply (a tinyts checkpoint needs at most {MAX_JSON_DEPTH} levels); "
        "the file is corrupt or not a tinyts checkpoint (restore the one saved with the weights)"
    )


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative: no recursion limit)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item)
    return deepest


# ---------------------------------------------------------------------------------------------- fields
class Int(NamedTuple):
    """An integer (not a bool) in ``[lo, hi]``."""

    lo: int
    hi: int

    def problem(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer in [{self.lo}, {self.hi}], got {_show(value)}"
        if not self.lo <= value <= self.hi:
            return f"must be in [{self.lo}, {self.hi}], got {_show(value)}"
        return None


class Float(NamedTuple):
    """A finite number in ``[lo, hi]`` (``lo_open`` / ``hi_open``: the bound itself excluded)."""

    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False

    def problem(self, value: Any) -> str | None:
        left, right = "(" if self.lo_open else "[", ")" if self.hi_open else "]"
        wanted = f"a finite number in {left}{self.lo:g}, {self.hi:g}{right}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be {wanted}, got {_show(value)}"
        try:
            v = float(value)
        except OverflowError:  # an integer of hundreds of digits
            return f"must be {wanted}, got an integer of {len(str(value))} digits"
        ok = (
            math.isfinite(v)
            and (v > self.lo if self.lo_open else v >= self.lo)
            and (v < self.hi if self.hi_open else v <= self.hi)
        )
        return None if ok else f"must be {wanted}, got {_show(value)}"


class Bool(NamedTuple):
    """``true`` or ``false``."""

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else f"must be true or false, got {_show(value)}"


class Choice(NamedTuple):
    """One of a few strings."""

    values: tuple[str, ...]

    def problem(self, value: Any) -> str | None:
        if isinstance(value, str) and value in self.values:
            return None
        return f"must be one of {list(self.values)}, got {_show(value)}"


class Levels(NamedTuple):
    """A list of ``1 .. 99`` numbers strictly inside ``(0, 1)`` (quantile levels)."""

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, list) or not 1 <= len(value) <= 99:
            return f"must be a list of 1 to 99 quantile levels, got {_show(value)}"
        level = Float(0.0, 1.0, lo_open=True, hi_open=True)
        for v in value:
            if level.problem(v):
                return f"must hold quantile levels in (0, 1), got {_show(v)}"
        return None


class Labels(NamedTuple):
    """Class labels: a list of 2 .. :data:`MAX_LABELS` strings or integers."""

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, list) or not 2 <= len(value) <= MAX_LABELS:
            return f"must be a list of 2 to {MAX_LABELS} class labels, got {_show(value)}"
        for v in value:
            text = isinstance(v, str) and len(v) <= MAX_LABEL_CHARS
            if not text and (isinstance(v, bool) or not isinstance(v, int)):
                return f"must hold strings (at most {MAX_LABEL_CHARS} characters) or integers, got {_show(v)}"
        return None


class Nested(NamedTuple):
    """A JSON object holding the config fields of another model type (a classifier's backbone)."""

    model_type: str

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"must be an object of {self.model_type} config fields, got {_show(value)}"
        cls = MODEL_TYPES.get(self.model_type)
        config_class = getattr(cls, "config_class", None)
        if dataclasses.is_dataclass(config_class):
            unknown = set(value) - {f.name for f in dataclasses.fields(config_class)}
            if unknown:
                return f"has unknown {self.model_type} fields {sorted(unknown)[:5]}"
        problems = field_problems(self.model_type, value, config_class)
        return "; ".join(problems) if problems else None


class Pruning(NamedTuple):
    """``null`` or the pruned shapes written by :mod:`tinyts.compress` (see ``compress.structure``)."""

    def problem(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            return f"must be null or a pruning record (an object), got {_show(value)}"
        extra = set(value) - {"version", "linears", "attention"}
        if extra:
            return f"has unknown keys {sorted(extra)} (expected version, linears, attention)"
        version = Int(1, 1 << 20).problem(value.get("version"))
        if version:
            return f"version {version}"
        size, flag = Int(0, MAX_CONTEXT), Bool()
        linear_keys: dict[str, Int | Bool] = {
            "in_features": size,
            "out_features": size,
            "n_in": size,
            "n_out": size,
            "bias": flag,
            "gather": flag,
            "scatter": flag,
        }
        width = Int(0, MAX_WIDTH)
        attention_keys: dict[str, Int | Bool] = {
            "heads": Int(1, MAX_HEADS),
            "qk_width": width,
            "v_width": width,
        }
        for part, keys in (("linears", linear_keys), ("attention", attention_keys)):
            records = value.get(part, {})
            if not isinstance(records, dict) or len(records) > MAX_PRUNED_LAYERS:
                return f"{part} must be an object of at most {MAX_PRUNED_LAYERS} layers, got {_show(records)}"
            for path, rec in records.items():
                if len(path) > MAX_PATH_CHARS:
                    return f"{part} names a layer path longer than {MAX_PATH_CHARS} characters"
                if not isinstance(rec, dict) or set(rec) != set(keys):
                    return f"{part}[{path!r}] must be an object with exactly the keys {sorted(keys)}"
                for key, rule in keys.items():
                    bad = rule.problem(rec[key])
                    if bad:
                        return f"{part}[{path!r}].{key} {bad}"
        return None


Rule = Int | Float | Bool | Choice | Levels | Labels | Nested | Pruning

_RATIO = Float(0.0, 1.0, hi_open=True)  # dropout
_POSITIVE = Float(0.0, 1e6, lo_open=True)  # small scales, clips, bases

#: model_type -> config field -> rule (fields not listed fall back to their annotated type)
FIELD_RULES: dict[str, dict[str, Rule]] = {
    "tinypulse": {
        "context_length": Int(2, MAX_CONTEXT),
        "patch_length": Int(1, MAX_CONTEXT),
        "fft_patch_length": Int(1, MAX_CONTEXT),
        "d_model": Int(1, MAX_WIDTH),
        "num_layers": Int(1, MAX_LAYERS),
        "decoder_layers": Int(0, MAX_LAYERS),
        "num_registers": Int(1, MAX_WIDTH),
        "register_decoder_layers": Int(0, MAX_LAYERS),
        "expansion": Float(0.0, MAX_RATIO, lo_open=True),
        "dropout": _RATIO,
        "forecast_length": Int(1, MAX_CONTEXT),
        "min_var": _POSITIVE,
        "gated": Bool(),
        "channel_mixing": Int(0, MAX_CHANNELS),
        "activation": Choice(("gelu", "gelu_tanh", "relu")),
        "fill": Choice(("linear", "token")),
        "pruning": Pruning(),
    },
    "tinycast": {
        "context_length": Int(1, MAX_CONTEXT),
        "patch_length": Int(1, MAX_CONTEXT),
        "d_model": Int(2, MAX_WIDTH),
        "num_layers": Int(1, MAX_LAYERS),
        "num_heads": Int(1, MAX_HEADS),
        "mlp_ratio": Float(0.0, MAX_RATIO, lo_open=True),
        "feature_every": Int(0, MAX_LAYERS),
        "quantiles": Levels(),
        "coarse_block": Int(1, MAX_CONTEXT),
        "coarse_horizon": Int(0, MAX_CONTEXT),
        "norm": Choice(("dart", "instance")),
        "min_std": _POSITIVE,
        "rel_min_std": Float(0.0, 1.0),
        "input_clip": _POSITIVE,
        "dropout": _RATIO,
        "rope_base": Float(1.0, 1e12, lo_open=True),
        "pruning": Pruning(),
    },
    "tinylinear": {
        "context_length": Int(1, MAX_CONTEXT),
        "horizon": Int(1, MAX_CONTEXT),
        "hidden": Int(0, MAX_WIDTH),
        "dropout": _RATIO,
        "min_std": _POSITIVE,
        "linear": Bool(),
    },
    "tinypulse_classifier": {
        "pulse": Nested("tinypulse"),
        "n_channels": Int(1, MAX_CHANNELS),
        "classes": Labels(),
        "pooling": Choice(("lens", "flat", "avg", "max")),
        "reduce_dim": Int(1, MAX_WIDTH),
        "head_dropout": _RATIO,
    },
}

_FALLBACK: dict[str, Rule] = {
    "int": Int(-(1 << 31), 1 << 31),
    "float": Float(-1e30, 1e30),
    "bool": Bool(),
}


def field_problems(model_type: str, raw: dict[str, Any], config_class: Any = None) -> list[str]:
    """Every field of ``raw`` that breaks its rule, as ``"name must ..."`` phrases.

    Fields without a rule in :data:`FIELD_RULES` are checked against the annotation of
    ``config_class`` (``int``, ``float``, ``bool``; other annotations are not checked here).
    """
    rules = FIELD_RULES.get(model_type, {})
    hints: dict[str, str] = {}
    if config_class is not None and dataclasses.is_dataclass(config_class):
        for f in dataclasses.fields(config_class):
            hints[f.name] = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
    problems = []
    for name, value in raw.items():
        rule = rules[name] if name in rules else _FALLBACK.get(hints.get(name, ""))
        bad = rule.problem(value) if rule is not None else None
        if bad:
            problems.append(f"{name} {bad}")
    return problems


def check_fields(model_type: str, raw: dict[str, Any], config_class: Any, where: Path) -> None:
    """Raise :class:`CheckpointError` listing every config field of the wrong type or out of bounds."""
    problems = field_problems(model_type, raw, config_class)
    if problems:
        raise CheckpointError(
            f"{where}: invalid config: {'; '.join(problems)}. Restore the config.json saved with these "
            "weights (save_pretrained writes a valid one), or correct the fields listed"
        )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------------- weights
class TensorSpec(NamedTuple):
    """Name-independent description of one tensor: its shape and dtype kind (float / int / bool)."""

    shape: tuple[int, ...]
    kind: str


def read_safetensors_header(path: Path) -> dict[str, TensorSpec]:
    """The tensors listed in a ``.safetensors`` header, checked against the file size; no data is read.

    Parameters
    ----------
    path : Path
        A safetensors file.

    Returns
    -------
    dict
        Tensor name -> :class:`TensorSpec`.

    Raises
    ------
    CheckpointError
        The header is missing, larger than :data:`MAX_HEADER_BYTES`, not valid JSON, or describes
        tensors that do not fit in the file (a corrupt or truncated file).
    """
    corrupt = f"{path} could not be read ({{}}); the file is corrupt or truncated"
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise CheckpointError(corrupt.format(f"{size} bytes, shorter than a safetensors header"))
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER_BYTES or 8 + n > size:
                raise CheckpointError(
                    corrupt.format(f"header length {n:,} bytes in a file of {size:,} bytes")
                )
            raw = fh.read(n)
    except OSError as exc:
        raise CheckpointError(corrupt.format(exc)) from exc
    header = parse_json_capped(raw, f"the header of {path}", max_depth=None)
    if not isinstance(header, dict):
        raise CheckpointError(corrupt.format("the header is not a JSON object"))
    data_size = size - 8 - n
    specs: dict[str, TensorSpec] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        spec = _entry_spec(entry, data_size)
        if spec is None:
            raise CheckpointError(corrupt.format(f"bad header entry for tensor {_show(name)}"))
        specs[name] = spec
    return specs


def _entry_spec(entry: Any, data_size: int) -> TensorSpec | None:
    """The spec of one header entry, or None when it is malformed or points outside the data."""
    if not isinstance(entry, dict):
        return None
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in _DTYPE_KIND or not isinstance(shape, list) or not isinstance(offsets, list):
        return None
    if any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in shape):
        return None
    if len(offsets) != 2 or any(isinstance(o, bool) or not isinstance(o, int) for o in offsets):
        return None
    start, end = offsets
    if not 0 <= start <= end <= data_size or end - start != math.prod(shape) * _DTYPE_BYTES[dtype]:
        return None
    return TensorSpec(tuple(shape), _DTYPE_KIND[dtype])


#: in-place initialisers: on meta tensors (no data) they do nothing but cost Python-level dispatch
_INIT_OPS = frozenset(
    {
        "uniform_",
        "normal_",
        "zero_",
        "fill_",
        "copy_",
        "constant_",
        "ones_",
        "zeros_",
        "eye_",
        "kaiming_uniform_",
        "kaiming_normal_",
        "xavier_uniform_",
        "xavier_normal_",
        "trunc_normal_",
        "orthogonal_",
        "__setitem__",
    }
)


#: elementwise arithmetic of model constructors (``randn(...) * 0.1``, rotary frequencies): on meta
#: tensors torch runs these through Python reference kernels whose first use imports ``torch._dynamo``
#: (3 s); their result is just a broadcast shape and a promoted dtype
_ARITHMETIC = frozenset(
    {
        "add",
        "sub",
        "mul",
        "div",
        "neg",
        "pow",
        "__add__",
        "__radd__",
        "__sub__",
        "__rsub__",
        "__mul__",
        "__rmul__",
        "__truediv__",
        "__rtruediv__",
        "__neg__",
        "__pow__",
        "__rpow__",
    }
)


class _MetaBuild(TorchFunctionMode):
    """Inside ``torch.device("meta")``: skip in-place initialisers and shortcut elementwise arithmetic.

    Both only touch meta tensors (no data), so the built model has exactly the parameter and buffer
    shapes of a real build; this keeps a meta build about as cheap as the Python cost of its modules.
    """

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in _INIT_OPS:
            target = args[0] if args else next(iter(kwargs.values()), None)
            if isinstance(target, torch.Tensor) and target.is_meta:
                return None if name == "__setitem__" else target
        elif name in _ARITHMETIC and not kwargs:
            out = _meta_arithmetic(name, args)
            if out is not None:
                return out
        elif name in ("arange", "eye") or name in _FACTORIES:
            if name == "arange":
                out = _meta_arange(args, kwargs)
            else:
                out = _meta_eye(args, kwargs) if name == "eye" else _meta_factory(name, args, kwargs)
            if out is not None:
                return out
        return func(*args, **kwargs)


#: tensor factories whose meta versions run Python reference kernels (``randn`` imports sympy: 1.5 s)
_FACTORIES = frozenset({"empty", "zeros", "ones", "randn", "rand", "full"})


def _on_meta(kwargs: dict[str, Any], allowed: set[str]) -> bool:
    """True when a factory call has only ``allowed`` keywords and asks for no device or meta."""
    return not set(kwargs) - allowed and kwargs.get("device") in (None, "meta", torch.device("meta"))


def _meta_factory(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor | None:
    """``zeros`` / ``randn`` / ... on the meta device as a plain ``torch.empty`` (None: not handled)."""
    if not _on_meta(kwargs, {"dtype", "device", "requires_grad", "generator"}):
        return None
    if name == "full":
        if len(args) != 2 or "dtype" not in kwargs:  # full infers its dtype from the fill value
            return None
        args = args[:1]
    size = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list, torch.Size)) else args
    if any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in size):
        return None
    dtype = kwargs.get("dtype") or torch.get_default_dtype()
    return torch.empty(
        tuple(size), dtype=dtype, device="meta", requires_grad=bool(kwargs.get("requires_grad", False))
    )


def _meta_eye(args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor | None:
    """``torch.eye`` on the meta device without its Python kernel (None: not handled)."""
    if not _on_meta(kwargs, {"dtype", "device"}):
        return None
    if not 1 <= len(args) <= 2 or any(isinstance(a, bool) or not isinstance(a, int) or a < 0 for a in args):
        return None
    dtype = kwargs.get("dtype") or torch.get_default_dtype()
    return torch.empty(args[0], args[-1], dtype=dtype, device="meta")


def _meta_arange(args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor | None:
    """``torch.arange`` on the meta device without its Python kernel (None: not handled)."""
    if not _on_meta(kwargs, {"dtype", "device"}):
        return None
    if not 1 <= len(args) <= 3 or any(isinstance(a, bool) or not isinstance(a, (int, float)) for a in args):
        return None
    start, end, step = (0, args[0], 1) if len(args) == 1 else (*args[:2], args[2] if len(args) == 3 else 1)
    if step == 0:
        return None
    dtype = kwargs.get("dtype") or (
        torch.int64 if all(isinstance(a, int) for a in args) else torch.get_default_dtype()
    )
    return torch.empty(max(0, math.ceil((end - start) / step)), dtype=dtype, device="meta")


def _broadcast(shapes: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    """NumPy broadcasting of ``shapes`` (None: incompatible); ``torch.broadcast_shapes`` imports sympy."""
    out: list[int] = []
    for dims in itertools.zip_longest(*(s[::-1] for s in shapes), fillvalue=1):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return tuple(out[::-1])


def _meta_arithmetic(name: str, args: tuple[Any, ...]) -> torch.Tensor | None:
    """The meta result of an elementwise op on meta tensors and Python numbers (None: not handled)."""
    if not 1 <= len(args) <= 2 or not any(isinstance(a, torch.Tensor) for a in args):
        return None
    for a in args:
        ok = (isinstance(a, torch.Tensor) and a.is_meta) or (
            isinstance(a, (int, float)) and not isinstance(a, bool)
        )
        if not ok:
            return None
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    shape = _broadcast([tuple(t.shape) for t in tensors])
    if shape is None:
        return None
    dtype = tensors[0].dtype if len(args) == 1 else torch.result_type(args[0], args[1])
    if name in ("div", "__truediv__", "__rtruediv__") and not dtype.is_floating_point:
        dtype = torch.get_default_dtype()
    return torch.empty(shape, dtype=dtype, device="meta")


def expected_tensors(cls: Any, config: Any) -> dict[str, TensorSpec]:
    """The state-dict tensors of ``cls(config)``, found by building it on the ``meta`` device.

    Nothing is allocated for the parameters and no random number is drawn (initialisers are skipped),
    so this is cheap for any config within :data:`FIELD_RULES`: about the Python cost of building the
    modules (256 layers, the largest count allowed: under a second). The last few results are cached.

    Raises
    ------
    CheckpointError
        The config cannot be built (e.g. a pruning record that names layers the model does not have).
    """
    key = (cls, json.dumps(dataclasses.asdict(config), sort_keys=True, default=repr))
    if key in _EXPECTED:
        return dict(_EXPECTED[key])
    try:
        with torch.device("meta"), _MetaBuild():
            model = cls(config)
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        RuntimeError,
        ArithmeticError,
    ) as exc:
        raise CheckpointError(f"the config describes no buildable {cls.__name__} ({exc})") from exc
    specs = {name: TensorSpec(tuple(t.shape), _torch_kind(t.dtype)) for name, t in model.state_dict().items()}
    if len(_EXPECTED) >= _EXPECTED_SIZE:
        _EXPECTED.pop(next(iter(_EXPECTED)))
    _EXPECTED[key] = specs
    return dict(specs)


#: expected tensors of recently loaded configs (a config is a value: its meta build never changes)
_EXPECTED: dict[tuple[Any, str], dict[str, TensorSpec]] = {}
_EXPECTED_SIZE = 32


def _torch_kind(dtype: torch.dtype) -> str:
    if dtype == torch.bool:
        return "bool"
    return "float" if dtype.is_floating_point else "int"


def compare_tensors(expected: dict[str, TensorSpec], found: dict[str, TensorSpec], where: str) -> None:
    """Raise :class:`CheckpointError` unless the weights hold exactly the tensors the config describes.

    Parameters
    ----------
    expected : dict
        From :func:`expected_tensors`.
    found : dict
        From :func:`read_safetensors_header`.
    where : str
        ``"<weights> does not match <config>"``, the start of the message.
    """
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong = [
        f"{k}: config {list(expected[k].shape)} {expected[k].kind}, weights {list(found[k].shape)} "
        f"{found[k].kind}"
        for k in sorted(set(expected) & set(found))
        if expected[k] != found[k]
    ]
    if not (missing or unexpected or wrong):
        return
    n_exp = sum(math.prod(s.shape) for s in expected.values())
    n_found = sum(math.prod(s.shape) for s in found.values())
    parts = [
        f"the config describes {n_exp:,} values in {len(expected)} tensors, the weights hold "
        f"{n_found:,} in {len(found)}"
    ]
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape or dtype", wrong)):
        if items:
            more = f" and {len(items) - 3} more" if len(items) > 3 else ""
            parts.append(f"{label}: {', '.join(items[:3])}{more}")
    raise CheckpointError(
        f"{where}: {'; '.join(parts)}. The config.json does not belong to these weights: restore the one "
        "saved with them (save_pretrained writes both)"
    )
