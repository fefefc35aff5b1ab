"""A pickle reader for data only: nested dicts, lists and tuples of numpy arrays and numbers.

A pickle is a program for a stack machine; ``pickle.load`` runs it and may call any importable
function. :func:`safe_load` never calls ``pickle.load``: it interprets the opcodes itself
(decoded by :func:`pickletools.genops`) and gives meaning to six globals only, the ones numpy
pickles use, each through rlcheck's own code:

==============================================  ==============================================
global in the file                              what rlcheck does
==============================================  ==============================================
``numpy.core.multiarray._reconstruct``          an empty array stub, filled by ``BUILD``
``numpy.ndarray``                               only as ``_reconstruct``'s first argument
``numpy.dtype``                                 a numeric dtype (``[biufc]<itemsize>``)
``numpy.core.multiarray.scalar``                ``frombuffer(data, dtype)[0]``
``numpy.core.numeric._frombuffer``              ``frombuffer(data, dtype).reshape(shape)``
``_codecs.encode``                              ``text.encode("latin-1")``, nothing else
==============================================  ==============================================

(``numpy._core`` as well as ``numpy.core``.) Any other global, persistent id, extension code or
object-building opcode is refused with :class:`UnsafePickleError` before anything is called;
``BUILD`` sets the state of an array or dtype stub and of nothing else.

Bounded by the file's size, so that a small file cannot exhaust memory or the stack:

* every array is built from bytes present in the file (``len(data) == prod(shape) * itemsize``),
  never allocated from a shape alone;
* the memo is a dict, so a large memo index costs nothing; a memo reference (``GET``) shares the
  object, it is not copied;
* all allocations are charged to a budget ``min(MAX_LOAD_BYTES, LOAD_BYTES_PER_FILE_BYTE *
  file_size + LOAD_BYTES_BASE)``, and containers nest at most :data:`MAX_NESTING` deep;
* the reader is a loop, not a recursion; a container that contains itself is refused.

Every problem is an :class:`ExpertFileError` (a ``ValueError``) naming the file, the byte offset
and what is wrong.

Longer than 400 lines because the opcode interpreter is one state machine; splitting it would
spread the allow-list that makes it safe over several files.
"""

from __future__ import annotations

import math
import os
import pickletools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "LOAD_BYTES_BASE",
    "LOAD_BYTES_PER_FILE_BYTE",
    "MAX_FILE_BYTES",
    "MAX_LOAD_BYTES",
    "MAX_NESTING",
    "ExpertFileError",
    "UnsafePickleError",
    "load_budget",
    "read_capped",
    "safe_load",
]

MAX_FILE_BYTES = 64 << 20
"""Largest expert file read at all (the published ones are below 1 MB)."""
LOAD_BYTES_PER_FILE_BYTE = 16
"""Memory a load may use per byte of file (a protocol-2 array exists as text, bytes, array)."""
LOAD_BYTES_BASE = 1 << 20
"""Memory a load may use on top of ``LOAD_BYTES_PER_FILE_BYTE * file_size``."""
MAX_LOAD_BYTES = 1 << 30
"""Absolute cap on the memory of one load, whatever the file size."""
MAX_NESTING = 64
"""Deepest nesting of containers accepted (the published files nest 6 deep)."""
# This module is longer than the ~400 lines the project aims for: a stack machine, its opcode
# table and the numpy stubs it builds only make sense together.
_MAX_NDIM = 32


class ExpertFileError(ValueError):
    """An expert file is corrupt, truncated, of an unexpected layout, or unsafe to load."""


class UnsafePickleError(ExpertFileError):
    """A pickle asked for a global or opcode outside numpy array data; nothing was run."""


def load_budget(file_size: int) -> int:
    """Bytes a load of a ``file_size``-byte pickle may allocate:
    ``min(MAX_LOAD_BYTES, LOAD_BYTES_PER_FILE_BYTE * file_size + LOAD_BYTES_BASE)``."""
    return min(MAX_LOAD_BYTES, LOAD_BYTES_PER_FILE_BYTE * file_size + LOAD_BYTES_BASE)


