"""Inspect a torch.export archive (.pt2) before torch reads any of it, and check what it loaded.

``torch.export.load`` trusts its input. Four ways a crafted archive runs the uploader's code inside
it (torch 2.13), each closed here before torch sees the file:

1. **Pickled payloads.** A weight or constant whose config entry says ``"use_pickle": true`` goes
   through ``torch.load(weights_only=False)``; an ``opaque_obj_*`` constant through plain
   ``pickle.loads``; a ``custom_obj_*`` one through TorchScript's unpickler; legacy
   ``data/weights/<model>.pt`` / ``data/constants/<model>.pt`` members and the sample inputs fall
   back to a full unpickle when the safe one fails. Refused: any ``use_pickle`` entry, any member
   outside the layout ``torch.export.save`` writes for plain tensors (so no ``opaque_obj_``,
   ``custom_obj_``, legacy ``.pt``, AOTInductor ``.so`` or ExecuTorch member), and sample inputs
   that the weights-only unpickler cannot read.
2. **Graph targets.** A node's ``target`` string is resolved by attribute lookup from ``torch``,
   ``operator`` or ``math``: ``"torch.os.system"`` becomes ``os.system`` and runs when the model
   does. Only ATen/prims operators, a few control-flow operators and symbolic-shape arithmetic pass.
3. **Shape expressions.** Every ``expr_str`` is parsed with ``sympy.sympify``, which ``eval``s it.
   Only arithmetic over shape symbols and torch's sympy functions passes (no attributes, no
   subscripts, no strings but symbol names).
4. **Generated Python.** ``ExportedProgram.module()`` ``exec``s the archive's ``guards_code``, and
   torch.fx writes node metadata (stack traces, annotations) and attribute names into the Python
   source it compiles for every graph: a newline or quote in them is code. The archive handed to
   torch is rewritten without guards and node metadata, and every attribute name must be a dotted
   identifier. One piece of metadata is kept, rewritten: each node's module stack (which original
   submodule ran it), so ``torch.export.unflatten`` can rebuild the module tree with the original
   names; its paths and type names must be dotted names and its keys are rebuilt from them.
5. **Sizes.** A tensor with an empty record is allocated at its declared size: declared sizes and
   the archive's uncompressed size are held to a budget before anything is read.

After loading, the graph is checked again node by node, and weights must be real numbers
(no complex or 8-bit float types) and finite.
"""

from __future__ import annotations

import io
import json
import logging
import math
import operator
import re
import threading
import warnings
import zipfile
from contextlib import contextmanager

import torch

from interp_core.errors import ModelFileError
from interp_core.safejson import load_json_limited

MAX_MEMBERS = 20_000
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_JSON_DEPTH = 256
MAX_EXPR_CHARS = 4_000

_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
# Every member torch.export.save writes for a program of plain tensors (paths below the archive root).
ALLOWED_MEMBERS = [re.compile(pattern + r"\Z") for pattern in (
    r"archive_format", r"archive_version", r"byteorder", r"\.data/version", r"\.data/serialization_id",
    rf"models/{_NAME}\.json",
    rf"data/weights/{_NAME}_weights_config\.json", r"data/weights/weight_\d+",
    rf"data/constants/{_NAME}_constants_config\.json", r"data/constants/tensor_\d+",
    rf"data/sample_inputs/{_NAME}\.pt",
    rf"extra/{_NAME}",
)]
_WEIGHT_FILE = re.compile(r"(weight|tensor)_\d+\Z")
_ATTRIBUTE = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*\Z")
ATTRIBUTE_KEYS = {"parameter_name", "buffer_name", "tensor_constant_name", "fqn"}
OBJECT_KEYS = {"custom_obj_name", "as_custom_obj", "custom_obj"}

