"""CloudFormation documents: located loading with the short intrinsic tags, and the intrinsics.

Two things a SAM or CloudFormation template needs that an app file must refuse:

* :func:`load_template_text` reads YAML with CloudFormation's short tags (``!Ref``,
  ``!GetAtt``, ``!Sub`` ...) and turns each into its long form (``{"Ref": ...}``,
  ``{"Fn::GetAtt": [...]}``), keeping every node's line and column, as
  :mod:`flowengine.dsl.source` does for app files.  Loading stays safe: a tag is only ever
  renamed into a plain mapping key, never constructs an object; an unknown tag is FE108.
  JSON templates are plain JSON and go through :func:`flowengine.dsl.source.load_text`.
* :class:`Intrinsics` evaluates ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` (both forms),
  ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap``, ``Fn::If`` with the
  template's ``Conditions``, ``Fn::ImportValue``, ``Fn::Base64``, ``Fn::GetAZs``,
  ``Fn::Length`` and ``Fn::ToJsonString`` the way CloudFormation does at deploy time,
  except that references to the template's own resources become whatever the caller's
  ``reference`` callback answers (the local names of :mod:`flowengine.dsl.sam`).  It never
  raises: what cannot be resolved is reported as a located :class:`Diagnostic` and replaced
  by a stand-in string, so the rest of the template still loads.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from flowengine.dsl.source import (ALIAS_SLACK, MAX_DEPTH, Pointer, Source, _fail, _is_tab_at, _mark, _scalar,
                                   _YamlLoader)
from flowengine.errors import LoadError
from flowengine.model.diagnostics import Diagnostic

#: Short tag → long form.  ``!GetAtt`` and ``!Condition`` are special-cased below.
SHORT_TAGS: dict[str, str] = {
    "!Ref": "Ref", "!Condition": "Condition",
    **{f"!{n}": f"Fn::{n}" for n in (
        "GetAtt", "Sub", "Join", "Select", "Split", "FindInMap", "If", "Equals", "Not", "And", "Or",
        "ImportValue", "Base64", "GetAZs", "Cidr", "Transform", "Length", "ToJsonString",
    )},
}

#: The pseudo parameters and the values they take locally (the engine's default account).
PSEUDO_PARAMETERS: dict[str, Any] = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NotificationARNs": [],
}

#: ``${Name}``, ``${Res.Attr}`` and ``${!Literal}`` inside an ``Fn::Sub`` string.
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


class _NoValue:
    """``AWS::NoValue``: the property it stands in is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


# --- located YAML with short tags -----------------------------------------------------------------


