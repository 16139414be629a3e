"""Reading a file into plain JSON values while remembering where every node came from.

Both YAML and JSON go through here.  The result is a :class:`Source`: the document as
plain dicts, lists and scalars, plus a table from *pointers* (tuples of keys and list
indices, like JSON Pointer) to the line and column of each key and value.

Loading is safe by construction: PyYAML's safe constructors only, no tags that build
objects, and nothing in a file can import or execute code.  Duplicate mapping keys are an
error (AWS rejects duplicate state names; YAML would silently keep the last one).
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from typing import Any

import yaml

from flowengine.dsl import files
from flowengine.errors import LoadError
from flowengine.model.diagnostics import Diagnostic, Span

Pointer = tuple[str | int, ...]

#: Files larger than this are refused before parsing (a definition is at most 1 MiB on AWS;
#: an app file embeds several of them).
MAX_FILE_BYTES = files.MAX_FILE_BYTES
#: Nesting deeper than this is refused: far beyond any real definition, and it keeps the
#: recursive walks below Python's recursion limit.
MAX_DEPTH = 200
#: YAML aliases may expand a document past its size by this many values, no more.
ALIAS_SLACK = 10_000

try:  # the C composer is several times faster; fall back to pure Python where it is absent
    _YamlLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlLoader = yaml.SafeLoader

_BOOL = {"true": True, "false": False, "True": True, "False": False, "TRUE": True, "FALSE": False}


@dataclass
class Source:
    """A loaded document and the positions of its nodes.

    ``value`` is the document as plain JSON-compatible Python values.  ``span(ptr)`` gives
    the position of the value at ``ptr`` (falling back to the nearest ancestor), and
    ``key_span(ptr)`` the position of the mapping key that names it.
    """

    path: str
    value: Any
    kind: str  # "yaml" | "json" | "dict"
    _values: dict[Pointer, tuple[int, int]] = field(default_factory=dict, repr=False)
    _keys: dict[Pointer, tuple[int, int]] = field(default_factory=dict, repr=False)
    _text: str | None = field(default=None, repr=False)
    _indexed: bool = field(default=True, repr=False)

    def _ensure_index(self) -> None:
        if self._indexed:
            return
        self._indexed = True
        if self._text is None:
            return
        # JSON is parsed with the fast json module; positions are only needed when there is
        # something to report, so they are computed here, on first use.  YAML 1.1 is close
        # enough to JSON for positions once tabs (legal JSON whitespace) become spaces.
        try:
            node = yaml.compose(self._text.replace("\t", " "), Loader=_YamlLoader)
        except yaml.YAMLError:
            return
        if node is not None:
            _index_node(node, (), self._values, self._keys, 0)

    def span(self, ptr: Pointer = ()) -> Span:
        """Where the value at ``ptr`` starts (or its nearest located ancestor)."""
        self._ensure_index()
        p = tuple(ptr)
        while True:
            pos = self._values.get(p)
            if pos is not None:
                return Span(self.path, pos[0], pos[1])
            if not p:
                return Span(self.path, 1, 1)
            p = p[:-1]

    def key_span(self, ptr: Pointer) -> Span:
        """Where the key naming ``ptr`` stands (the value's position for list items)."""
        self._ensure_index()
        pos = self._keys.get(tuple(ptr))
        if pos is not None:
            return Span(self.path, pos[0], pos[1])
        return self.span(ptr)

    def with_prefix(self, prefix: Pointer) -> "SubSource":
        """A view whose pointers are relative to ``prefix`` (an ASL definition inside an app file)."""
        return SubSource(self, tuple(prefix))


@dataclass(frozen=True)
class SubSource:
    """A view on part of a :class:`Source`: pointers are relative to ``prefix``."""

    root: Source
    prefix: Pointer

    @property
    def path(self) -> str:
        return self.root.path

    @property
    def value(self) -> Any:
        v = self.root.value
        for k in self.prefix:
            v = v[k]
        return v

    def span(self, ptr: Pointer = ()) -> Span:
        return self.root.span(self.prefix + tuple(ptr))

    def key_span(self, ptr: Pointer) -> Span:
        return self.root.key_span(self.prefix + tuple(ptr))

    def with_prefix(self, prefix: Pointer) -> "SubSource":
        return SubSource(self.root, self.prefix + tuple(prefix))


def _fail(path: str, code: str, message: str, line: int = 1, col: int = 1, hint: str | None = None) -> LoadError:
    return LoadError([Diagnostic(code, message, Span(path, line, col), hint=hint)])


def read_text(path: str) -> str:
    """Read a file as UTF-8 text, turning every way it can fail into a located LoadError.

    Only a regular file of at most :data:`MAX_FILE_BYTES` is read (:mod:`flowengine.dsl.files`):
    a device, a FIFO or a file that grows past the limit is refused, never read to the end."""
    try:
        return files.read_text(path, limit=MAX_FILE_BYTES)
    except files.FileProblem as exc:
        hint = exc.hint
        if exc.code == "FE102" or "directory" in exc.problem:
            hint = "name an app file or an ASL definition"
        problem = "binary file, not YAML or JSON text" if exc.problem.startswith("binary") else exc.problem
        raise _fail(path, exc.code, problem, exc.line, 1, hint) from None


def load_file(path: str) -> Source:
    """Load a YAML or JSON file into a :class:`Source`; raise LoadError with a location on failure."""
    text = read_text(path)
    return load_text(text, path)


def load_text(text: str, path: str = "<string>") -> Source:
    """Parse YAML or JSON text.  JSON is recognised by a ``.json`` name or a leading ``{``."""
    if not text.strip():
        raise _fail(path, "FE104", "empty file", hint="an app file starts with 'app:'; an ASL definition with '{\"StartAt\": ...'")
    stripped = text.lstrip()
    if path.endswith(".json") or (stripped.startswith("{") and not path.endswith((".yaml", ".yml"))):
        return _load_json(text, path)
    return _load_yaml(text, path)


def _load_json(text: str, path: str) -> Source:
    dup: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out:
                dup.append(k)
            out[k] = v
        return out

    try:
        value = files.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise _fail(path, "FE105", f"malformed JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise _fail(path, "FE106", f"nesting is too deep (limit {MAX_DEPTH})") from None
    src = Source(path, value, "json", _text=text, _indexed=False)
    if dup:
        src._ensure_index()
        raise LoadError([_duplicate(src, k) for k in dict.fromkeys(dup)])
    _check_depth(value, path)
    return src


def _duplicate(src: Source, key: str) -> Diagnostic:
    # find the second occurrence of the key for the location; the index records the last one
    for ptr in src._keys:
        if ptr and ptr[-1] == key:
            return Diagnostic(
                "FE107", f"duplicate key '{key}'", src.key_span(ptr),
                hint="AWS rejects duplicate state names and fields; YAML and JSON would keep only the last one",
            )
    return Diagnostic("FE107", f"duplicate key '{key}'", Span(src.path))


def _check_depth(value: Any, path: str) -> None:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if d > MAX_DEPTH:
            raise _fail(path, "FE106", f"nesting is too deep (limit {MAX_DEPTH})")
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)


def _load_yaml(text: str, path: str) -> Source:
    try:
        docs = list(yaml.compose_all(text, Loader=_YamlLoader))
    except yaml.MarkedYAMLError as exc:
        raise _yaml_syntax_error(exc, text, path) from None
    except yaml.YAMLError as exc:
        raise _fail(path, "FE105", f"malformed YAML: {exc}") from None
    except RecursionError:
        raise _fail(path, "FE106", f"nesting is too deep (limit {MAX_DEPTH})") from None
    if len(docs) > 1:
        raise _fail(path, "FE105", "more than one YAML document in the file", hint="keep one document; remove the '---' separators")
    if not docs or docs[0] is None:
        raise _fail(path, "FE104", "empty file")
    values: dict[Pointer, tuple[int, int]] = {}
    keys: dict[Pointer, tuple[int, int]] = {}
    errors: list[Diagnostic] = []
    # Without aliases a document has fewer nodes than characters; aliases of aliases can
    # expand exponentially ("billion laughs"), so the expansion gets a budget.
    budget = [len(text) + ALIAS_SLACK]
    try:
        value = _construct(docs[0], (), values, keys, errors, path, 0, budget)
    except RecursionError:
        raise _fail(path, "FE106", f"nesting is too deep (limit {MAX_DEPTH})") from None
    if errors:
        raise LoadError(errors)
    return Source(path, value, "yaml", values, keys)


def _yaml_syntax_error(exc: yaml.MarkedYAMLError, text: str, path: str) -> LoadError:
    """A YAML syntax error at the line the user must change, in plain words, with a hint.

    PyYAML reports where it noticed the problem, which is often a line late: a key written
    ``Type:Pass`` (no space after the colon) is read as text that runs on into the next line,
    and the error lands on that next line's colon.  The usual causes are recognised here:
    a missing space after a colon, a line indented more or less than its siblings, a tab,
    an unclosed quote or bracket, an unquoted value that holds ``": "``.
    """
    lines = text.splitlines()
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "malformed YAML"
    context = exc.context or ""
    said = f"the YAML parser: {problem}"

    def source(n: int) -> str:
        return lines[n - 1] if 0 < n <= len(lines) else ""

    def fail(message: str, at: tuple[int, int], hint: str) -> LoadError:
        return _fail(path, "FE105", f"malformed YAML: {message}", at[0], at[1], f"{hint}; {said}")

    if "\\t" in problem or "tab" in problem.lower() or (mark and _is_tab_at(text, mark.line, mark.column)):
        return _fail(path, "FE105", "malformed YAML: a tab character in indentation", line, col,
                     "YAML indents with spaces only")
    if exc.context_mark is not None and "quoted scalar" in context:
        start = (exc.context_mark.line + 1, exc.context_mark.column + 1)
        quote = source(start[0])[start[1] - 1: start[1]] or "quote"
        return fail(f"the quote ({quote}) opened here is never closed", start,
                    f"close the string with {quote} on this line")
    if exc.context_mark is not None and ("flow sequence" in context or "flow mapping" in context):
        start = (exc.context_mark.line + 1, exc.context_mark.column + 1)
        opened, closing = ("[", "]") if "sequence" in context else ("{", "}")
        return fail(f"the '{opened}' opened here is not closed", start,
                    f"close it with '{closing}' on this line, or quote a value that holds ',' or ':'")
    if exc.context_mark is not None and "simple key" in context:
        key_line = exc.context_mark.line + 1
        at = _colon_without_space(source(key_line))
        if at is not None:
            return fail(f"no space after the colon in '{source(key_line).strip()}'", (key_line, at + 1),
                        "YAML needs a space after the colon of a key: write 'key: value'")
    if "mapping values are not allowed" in problem:
        # the line before, read as text running on: 'Type:Pass' then 'End: true'
        previous = next((n for n in range(line - 1, 0, -1)
                         if source(n).strip() and not source(n).lstrip().startswith("#")), 0)
        at = _colon_without_space(source(previous)) if previous else None
        if at is not None and _indent(source(previous)) <= _indent(source(line)):
            return fail(f"no space after the colon in '{source(previous).strip()}'", (previous, at + 1),
                        "YAML needs a space after the colon of a key: write 'key: value'")
        key, _, value = source(line).strip().partition(": ")
        if ": " in value or value.endswith(":"):
            return fail(f"the value of '{key}' holds ': ', which YAML reads as another key", (line, col),
                        f"quote the value: {key}: \"{value}\"")
        if previous and _indent(source(line)) > _indent(source(previous)) and source(previous).partition(": ")[2].strip():
            return fail(f"line {line} is indented more than the line above, which already has its value",
                        (line, 1), f"indent it like the line above ({_indent(source(previous))} spaces), or "
                                   "check the line above for a missing space after a colon")
        return fail("a ':' where no key can start", (line, col),
                    "check this line and the one above for indentation, a missing space after a colon, "
                    "or a value holding ': ' that needs quotes")
    if "'-' indicator" in problem:
        return fail(f"line {line} sits among the items of a list but is not an item ('- ...')", (line, 1),
                    "write it as a list item ('- ...'), or indent it less to end the list")
    if "expected <block end>" in problem or "did not find expected key" in problem:
        return fail(f"line {line}'s indentation ({_indent(source(line))} spaces) does not line up with the lines above",
                    (line, 1), "the keys of one mapping (and the items of one list) start in the same column; "
                               "YAML indents with spaces")
    hint = context or "check the indentation, the spaces after colons, and that quotes and brackets are closed"
    return fail(problem, (line, col), hint)


def _colon_without_space(line: str) -> int | None:
    """The index of the colon in ``key:value`` (a key with no space after its colon), if any."""
    import re

    m = re.match(r"\s*(?:-\s+)?([A-Za-z_$][\w.$-]*):(?=[^\s/:][^:]*$)", line)
    return m.end(1) if m else None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_tab_at(text: str, line: int, col: int) -> bool:
    lines = text.splitlines()
    return 0 <= line < len(lines) and "\t" in lines[line][: col + 1]


def _index_node(node: yaml.Node, ptr: Pointer, values: dict, keys: dict, depth: int) -> None:
    values[ptr] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if depth > MAX_DEPTH:
        return
    if isinstance(node, yaml.MappingNode):
        for knode, vnode in node.value:
            key = str(knode.value)
            sub = ptr + (key,)
            keys[sub] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            _index_node(vnode, sub, values, keys, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_node(item, ptr + (i,), values, keys, depth + 1)


def _construct(node: yaml.Node, ptr: Pointer, values: dict, keys: dict, errors: list[Diagnostic], path: str, depth: int,
               budget: list[int]) -> Any:
    values[ptr] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if depth > MAX_DEPTH:
        raise _fail(path, "FE106", f"nesting is too deep (limit {MAX_DEPTH})", *values[ptr])
    budget[0] -= 1
    if budget[0] < 0:
        line, col = values[ptr]
        raise _fail(path, "FE106", "YAML aliases expand to more values than the file has characters", line, col,
                    hint="write the repeated parts out, or use fewer aliases of aliases")
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_COLLECTIONS:
        # !!set, !!omap, !!python/object:... on a mapping or a sequence: refused like a tag on a
        # scalar, not silently read as the plain data underneath.
        errors.append(Diagnostic("FE108", f"YAML tag '{_short_tag(node.tag)}' is not allowed", _mark(path, node),
                                 hint="app files hold plain data; tags that build objects are refused"))
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for knode, vnode in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                errors.append(Diagnostic("FE108", "YAML merge keys ('<<') are not supported", _mark(path, knode),
                                         hint="write the fields out; flowengine keeps app files explicit"))
                continue
            if not isinstance(knode, yaml.ScalarNode):
                errors.append(Diagnostic("FE108", "a mapping key must be a plain string", _mark(path, knode)))
                continue
            key = str(knode.value)
            sub = ptr + (key,)
            if key in out:
                errors.append(Diagnostic(
                    "FE107", f"duplicate key '{key}'", _mark(path, knode),
                    hint=f"first defined at line {keys[sub][0]}; AWS rejects duplicate state names and fields, YAML would keep the last",
                ))
                continue
            keys[sub] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            out[key] = _construct(vnode, sub, values, keys, errors, path, depth + 1, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, ptr + (i,), values, keys, errors, path, depth + 1, budget)
                for i, item in enumerate(node.value)]
    return _scalar(node, path, errors)


_PLAIN_COLLECTIONS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def _mark(path: str, node: yaml.Node) -> Span:
    return Span(path, node.start_mark.line + 1, node.start_mark.column + 1)


_RESOLVER = yaml.resolver.Resolver()


def _scalar(node: yaml.ScalarNode, path: str, errors: list[Diagnostic]) -> Any:
    """Plain JSON scalars only: str, int, float, bool, null.  Timestamps stay strings."""
    tag = node.tag
    text = node.value
    if tag == "tag:yaml.org,2002:str" or node.style in ("'", '"', "|", ">"):
        return text
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        if text in _BOOL:
            return _BOOL[text]
        return text  # yes/no/on/off stay strings: JSON has no such booleans, and ASL means text
    if tag == "tag:yaml.org,2002:int":
        digits = text.replace("_", "")
        limit = sys.get_int_max_str_digits()
        if limit and len(digits) > limit:  # int() would raise; AWS bounds JSON integers far lower
            errors.append(Diagnostic("FE108", f"an integer of {len(digits)} digits is too large (at most {limit} digits)",
                                     _mark(path, node)))
            return text
        for base in (0, 10):  # 0x1F and 0o17 as written; '010' as decimal, as JSON means it
            try:
                return int(digits, base)
            except ValueError:
                continue
        return text
    if tag == "tag:yaml.org,2002:float":
        low = text.lower()
        if low in (".inf", "+.inf", "-.inf", ".nan"):
            errors.append(Diagnostic("FE108", f"'{text}' is not a JSON number", _mark(path, node)))
            return text
        try:
            number = float(text.replace("_", ""))
        except ValueError:
            return text
        if math.isinf(number):  # 1e400: a double cannot hold it, and JSON has no Infinity
            errors.append(Diagnostic("FE108", f"the number '{text[:20]}' is out of range (larger than a double)",
                                     _mark(path, node)))
            return text
        return number
    if tag == "tag:yaml.org,2002:timestamp":
        return text
    if tag in ("tag:yaml.org,2002:binary", "tag:yaml.org,2002:value", "tag:yaml.org,2002:yaml"):
        return text
    errors.append(Diagnostic("FE108", f"YAML tag '{tag}' is not allowed", _mark(path, node),
                             hint="app files hold plain data; tags that build objects are refused"))
    return text


def source_from_value(value: Any, name: str = "<dict>") -> Source:
    """Wrap an in-memory definition (a dict) as a Source without positions."""
    return Source(name, value, "dict")