# Operators a graph may call: ATen and prims overloads, control flow, and symbolic-shape arithmetic.
_OP_TARGET = re.compile(r"torch\.ops\.(aten|prims)\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+\Z")
HIGHER_ORDER_OPS = {"cond", "while_loop", "map_impl", "scan", "wrap_with_set_grad_enabled", "wrap_with_autocast"}
PYTHON_TARGETS = {
    **{f"_operator.{name}": getattr(operator, name) for name in (
        "getitem", "add", "sub", "mul", "floordiv", "truediv", "mod", "pow", "neg", "pos", "abs",
        "eq", "ne", "lt", "le", "gt", "ge", "and_", "or_", "not_", "xor", "invert")},
    **{f"torch.{name}": getattr(torch, name) for name in (
        "sym_float", "sym_int", "sym_max", "sym_min", "sym_not", "sym_ite", "sym_sqrt", "sym_sum")
       if hasattr(torch, name)},
    **{f"math.{name}": getattr(math, name) for name in ("ceil", "floor", "trunc", "sqrt")},
}

# Shape expressions: numbers, operators, symbol names (s0, u12, ...) and these function names.
SYMPY_NAMES = {
    "Symbol", "Integer", "Rational", "Float", "Number", "Add", "Mul", "Pow", "floor", "ceiling", "log", "exp",
    "S", "One", "Zero", "NegativeOne", "Half", "Infinity", "NegativeInfinity", "BooleanTrue", "BooleanFalse", "ExprCondPair", "Max", "Min", "Eq", "Ne", "Lt", "Le", "Gt", "Ge",
    "StrictLessThan", "StrictGreaterThan", "LessThan", "GreaterThan", "Equality", "Unequality",
    "And", "Or", "Not", "Abs", "sqrt", "Piecewise", "ITE", "oo", "zoo", "nan", "true", "false",
    "True", "False", "positive", "negative", "nonnegative", "nonpositive", "integer", "real", "finite", "zero",
    "FloorDiv", "ModularIndexing", "Where", "PythonMod", "Mod", "CleanDiv", "CeilToInt", "FloorToInt",
    "CeilDiv", "IntTrueDiv", "FloatTrueDiv", "LShift", "RShift", "IsNonOverlappingAndDenseIndicator",
    "TruncToFloat", "TruncToInt", "RoundToInt", "RoundDecimal", "ToFloat", "FloatPow", "PowByNatural", "Identity",
}
_SYMBOL = re.compile(r"[a-z]{1,5}\d+\Z")
_EXPR_TOKEN = re.compile(
    r"\s+|(?P<number>\d+(\.\d+)?([eE][-+]?\d+)?)|(?P<name>[A-Za-z][A-Za-z0-9_]*)|'(?P<quoted>[A-Za-z0-9_]*)'"
    r"|(?P<op>\*\*|//|==|!=|<=|>=|[-+*/%(),=<>&|~])"
)

# Weight dtypes the explanations compute with: real floats, integers and booleans.
REAL_DTYPES = {torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.int16,
               torch.int32, torch.int64, torch.uint8, torch.bool}
_ELEMENT_BYTES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 2, 7: 4, 8: 8, 9: 4, 10: 8, 11: 16, 12: 1, 13: 2, 28: 2, 34: 4, 35: 8}