def load_template_text(text: str, path: str) -> Source:
    """Parse a YAML template with CloudFormation's short tags into a located :class:`Source`
    whose value holds only plain JSON values (tags become their long-form mappings).
    Raises :class:`LoadError` (FE105/FE106/FE107/FE108) as :func:`flowengine.dsl.source.load_text` does."""
    if not text.strip():
        raise _fail(path, "FE104", "empty file")
    try:
        docs = list(yaml.compose_all(text, Loader=_YamlLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "malformed YAML"
        hint = exc.context
        if mark and _is_tab_at(text, mark.line, mark.column):
            problem, hint = "a tab character in indentation", "YAML indents with spaces only"
        raise _fail(path, "FE105", f"malformed YAML: {problem}", line, col, hint) from None
    except yaml.YAMLError as exc:
        raise _fail(path, "FE105", f"malformed YAML: {exc}") from None
    except RecursionError:
        raise _fail(path, "FE106", f"nesting is too deep (limit {MAX_DEPTH})") from None
    if len(docs) != 1 or docs[0] is None:
        raise _fail(path, "FE105" if docs else "FE104",
                    "more than one YAML document in the file" if len(docs) > 1 else "empty file")
    values: dict[Pointer, tuple[int, int]] = {}
    keys: dict[Pointer, tuple[int, int]] = {}
    errors: list[Diagnostic] = []
    builder = _Builder(path, values, keys, errors, [len(text) + ALIAS_SLACK])
    try:
        value = builder.node(docs[0], (), 0)
    except RecursionError:
        raise _fail(path, "FE106", f"nesting is too deep (limit {MAX_DEPTH})") from None
    if errors:
        raise LoadError(errors)
    return Source(path, value, "yaml", values, keys)


class _Builder:
    def __init__(self, path: str, values: dict, keys: dict, errors: list[Diagnostic], budget: list[int]) -> None:
        self.path, self.values, self.keys, self.errors, self.budget = path, values, keys, errors, budget

    def node(self, node: yaml.Node, ptr: Pointer, depth: int) -> Any:
        pos = (node.start_mark.line + 1, node.start_mark.column + 1)
        self.values[ptr] = pos
        if depth > MAX_DEPTH:
            raise _fail(self.path, "FE106", f"nesting is too deep (limit {MAX_DEPTH})", *pos)
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise _fail(self.path, "FE106", "YAML aliases expand to more values than the file has characters", *pos)
        tag = node.tag or ""
        if tag.startswith("!") and not tag.startswith("!!"):
            return self.tagged(node, tag, ptr, depth)
        return self.plain(node, ptr, depth)

    def plain(self, node: yaml.Node, ptr: Pointer, depth: int) -> Any:
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for knode, vnode in node.value:
                if not isinstance(knode, yaml.ScalarNode) or knode.tag == "tag:yaml.org,2002:merge":
                    self.errors.append(Diagnostic("FE108", "a mapping key must be a plain string (no merge keys)",
                                                  _mark(self.path, knode)))
                    continue
                key = str(knode.value)
                sub = ptr + (key,)
                if key in out:
                    self.errors.append(Diagnostic(
                        "FE107", f"duplicate key '{key}'", _mark(self.path, knode),
                        hint=f"first defined at line {self.keys[sub][0]}; CloudFormation rejects duplicate keys"))
                    continue
                self.keys[sub] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
                out[key] = self.node(vnode, sub, depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.node(item, ptr + (i,), depth + 1) for i, item in enumerate(node.value)]
        if node.tag and node.tag.startswith("!"):  # a tagged scalar reached here: keep its text
            return node.value
        return _scalar(node, self.path, self.errors)

    def tagged(self, node: yaml.Node, tag: str, ptr: Pointer, depth: int) -> Any:
        long = SHORT_TAGS.get(tag)
        if long is None:
            self.errors.append(Diagnostic(
                "FE108", f"YAML tag '{tag}' is not a CloudFormation intrinsic function", _mark(self.path, node),
                hint="the short forms are " + ", ".join(sorted(SHORT_TAGS))))
            return None
        sub = ptr + (long,)
        self.keys[sub] = self.values[ptr]
        self.values[sub] = self.values[ptr]
        if isinstance(node, yaml.ScalarNode):
            text = str(node.value)
            if long == "Fn::GetAtt":  # !GetAtt Resource.Attribute.Maybe.Dotted
                res, _, attr = text.partition(".")
                self.values[sub + (0,)] = self.values[sub + (1,)] = self.values[ptr]
                return {long: [res, attr]}
            if long == "Fn::GetAZs" and text == "":
                return {long: ""}
            return {long: text}
        # a sequence or mapping under the tag: its items keep their own positions
        return {long: self.plain(node, sub, depth + 1)}


# --- intrinsic functions -----------------------------------------------------------------------------

#: ``reference(logical_id, attribute_or_None, ptr)`` → the local value, or None when the
#: template has no such resource.
Reference = Callable[[str, "str | None", Pointer], "Any | None"]


class Intrinsics:
    """Evaluates intrinsic functions of one template (see the module docstring).

    ``parameters`` are the parameter values (Defaults with the overrides applied, lists for
    ``List<...>``/``CommaDelimitedList`` types); ``imports`` the values of
    ``Fn::ImportValue`` exports; ``reference`` answers ``Ref`` and ``Fn::GetAtt`` of
    resources.  Problems are appended to ``diagnostics``, located in ``source``.
    """

    def __init__(self, source: Source, *, parameters: Mapping[str, Any], pseudo: Mapping[str, Any],
                 mappings: Mapping[str, Any], conditions: Mapping[str, Any], reference: Reference,
                 imports: Mapping[str, Any] | None = None, diagnostics: list[Diagnostic] | None = None,
                 names: tuple[str, ...] | list[str] = ()) -> None:
        self.source = source
        self.parameters = dict(parameters)
        self.pseudo = dict(pseudo)
        self.mappings = mappings if isinstance(mappings, dict) else {}
        self.condition_defs = conditions if isinstance(conditions, dict) else {}
        self.reference = reference
        self.resource_names = list(names)
        self.imports = dict(imports or {})
        self.diagnostics: list[Diagnostic] = diagnostics if diagnostics is not None else []
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        self._reported: set[tuple[str, Pointer]] = set()

    # -- reporting ----------------------------------------------------------------------------

    def report(self, code: str, message: str, ptr: Pointer, hint: str | None = None,
               severity: str = "error") -> None:
        if (message, ptr) in self._reported:
            return
        self._reported.add((message, ptr))
        self.diagnostics.append(Diagnostic(code, message, self.source.span(ptr), hint=hint,
                                           severity=severity))  # type: ignore[arg-type]

    # -- conditions ----------------------------------------------------------------------------

    def condition(self, name: Any, ptr: Pointer) -> bool:
        """The value of a named condition of ``Conditions`` (unknown: reported, false)."""
        if not isinstance(name, str) or name not in self.condition_defs:
            self.report("FE902", f"condition {name!r} is not defined in Conditions", ptr,
                        hint=_close(name, self.condition_defs, "conditions"))
            return False
        if name in self._conditions:
            return self._conditions[name]
        if name in self._evaluating:
            self.report("FE903", f"condition '{name}' depends on itself", ptr)
            return False
        self._evaluating.add(name)
        value = self.boolean(self.condition_defs[name], ("Conditions", name))
        self._evaluating.discard(name)
        self._conditions[name] = value
        return value

    def boolean(self, value: Any, ptr: Pointer) -> bool:
        """A condition expression: Fn::Equals/And/Or/Not, ``{"Condition": name}`` or a literal."""
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            sub = ptr + (fn,)
            if fn == "Condition":
                return self.condition(arg, sub)
            if fn == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
                a, b = (self.resolve(x, sub + (i,)) for i, x in enumerate(arg))
                return _text(a) == _text(b)
            if fn == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
                return not self.boolean(arg[0], sub + (0,))
            if fn in ("Fn::And", "Fn::Or") and isinstance(arg, list) and arg:
                results = [self.boolean(x, sub + (i,)) for i, x in enumerate(arg)]
                return all(results) if fn == "Fn::And" else any(results)
        self.report("FE903", "not a condition: write Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition", ptr)
        return False

    # -- values -------------------------------------------------------------------------------

    def resolve(self, value: Any, ptr: Pointer) -> Any:
        """``value`` with every intrinsic function evaluated (``NO_VALUE`` where
        ``AWS::NoValue`` removes it)."""
        if isinstance(value, dict):
            if len(value) == 1:
                (key, arg), = value.items()
                if key == "Ref" or key.startswith("Fn::"):
                    return self.function(key, arg, ptr + (key,))
            out = {}
            for k, v in value.items():
                r = self.resolve(v, ptr + (k,))
                if r is not NO_VALUE:
                    out[k] = r
            return out
        if isinstance(value, list):
            items = [self.resolve(v, ptr + (i,)) for i, v in enumerate(value)]
            return [v for v in items if v is not NO_VALUE]
        return value

    def function(self, fn: str, arg: Any, ptr: Pointer) -> Any:
        handler = getattr(self, "_" + fn.replace("Fn::", "fn_").replace("Ref", "ref"), None)
        if handler is None:
            self.report("FE903", f"intrinsic function '{fn}' is not supported locally", ptr,
                        hint="supported: Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::FindInMap, "
                             "Fn::If, Fn::ImportValue, Fn::Base64, Fn::GetAZs, Fn::Length, Fn::ToJsonString")
            return _stand_in(fn)
        return handler(arg, ptr)

    def _ref(self, arg: Any, ptr: Pointer) -> Any:
        arg = self.resolve(arg, ptr)
        if not isinstance(arg, str):
            self.report("FE903", f"Ref takes a name, not {_type(arg)}", ptr)
            return _stand_in("Ref")
        return self.name(arg, None, ptr)

    def name(self, name: str, attr: str | None, ptr: Pointer) -> Any:
        """The value of ``Ref name`` (attr None) or ``Fn::GetAtt name.attr``."""
        if attr is None:
            if name == "AWS::NoValue":
                return NO_VALUE
            if name in self.pseudo:
                return self.pseudo[name]
            if name in self.parameters:
                return self.parameters[name]
        found = self.reference(name, attr, ptr)
        if found is not None:
            return found
        what = f"'{name}.{attr}'" if attr is not None else f"'{name}'"
        if name.startswith("AWS::") and attr is None:
            self.report("FE902", f"unknown pseudo parameter {what}", ptr,
                        hint=_close(name, list(self.pseudo) + ["AWS::StackName", "AWS::StackId", "AWS::NoValue"],
                                    "pseudo parameters"))
        else:
            self.report("FE902", f"{'Fn::GetAtt' if attr is not None else 'Ref'} {what} names no parameter or "
                        "resource of the template", ptr, hint=_close(name, self.known_names(), "names"))
        return _stand_in(name if attr is None else f"{name}.{attr}")

    def known_names(self) -> list[str]:
        """Names a Ref may use: parameters and the template's resources."""
        return list(self.parameters) + self.resource_names

    def _fn_GetAtt(self, arg: Any, ptr: Pointer) -> Any:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        arg = self.resolve(arg, ptr)
        if not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(x, str) and x for x in arg)):
            self.report("FE903", "Fn::GetAtt takes [LogicalId, Attribute] (!GetAtt LogicalId.Attribute)", ptr)
            return _stand_in("GetAtt")
        return self.name(arg[0], arg[1], ptr)

    def _fn_Sub(self, arg: Any, ptr: Pointer) -> Any:
        variables: dict[str, Any] = {}
        text = arg
        if isinstance(arg, list):
            if len(arg) != 2 or not isinstance(arg[1], dict):
                self.report("FE903", "Fn::Sub takes a string, or [string, {Name: value}]", ptr)
                return _stand_in("Sub")
            text = arg[0]
            variables = {k: self.resolve(v, ptr + (1, k)) for k, v in arg[1].items()}
            ptr_text = ptr + (0,)
        else:
            ptr_text = ptr
        text = self.resolve(text, ptr_text)
        if not isinstance(text, str):
            self.report("FE903", f"Fn::Sub takes a string, not {_type(text)}", ptr_text)
            return _stand_in("Sub")

        def one(m: re.Match[str]) -> str:
            inner = m.group(1)
            if inner.startswith("!"):  # ${!Literal} is written out as ${Literal}
                return "${" + inner[1:] + "}"
            name = inner.strip()
            if name in variables:
                return _text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                res, _, attr = name.partition(".")
                return _text(self.name(res, attr, ptr_text))
            return _text(self.name(name, None, ptr_text))

        return _SUB_VAR.sub(one, text)

    def _fn_Join(self, arg: Any, ptr: Pointer) -> Any:
        arg = self.resolve(arg, ptr)
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], list)):
            self.report("FE903", "Fn::Join takes [delimiter, [values...]]", ptr)
            return _stand_in("Join")
        return arg[0].join(_text(x) for x in arg[1])

    def _fn_Select(self, arg: Any, ptr: Pointer) -> Any:
        arg = self.resolve(arg, ptr)
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list)):
            self.report("FE903", "Fn::Select takes [index, [values...]]", ptr)
            return _stand_in("Select")
        try:
            index = int(arg[0])
            if index < 0:
                raise IndexError
            return arg[1][index]
        except (ValueError, TypeError, IndexError):
            self.report("FE903", f"Fn::Select index {arg[0]!r} is outside the list of {len(arg[1])}", ptr)
            return _stand_in("Select")

    def _fn_Split(self, arg: Any, ptr: Pointer) -> Any:
        arg = self.resolve(arg, ptr)
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and arg[0]
                and isinstance(arg[1], str)):
            self.report("FE903", "Fn::Split takes [delimiter, string]", ptr)
            return [_stand_in("Split")]
        return arg[1].split(arg[0])

    def _fn_FindInMap(self, arg: Any, ptr: Pointer) -> Any:
        default = NO_VALUE
        if isinstance(arg, list) and len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
            default = self.resolve(arg[3]["DefaultValue"], ptr + (3, "DefaultValue"))
            arg = arg[:3]
        arg = self.resolve(arg, ptr)
        if not (isinstance(arg, list) and len(arg) == 3):
            self.report("FE903", "Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]", ptr)
            return _stand_in("FindInMap")
        name, top, second = (_text(x) for x in arg)
        level: Any = self.mappings
        for step, what in ((name, "mapping"), (top, "key"), (second, "key")):
            if isinstance(level, dict) and step in level:
                level = level[step]
                continue
            if default is not NO_VALUE:
                return default
            self.report("FE902", f"Fn::FindInMap: no {what} '{step}' in Mappings"
                        + (f".{name}" if what == "key" else ""), ptr,
                        hint=_close(step, level if isinstance(level, dict) else {}, f"{what}s"))
            return _stand_in("FindInMap")
        return self.resolve(level, ("Mappings", name, top, second))

    def _fn_If(self, arg: Any, ptr: Pointer) -> Any:
        if not (isinstance(arg, list) and len(arg) == 3):
            self.report("FE903", "Fn::If takes [ConditionName, value if true, value if false]", ptr)
            return _stand_in("If")
        chosen = 1 if self.condition(arg[0], ptr + (0,)) else 2
        return self.resolve(arg[chosen], ptr + (chosen,))

    def _fn_Equals(self, arg: Any, ptr: Pointer) -> Any:
        return self.boolean({"Fn::Equals": arg}, ptr[:-1])

    def _fn_ImportValue(self, arg: Any, ptr: Pointer) -> Any:
        name = self.resolve(arg, ptr)
        if isinstance(name, str) and name in self.imports:
            return self.imports[name]
        self.report("FE904", f"Fn::ImportValue '{_text(name)}' is another stack's export; no local value was given",
                    ptr, severity="warning",
                    hint=f"give it with --parameter-overrides {_text(name)}=VALUE (or parameters= in Python)")
        return f"imported-{_text(name)}"

    def _fn_Base64(self, arg: Any, ptr: Pointer) -> Any:
        value = self.resolve(arg, ptr)
        return base64.b64encode(_text(value).encode()).decode()

    def _fn_GetAZs(self, arg: Any, ptr: Pointer) -> Any:
        region = self.resolve(arg, ptr) or self.pseudo.get("AWS::Region", "us-east-1")
        return [f"{region}{z}" for z in "abc"]

    def _fn_Length(self, arg: Any, ptr: Pointer) -> Any:
        value = self.resolve(arg, ptr)
        return len(value) if isinstance(value, list) else 0

    def _fn_ToJsonString(self, arg: Any, ptr: Pointer) -> Any:
        return json.dumps(self.resolve(arg, ptr), separators=(",", ":"))

    def _fn_Transform(self, arg: Any, ptr: Pointer) -> Any:
        self.report("FE903", "Fn::Transform (macros) cannot run locally", ptr, severity="warning")
        return _stand_in("Transform")


def _text(value: Any) -> str:
    """A resolved value as CloudFormation writes it into a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    if value is None or value is NO_VALUE:
        return ""
    return json.dumps(value, separators=(",", ":"))


def as_text(value: Any) -> str:
    """A resolved value written into a string, as CloudFormation does (lists comma-joined)."""
    return _text(value)


def _stand_in(what: str) -> str:
    """What an unresolvable intrinsic leaves behind (already reported)."""
    return f"unresolved-{re.sub(r'[^A-Za-z0-9]+', '-', what).strip('-').lower() or 'value'}"


def _type(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _close(name: Any, known: Any, what: str) -> str | None:
    import difflib

    names = [str(k) for k in known]
    if not isinstance(name, str) or not names:
        return None
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


__all__ = ["Intrinsics", "NO_VALUE", "PSEUDO_PARAMETERS", "SHORT_TAGS", "as_text", "load_template_text"]