def read_capped(path: str | os.PathLike[str], max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``, read once; ``ExpertFileError`` if it holds more than ``max_bytes``."""
    path = Path(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise ExpertFileError(f"{path.name}: {size} bytes, more than the {max_bytes} an "
                                  "expert file may have")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ExpertFileError(f"{path.name}: more than the {max_bytes} bytes an expert file "
                              "may have (it grew while read)")
    return data


# --------------------------------------------------------------------------------------------
# Stubs for what numpy's reduce functions build


@dataclass(frozen=True)
class _Global:
    """One of the allowed globals, named; never callable."""

    name: str


_RECONSTRUCT = _Global("_reconstruct")
_NDARRAY = _Global("ndarray")
_DTYPE = _Global("dtype")
_SCALAR = _Global("scalar")
_FROMBUFFER = _Global("_frombuffer")
_ENCODE = _Global("_codecs.encode")

_GLOBALS: dict[tuple[str, str], _Global] = {("numpy", "ndarray"): _NDARRAY,
                                            ("numpy", "dtype"): _DTYPE,
                                            ("_codecs", "encode"): _ENCODE}
for _prefix in ("numpy.core", "numpy._core"):
    _GLOBALS[(f"{_prefix}.multiarray", "_reconstruct")] = _RECONSTRUCT
    _GLOBALS[(f"{_prefix}.multiarray", "scalar")] = _SCALAR
    _GLOBALS[(f"{_prefix}.numeric", "_frombuffer")] = _FROMBUFFER


class _DtypeStub:
    """``numpy.dtype(name)``; ``BUILD`` may set its byte order once."""

    def __init__(self, dtype: np.dtype[Any]) -> None:
        self.dtype = dtype
        self.built = False


class _ArrayStub:
    """``_reconstruct(ndarray, (0,), b'b')``: an array whose data ``BUILD`` sets once."""

    def __init__(self) -> None:
        self.array: np.ndarray | None = None


_DTYPE_NAME = re.compile(r"[<>|=]?([biufcO])(\d{1,2})")
_REFUSED_OPCODES = {
    "PERSID": "persistent ids", "BINPERSID": "persistent ids", "EXT1": "extension codes",
    "EXT2": "extension codes", "EXT4": "extension codes", "INST": "object instantiation",
    "OBJ": "object instantiation", "NEWOBJ": "object instantiation",
    "NEWOBJ_EX": "object instantiation", "NEXT_BUFFER": "out-of-band buffers",
    "READONLY_BUFFER": "out-of-band buffers",
}


class _Fail(Exception):
    """A problem found at the current opcode (turned into ExpertFileError with its offset)."""

    def __init__(self, message: str, unsafe: bool = False) -> None:
        super().__init__(message)
        self.unsafe = unsafe


def _kind(value: Any) -> str:
    return {_ArrayStub: "numpy array", _DtypeStub: "numpy dtype"}.get(
        type(value), type(value).__name__)


# --------------------------------------------------------------------------------------------
# The reduce functions, rlcheck's own versions


def _numeric_dtype(args: tuple[Any, ...]) -> _DtypeStub:
    if not args or not isinstance(args[0], str):
        raise _Fail(f"numpy.dtype needs a type name, got {args!r:.80}")
    match = _DTYPE_NAME.fullmatch(args[0])
    if match is None:
        raise _Fail(f"unsupported array dtype {args[0]!r:.40}; expert files hold numbers")
    if match.group(1) == "O":
        raise _Fail("object array dtype refused (it would hold arbitrary objects)")
    return _DtypeStub(np.dtype(args[0]))


def _dtype_of(value: Any, what: str) -> np.dtype[Any]:
    if not isinstance(value, _DtypeStub):
        raise _Fail(f"{what} must be a numpy dtype, got {_kind(value)}")
    return value.dtype


def _shape_of(value: Any) -> tuple[int, ...]:
    if (not isinstance(value, tuple) or len(value) > _MAX_NDIM
            or not all(type(n) is int and n >= 0 for n in value)):
        raise _Fail(f"array shape must be a tuple of at most {_MAX_NDIM} non-negative "
                    f"integers, got {value!r:.80}")
    return value


def _array_from(data: Any, dtype: np.dtype[Any], shape: tuple[int, ...], fortran: bool,
                charge: Any) -> np.ndarray:
    """The array of ``shape`` and ``dtype`` whose bytes are ``data`` (copied once, owned)."""
    if isinstance(data, list):
        raise _Fail("object array data refused (it would hold arbitrary objects)")
    if not isinstance(data, bytes | bytearray):
        raise _Fail(f"array data must be bytes, got {_kind(data)}")
    need = math.prod(shape) * dtype.itemsize
    if len(data) != need:
        raise _Fail(f"array data has {len(data)} bytes but shape {shape} of {dtype} needs "
                    f"{need}")
    charge(need, "an array")
    flat = np.frombuffer(data, dtype=dtype).copy()
    return flat.reshape(shape, order="F" if fortran else "C")


def _encode(args: tuple[Any, ...]) -> bytes:
    if (len(args) != 2 or not isinstance(args[0], str) or not isinstance(args[1], str)
            or args[1].replace("-", "").replace("_", "").lower() != "latin1"):
        encoding = args[1] if len(args) == 2 else None
        raise _Fail(f"_codecs.encode allowed for latin-1 text only, got encoding {encoding!r:.40}",
                    unsafe=True)
    try:
        return args[0].encode("latin-1")
    except UnicodeEncodeError as exc:
        raise _Fail(f"_codecs.encode: text is not latin-1 ({exc.reason})") from None


def _reduce(func: Any, args: Any, charge: Any) -> Any:
    if not isinstance(func, _Global):
        raise _Fail(f"REDUCE may call only numpy's reconstruction functions, not a {_kind(func)}",
                    unsafe=True)
    if not isinstance(args, tuple):
        raise _Fail(f"REDUCE arguments must be a tuple, got {_kind(args)}")
    if func is _RECONSTRUCT:
        if len(args) != 3 or args[0] is not _NDARRAY or args[1] != (0,):
            raise _Fail(f"_reconstruct arguments must be (ndarray, (0,), b'b'), got {args!r:.80}")
        return _ArrayStub()
    if func is _DTYPE:
        return _numeric_dtype(args)
    if func is _ENCODE:
        text = args[0] if args else ""
        charge(len(text) if isinstance(text, str) else 0, "encoded text")
        return _encode(args)
    if func is _SCALAR:
        if len(args) != 2:
            raise _Fail(f"scalar needs (dtype, data), got {len(args)} arguments")
        return _array_from(args[1], _dtype_of(args[0], "scalar dtype"), (), False, charge)[()]
    if func is _FROMBUFFER:
        if len(args) != 4 or args[3] not in ("C", "F"):
            raise _Fail(f"_frombuffer needs (data, dtype, shape, 'C' or 'F'), got {args!r:.80}")
        return _array_from(args[0], _dtype_of(args[1], "_frombuffer dtype"), _shape_of(args[2]),
                           args[3] == "F", charge)
    raise _Fail(f"numpy.{func.name} may not be called directly: arrays are built only from "
                "data present in the file", unsafe=True)


def _build(target: Any, state: Any, charge: Any) -> None:
    if isinstance(target, _DtypeStub) and not target.built:
        if (not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4)
                or state[1] not in ("<", ">", "|", "=") or state[2:5] != (None, None, None)):
            raise _Fail(f"unsupported dtype state {state!r:.80} (only plain numeric dtypes)")
        target.dtype = target.dtype.newbyteorder(state[1] if state[1] in "<>" else "=")
        target.built = True
        return
    if isinstance(target, _ArrayStub) and target.array is None:
        if not isinstance(state, tuple) or len(state) != 5 or state[0] != 1:
            raise _Fail(f"array state must be (1, shape, dtype, fortran, data), got "
                        f"{_kind(state)} of length {len(state) if isinstance(state, tuple) else 0}")
        _, shape, dtype, fortran, data = state
        if not isinstance(fortran, bool):
            raise _Fail(f"array fortran flag must be a bool, got {_kind(fortran)}")
        target.array = _array_from(data, _dtype_of(dtype, "array dtype"), _shape_of(shape),
                                   fortran, charge)
        return
    raise _Fail(f"BUILD may set the state of an unbuilt numpy array or dtype only, not of a "
                f"{_kind(target)}", unsafe=isinstance(target, _Global))


# --------------------------------------------------------------------------------------------
# The stack machine

_HASHABLE_KEYS = (str, int, float, bytes, bool, type(None))


class _Machine:
    """Interprets pickle opcodes for data; charges allocations to ``budget`` bytes."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.stack: list[Any] = []
        self.marks: list[list[Any]] = []
        self.memo: dict[int, Any] = {}

    def charge(self, n_bytes: int, what: str) -> None:
        self.used += n_bytes
        if self.used > self.budget:
            raise _Fail(f"{what} would raise the memory of this load above its budget of "
                        f"{self.budget} bytes (from the file size, at most {MAX_LOAD_BYTES})")

    def pop(self) -> Any:
        if not self.stack:
            raise _Fail("stack underflow (corrupt pickle)")
        return self.stack.pop()

    def pop_mark(self) -> list[Any]:
        if not self.marks:
            raise _Fail("no MARK on the stack (corrupt pickle)")
        items, self.stack = self.stack, self.marks.pop()
        return items

    def top(self, kind: type, opname: str) -> Any:
        if not self.stack or not isinstance(self.stack[-1], kind):
            found = _kind(self.stack[-1]) if self.stack else "nothing"
            raise _Fail(f"{opname} needs a {kind.__name__} on the stack, found {found}")
        return self.stack[-1]

    def push(self, value: Any, n_bytes: int = 16) -> None:
        self.charge(n_bytes, "a value")
        self.stack.append(value)

    def set_items(self, target: dict[Any, Any], items: list[Any]) -> None:
        if len(items) % 2:
            raise _Fail("SETITEMS with an odd number of items")
        self.charge(48 * (len(items) // 2), "dict items")
        for key, value in zip(items[::2], items[1::2], strict=True):
            if not isinstance(key, _HASHABLE_KEYS):
                raise _Fail(f"dict key must be a string or number, got {_kind(key)}")
            target[key] = value

    def step(self, name: str, arg: Any) -> None:
        if name in ("PROTO", "FRAME"):
            return
        if name in _REFUSED_OPCODES:
            raise _Fail(f"{_REFUSED_OPCODES[name]} ({name}) are not allowed in expert files",
                        unsafe=True)
        if name in ("GLOBAL", "STACK_GLOBAL"):
            if name == "STACK_GLOBAL":
                attr, module = self.pop(), self.pop()
            else:
                module, _, attr = str(arg).partition(" ")
            if (module, attr) not in _GLOBALS:
                raise _Fail(f"refusing to load global {module!s:.80}.{attr!s:.80}; expert files "
                            "may reference only the numpy array-reconstruction globals",
                            unsafe=True)
            self.push(_GLOBALS[(module, attr)])
        elif name == "MARK":
            self.marks.append(self.stack)
            self.stack = []
        elif name == "POP":
            self.pop()
        elif name == "POP_MARK":
            self.pop_mark()
        elif name == "DUP":
            self.push(self.top(object, name))
        elif name == "NONE":
            self.push(None)
        elif name in ("NEWTRUE", "NEWFALSE"):
            self.push(name == "NEWTRUE")
        elif name in ("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4",
                      "FLOAT", "BINFLOAT"):
            self.push(arg, 32 + (arg.bit_length() // 8 if isinstance(arg, int) else 0))
        elif name in ("STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE",
                      "SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES", "SHORT_BINBYTES",
                      "BINBYTES8"):
            self.push(arg, 64 + len(arg))
        elif name == "BYTEARRAY8":
            self.push(bytearray(arg), 64 + len(arg))
        elif name in ("EMPTY_LIST", "EMPTY_DICT", "EMPTY_TUPLE"):
            self.push({"EMPTY_LIST": list, "EMPTY_DICT": dict, "EMPTY_TUPLE": tuple}[name](), 64)
        elif name in ("LIST", "TUPLE"):
            items = self.pop_mark()
            self.push(items if name == "LIST" else tuple(items), 64 + 8 * len(items))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            if len(self.stack) < n:
                raise _Fail(f"{name} needs {n} items on the stack (corrupt pickle)")
            packed = tuple(self.stack[-n:])
            del self.stack[-n:]
            self.push(packed, 64 + 8 * n)
        elif name == "DICT":
            items = self.pop_mark()
            target: dict[Any, Any] = {}
            self.set_items(target, items)
            self.push(target, 64)
        elif name == "APPEND":
            value = self.pop()
            self.top(list, name).append(value)
            self.charge(8, "a list item")
        elif name == "APPENDS":
            items = self.pop_mark()
            self.top(list, name).extend(items)
            self.charge(8 * len(items), "list items")
        elif name == "SETITEM":
            value, key = self.pop(), self.pop()
            self.set_items(self.top(dict, name), [key, value])
        elif name == "SETITEMS":
            items = self.pop_mark()
            self.set_items(self.top(dict, name), items)
        elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
            key = len(self.memo) if name == "MEMOIZE" else int(arg)
            self.memo[key] = self.top(object, name)
            self.charge(64, "a memo entry")
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            if int(arg) not in self.memo:
                raise _Fail(f"memo key {arg} used before it is defined (corrupt pickle)")
            self.push(self.memo[int(arg)], 8)
        elif name == "REDUCE":
            args, func = self.pop(), self.pop()
            self.push(_reduce(func, args, self.charge))
        elif name == "BUILD":
            state = self.pop()
            _build(self.top(object, name), state, self.charge)
        else:
            raise _Fail(f"opcode {name} is not allowed in expert files", unsafe=True)


def _finish(value: Any, charge: Any) -> Any:
    """``value`` with array stubs replaced by their arrays, shared references kept shared.

    Iterative (no recursion); refuses a container that contains itself, nesting deeper than
    :data:`MAX_NESTING`, and unbuilt stubs or globals left in the data.
    """
    done: dict[int, Any] = {}
    on_path: set[int] = set()
    # one frame per open container: [container, converted children, items iterator, label, key]
    stack: list[list[Any]] = []

    def leaf(obj: Any, where: str) -> tuple[bool, Any]:
        if isinstance(obj, _ArrayStub):
            if obj.array is None:
                raise _Fail(f"array at {where or 'top level'} has no data (BUILD missing)")
            return True, obj.array
        if obj is None or isinstance(obj, np.ndarray | np.generic | str | bytes | bool | int
                                     | float):
            return True, obj
        if isinstance(obj, bytearray):
            return True, bytes(obj)
        if isinstance(obj, dict | list | tuple):
            return False, None
        raise _Fail(f"unexpected {_kind(obj)} at {where or 'top level'}")

    def open_frame(obj: Any, where: str, key: Any) -> None:
        if id(obj) in on_path:
            raise _Fail(f"container at {where or 'top level'} contains itself (recursive data)")
        if len(stack) >= MAX_NESTING:
            raise _Fail(f"containers nested deeper than {MAX_NESTING} levels at "
                        f"{where[:120]}...")
        on_path.add(id(obj))
        items = iter(obj.items()) if isinstance(obj, dict) else enumerate(obj)
        stack.append([obj, [], items, where, key])

    is_leaf, out = leaf(value, "")
    if is_leaf:
        return out
    open_frame(value, "", None)
    while True:
        obj, children, items, where, key_in_parent = stack[-1]
        for key, child in items:
            label = f"{where}/{key}" if isinstance(obj, dict) else f"{where}[{key}]"
            if id(child) in done:
                children.append((key, done[id(child)]))
                continue
            is_leaf, out = leaf(child, label)
            if is_leaf:
                children.append((key, out))
                continue
            open_frame(child, label, key)
            break
        else:
            stack.pop()
            on_path.discard(id(obj))
            charge(64 + 16 * len(children), "a container")
            built: Any = (dict(children) if isinstance(obj, dict)
                          else type(obj)(v for _, v in children))
            done[id(obj)] = built
            if not stack:
                return built
            stack[-1][1].append((key_in_parent, built))


def safe_load(source: str | os.PathLike[str] | bytes, *, max_bytes: int | None = None,
              label: str | None = None) -> Any:
    """Unpickle expert data (a path, or the raw bytes) without running anything from it.

    Returns nested dicts/lists/tuples of plain numeric numpy arrays, numpy scalars, strings and
    numbers; an object referenced twice in the file is one object in the result.

    Args:
        max_bytes: memory budget of the load (default :func:`load_budget` of the data size).
        label: the name used in error messages (default: the file name, or ``<bytes>``).

    Raises:
        UnsafePickleError: the pickle references any other global or object-building opcode.
        ExpertFileError: the pickle is truncated, corrupt, too large for its size, recursive,
            nested too deep or holds unexpected objects; the message names the byte offset.
        FileNotFoundError: the path does not exist.
    """
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), "<bytes>"
    else:
        data, name = read_capped(source), Path(source).name
    label = label or name
    machine = _Machine(load_budget(len(data)) if max_bytes is None else max_bytes)
    pos = 0
    try:
        stopped = False
        for opcode, arg, at in pickletools.genops(data):
            pos = at if at is not None else pos
            if opcode.name == "STOP":
                stopped = True
                break
            machine.step(opcode.name, arg)
        if not stopped:
            raise _Fail("the pickle ends without STOP (truncated)")
        return _finish(machine.pop(), machine.charge)
    except _Fail as exc:
        cls = UnsafePickleError if exc.unsafe else ExpertFileError
        raise cls(f"{label}: byte {pos}: {exc}") from None
    except (ValueError, TypeError, OverflowError, MemoryError, UnicodeError) as exc:
        raise ExpertFileError(f"{label}: byte {pos}: not a valid expert pickle "
                              f"({type(exc).__name__}: {str(exc)[:200]})") from None