def inspect_archive(data: bytes, name: str, max_bytes: int) -> bytes:
    """Refuse ``data`` (a .pt2 file) unless torch can load it without unpickling, eval or arbitrary calls.

    Returns the archive to hand to torch: the same members, with each program's guards and node
    metadata removed (the only free text torch turns into Python source).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ModelFileError(f"'{name}' is not a torch.export archive (not a zip file); expected a file written by torch.export.save.") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ModelFileError(f"'{name}' holds {len(infos)} files, over the limit of {MAX_MEMBERS}; expected a file written by torch.export.save.")
        declared = sum(info.file_size for info in infos)
        if declared > max_bytes:
            raise ModelFileError(f"'{name}' declares {declared / 1e6:.0f} MB once unpacked, over the {max_bytes / 1e6:.0f} MB model limit.")
        members = _members_below_root(infos, name)
        if not any(path.startswith("models/") and path.endswith(".json") for path in members):
            raise ModelFileError(f"'{name}' is a zip file but not a torch.export program; expected a file written by torch.export.save.")
        for path in members:
            if not any(pattern.match(path) for pattern in ALLOWED_MEMBERS):
                raise ModelFileError(_refusal(name, f"it contains '{path}', which torch would unpickle or run (only plain tensors and the graph are accepted)"))
        total = 0
        rewritten = {}
        for path, info in members.items():
            if path.endswith("_config.json"):
                total += _check_payload_config(_read_json(archive, info, name), path, members, name, max_bytes)
            elif path.startswith("models/"):
                program = _read_json(archive, info, name)
                _check_program(program, name)
                rewritten[info.filename] = json.dumps(_without_free_text(program, name)).encode()
            elif path.startswith("data/sample_inputs/"):
                _check_sample_inputs(archive.read(info), name)
        if total > max_bytes:
            raise ModelFileError(f"'{name}' declares {total / 1e6:.0f} MB of tensors, over the {max_bytes / 1e6:.0f} MB model limit.")
        output = io.BytesIO()
        with zipfile.ZipFile(output, "w", zipfile.ZIP_STORED) as clean:
            for info in infos:
                clean.writestr(info.filename, rewritten.get(info.filename) or archive.read(info))
    return output.getvalue()


def _without_free_text(program: dict, name: str = "the archive") -> dict:
    """The program without guards code and node metadata (torch compiles both into Python source),
    except each node's module stack, rebuilt from checked names (``module_stack``)."""
    if isinstance(program, dict):
        program = {**program, "guards_code": []}
        stack = [program.get("graph_module")]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                if "target" in value and "metadata" in value:
                    metadata = value["metadata"] if isinstance(value["metadata"], dict) else {}
                    kept = module_stack(metadata.get("nn_module_stack"), name)
                    value["metadata"] = {"nn_module_stack": kept} if kept else {}
                stack.extend(v for v in value.values() if isinstance(v, (dict, list)))
            elif isinstance(value, list):
                stack.extend(v for v in value if isinstance(v, (dict, list)))
    return program


# A module path in a node's module stack ("", "body.0", "blocks.0@1"), and the module's type name.
_MODULE_PATH = re.compile(r"([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)?(@\d+)?\Z")
_TYPE_NAME = re.compile(r"[A-Za-z0-9_<>]+(\.[A-Za-z0-9_<>]+)*\Z")
MAX_MODULE_STACK_CHARS = 20_000


def module_stack(serialised, name: str) -> str | None:
    """A node's serialised module stack ("key,path,type;...") rebuilt from its checked paths and type
    names (the keys, free text, become the path with its call index), or None when there is none."""
    if serialised is None or serialised == "":
        return None
    if not isinstance(serialised, str) or len(serialised) > MAX_MODULE_STACK_CHARS:
        raise ModelFileError(_refusal(name, "its module names are not a short list of dotted names"))
    entries = []
    for entry in serialised.split(";"):
        parts = entry.rsplit(",", 2)
        if len(parts) != 3 or not _MODULE_PATH.match(parts[1]) or not _TYPE_NAME.match(parts[2]):
            raise ModelFileError(_refusal(name, f"its module stack holds {entry[:60]!r}, which is not a dotted module path and type name"))
        key, path, type_name = parts
        index = key.rsplit("@", 1)[1] if "@" in key and key.rsplit("@", 1)[1].isdigit() else None
        entries.append(f"L__self__{path}{'@' + index if index else ''},{path},{type_name}")
    return ";".join(entries)


def _refusal(name: str, why: str) -> str:
    return f"'{name}' was refused without being loaded: {why}; export the model again with torch.export.save from plain tensors."


def _members_below_root(infos: list[zipfile.ZipInfo], name: str) -> dict[str, zipfile.ZipInfo]:
    """Member paths relative to the archive's single top folder (torch.export.save writes one)."""
    roots = {info.filename.split("/", 1)[0] for info in infos}
    if len(roots) != 1 or any("/" not in info.filename for info in infos):
        raise ModelFileError(f"'{name}' is a zip file but not a torch.export program (it lacks the one top folder torch.export.save writes); expected a file written by torch.export.save.")
    members = {}
    for info in infos:
        path = info.filename.split("/", 1)[1]
        if not path or path.endswith("/"):
            continue
        if ".." in path.split("/") or path.startswith("/") or "\\" in path:
            raise ModelFileError(_refusal(name, f"it contains the path '{info.filename}'"))
        members[path] = info
    return members


def _read_json(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str):
    if info.file_size > MAX_JSON_BYTES:
        raise ModelFileError(f"'{name}': {info.filename} declares {info.file_size / 1e6:.0f} MB, over the {MAX_JSON_BYTES / 1e6:.0f} MB limit for a graph or config file.")
    return load_json_limited(archive.read(info), f"'{name}': {info.filename}", max_depth=MAX_JSON_DEPTH, max_bytes=MAX_JSON_BYTES, error=ModelFileError)


def _check_payload_config(config, path: str, members: dict, name: str, max_bytes: int) -> int:
    """Every weight/constant must be a plain tensor record of a bounded declared size; returns the bytes declared."""
    entries = config.get("config") if isinstance(config, dict) else None
    if not isinstance(entries, dict):
        raise ModelFileError(_refusal(name, f"{path} is not a tensor table"))
    folder = path.rsplit("/", 1)[0]
    total = 0
    for fqn, entry in entries.items():
        check_attribute_name(fqn, name)
        if not isinstance(entry, dict) or entry.get("use_pickle", False) is not False:
            raise ModelFileError(_refusal(name, f"'{fqn}' is stored as a pickle, which can run code when loaded"))
        file = entry.get("path_name")
        if not isinstance(file, str) or not _WEIGHT_FILE.match(file) or f"{folder}/{file}" not in members:
            raise ModelFileError(_refusal(name, f"'{fqn}' points at '{file}', which is not a tensor record of the archive"))
        meta = entry.get("tensor_meta")
        sizes = meta.get("sizes") if isinstance(meta, dict) else None
        if not isinstance(sizes, list) or not all(isinstance(s, dict) and isinstance(s.get("as_int"), int) and s["as_int"] >= 0 for s in sizes):
            raise ModelFileError(_refusal(name, f"'{fqn}' has no fixed, non-negative shape"))
        element = _ELEMENT_BYTES.get(meta.get("dtype"))
        if element is None:
            raise ModelFileError(_refusal(name, f"'{fqn}' has an unsupported element type (code {meta.get('dtype')!r})"))
        numel = math.prod(s["as_int"] for s in sizes)
        if numel * element > max_bytes:
            shape = tuple(s["as_int"] for s in sizes)
            raise ModelFileError(f"'{name}': '{fqn}' declares shape {shape} ({numel * element / 1e6:.0f} MB), over the {max_bytes / 1e6:.0f} MB model limit.")
        total += numel * element
    return total


def _check_program(program, name: str) -> None:
    """Walk the serialised program without recursion: every call target and shape expression must be harmless."""
    stack = [program]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "target" and isinstance(item, str):
                    check_target_name(item, name)
                elif key == "expr_str":
                    check_shape_expression(item, name)
                elif key in ATTRIBUTE_KEYS:
                    check_attribute_name(item, name)
                elif key in OBJECT_KEYS:
                    raise ModelFileError(_refusal(name, "it holds a custom Python object, which torch would unpickle"))
                elif isinstance(item, (dict, list)):
                    stack.append(item)
        elif isinstance(value, list):
            stack.extend(item for item in value if isinstance(item, (dict, list)))


def check_attribute_name(fqn, name: str) -> None:
    """Parameter, buffer and constant names become attribute lookups in generated Python: dotted identifiers only."""
    if not isinstance(fqn, str) or not (fqn == "" or _ATTRIBUTE.match(fqn)):
        raise ModelFileError(_refusal(name, f"it names a weight {str(fqn)[:60]!r}, which is not a dotted Python name"))


def check_target_name(target: str, name: str) -> None:
    if _OP_TARGET.match(target) or target in PYTHON_TARGETS:
        return
    if target.startswith("torch.ops.higher_order.") and target.rsplit(".", 1)[1] in HIGHER_ORDER_OPS:
        return
    raise ModelFileError(_refusal(name, f"its graph calls '{target[:80]}', which is not an ATen operator"))


def check_shape_expression(expr, name: str) -> None:
    """sympy.sympify evals its input: allow numbers, operators, shape symbols and sympy function names only."""
    if not isinstance(expr, str) or len(expr) > MAX_EXPR_CHARS:
        raise ModelFileError(_refusal(name, "it holds a shape expression that is not a short formula"))
    position = 0
    while position < len(expr):
        token = _EXPR_TOKEN.match(expr, position)
        if token is None:
            raise ModelFileError(_refusal(name, f"its shape expression '{expr[:60]}' is not plain arithmetic"))
        word = token.group("name")
        quoted = token.group("quoted")
        if word is not None and word not in SYMPY_NAMES and not _SYMBOL.match(word):
            raise ModelFileError(_refusal(name, f"its shape expression uses '{word[:40]}', which is not a shape symbol or formula"))
        if quoted is not None and not _SYMBOL.match(quoted):
            raise ModelFileError(_refusal(name, f"its shape expression quotes '{quoted[:40]}', which is not a shape symbol"))
        position = token.end()


def _check_sample_inputs(raw: bytes, name: str) -> None:
    """torch retries a failed weights-only read with a full unpickle; read it weights-only first, or refuse."""
    if not raw:
        return
    try:
        with quiet_torch():
            torch.load(io.BytesIO(raw), weights_only=True)
    except Exception:  # noqa: BLE001 - anything the safe unpickler rejects is refused
        raise ModelFileError(_refusal(name, "its sample inputs are not plain tensors")) from None


def check_loaded_program(program, name: str) -> None:
    """The loaded graph calls only allowed operators (every subgraph too)."""
    allowed_python = set(PYTHON_TARGETS.values())
    for module in program.graph_module.modules():
        if not isinstance(module, torch.fx.GraphModule):
            continue
        for node in module.graph.nodes:
            if node.op == "call_function":
                target = node.target
                if isinstance(target, torch._ops.OpOverload) and target.namespace in ("aten", "prims"):
                    continue
                if isinstance(target, torch._ops.HigherOrderOperator) and target.name() in HIGHER_ORDER_OPS:
                    continue
                if target in allowed_python:
                    continue
                raise ModelFileError(_refusal(name, f"its graph calls {getattr(target, '__name__', str(target))[:80]}, which is not an ATen operator"))
            elif node.op == "call_method":
                raise ModelFileError(_refusal(name, f"its graph calls the method '{str(node.target)[:40]}'"))


def check_weights(tensors: dict, name: str) -> None:
    """Weights must be real numbers the explanations can compute with, and finite."""
    for key, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor):
            raise ModelFileError(f"'{name}': '{key}' is a {type(tensor).__name__}, not a tensor; expected weights made of tensors only.")
        if tensor.dtype not in REAL_DTYPES:
            raise ModelFileError(f"'{name}': weight '{key}' has dtype {str(tensor.dtype).replace('torch.', '')}; expected real numbers (float32, float16, bfloat16, float64 or integers).")
        if tensor.is_floating_point() and tensor.numel() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise ModelFileError(f"'{name}': weight '{key}' has {bad} NaN or infinite value(s); expected finite weights (was training diverging?).")


_TORCH_LOAD_LOCK = threading.Lock()


@contextmanager
def replaced_torch_load(replacement):
    """Inside this block every ``torch.load`` call is ``replacement(original, *args, **kwargs)``
    (one block at a time: torch.load is process-wide)."""
    original = torch.load

    def guarded(*args, **kwargs):
        return replacement(original, *args, **kwargs)

    with _TORCH_LOAD_LOCK:
        torch.load = guarded
        try:
            yield
        finally:
            torch.load = original


@contextmanager
def quiet_torch():
    """Keep torch's loader from printing warnings or tracebacks to the user: failures become one sentence."""
    loggers = [logging.getLogger(n) for n in ("torch._export", "torch.export", "torch._export.serde.serialize", "torch.export.pt2_archive._package")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
