"""Choice rules: their shape, their operators and the values each operator takes.

A JSONPath rule is either a comparison (``Variable`` plus exactly one operator) or a boolean
combination (``And``/``Or`` lists, ``Not``); a top-level rule names ``Next``, a nested one must
not.  A JSONata rule is a ``Condition`` plus ``Next``.

Codes: FE220 rule without a comparison, FE221 comparison without Variable, FE222 top-level
rule without Next, FE223 Next (or Assign/Output) in a nested rule, FE224 value of the wrong
type for its operator, FE225 Timestamp value not RFC 3339, FE226 several operators in one
rule, FE227 And/Or/Not malformed, FE228 JSONata rule without Condition, FE229 empty Choices,
FE230 (warning) no Default.
Unknown fields (a misspelt operator) are FE201 with a did-you-mean.
"""

from __future__ import annotations

from typing import Any

from flowengine.dsl.asl import CHOICE_OPERATORS
from flowengine.dsl.source import Pointer
from flowengine.model.asl import JSONATA, JSONPATH, ChoiceState, StateMachine
from flowengine.validate import expressions
from flowengine.validate._common import Reporter, article, describe, did_you_mean, is_num, is_rfc3339, json_type, machines, shorten

_TOP_ONLY = ("Next", "Assign")
_JSONPATH_RULE = frozenset(CHOICE_OPERATORS) | {"Variable", "And", "Or", "Not", "Comment", "Next", "Assign"}
_JSONATA_RULE = frozenset({"Condition", "Next", "Comment", "Assign", "Output"})


def _expected(op: str) -> str:
    if op.endswith("Path"):
        return "path"
    if op.startswith("String"):
        return "string"
    if op.startswith("Numeric"):
        return "number"
    if op.startswith("Timestamp"):
        return "timestamp"
    return "boolean"  # BooleanEquals and the Is* tests


def check(sm: StateMachine, rep: Reporter) -> None:
    """Every Choice problem of a state machine and its nested scopes."""
    for scope in machines(sm):
        for st in scope.states.values():
            if isinstance(st, ChoiceState) and isinstance(st.raw, dict):
                _check_choice(st, rep)


def _check_choice(st: ChoiceState, rep: Reporter) -> None:
    raw, ptr, path = st.raw, st.loc.pointer, st.path
    choices = raw.get("Choices")
    if not isinstance(choices, list):
        return  # missing or the wrong type: .structure reports it
    if not choices:
        rep.report("FE229", "Choices is empty", ptr + ("Choices",), state=path,
                   hint="add at least one rule with Next, or use a Pass state")
    for i, rule in enumerate(choices):
        _rule(rep, ptr + ("Choices", i), rule, path, st.query_language, top=True)
    if choices and "Default" not in raw:
        # ASL: Default is optional but recommended; with none, an input no rule matches
        # fails the execution with States.NoChoiceMatched.
        rep.report("FE230", "Choice state has no Default: an input no rule matches fails the execution with "
                   "States.NoChoiceMatched", ptr, state=path, key=True, severity="warning",
                   hint="add Default: <state>; if every input matches a rule, silence this with --ignore FE230")


def _rule(rep: Reporter, ptr: Pointer, rule: Any, path: str, ql: str, *, top: bool, depth: int = 0) -> None:
    label = "rule" if top else "nested rule"
    if not isinstance(rule, dict):
        rep.report("FE203", f"a Choice {label} must be an object, not {json_type(rule)}", ptr, state=path,
                   hint="write {Variable: $.x, StringEquals: ..., Next: ...}" if ql == JSONPATH
                   else "write {Condition: '{% ... %}', Next: ...}")
        return
    if depth > 100:
        return
    if ql == JSONATA:
        _jsonata_rule(rep, ptr, rule, path)
        return
    unknown = False
    for key in rule:
        if key in _JSONPATH_RULE:
            continue
        unknown = True
        if key in _JSONATA_RULE:
            rep.report("FE408", f"{key} is a JSONata field; this Choice rule uses JSONPath", ptr + (key,),
                       state=path, key=True,
                       hint="JSONPath rules compare a Variable with an operator, or set QueryLanguage: JSONata")
            continue
        rep.report("FE201", f"unknown field '{key}' in a Choice {label}", ptr + (key,), state=path, key=True,
                   hint=did_you_mean(key, _JSONPATH_RULE) or "a rule has Variable and one operator (StringEquals, "
                   "NumericLessThan, IsPresent, ...), or And/Or/Not")
    ops = [k for k in rule if k in CHOICE_OPERATORS]
    combinators = [k for k in ("And", "Or", "Not") if k in rule]
    if top and "Assign" in rule:
        expressions.check_payload(rep, ptr + ("Assign",), rule["Assign"], state=path, field="Assign")
    if top and "Next" not in rule:
        rep.report("FE222", "a Choice rule has no Next", ptr, state=path,
                   hint="add Next: the state to go to when the rule matches")
    if not top:
        for key in _TOP_ONLY:
            if key in rule:
                rep.report("FE223", f"a nested rule cannot have {key}", ptr + (key,), state=path, key=True,
                           hint=f"{key} belongs on the top-level rule that holds And/Or/Not")
    if "Next" in rule and not isinstance(rule["Next"], str):
        rep.report("FE203", f"Next must be a string, not {json_type(rule['Next'])}", ptr + ("Next",), state=path,
                   hint="name the state to go to")
    if len(ops) + len(combinators) > 1:
        extra = (ops + combinators)[1]
        rep.report("FE226", f"a Choice {label} has {' and '.join(ops + combinators)}; it takes exactly one",
                   ptr + (extra,), state=path, key=True,
                   hint="combine comparisons with And/Or, each with its own Variable")
    if combinators:
        if "Variable" in rule:
            rep.report("FE226", f"Variable cannot stand next to {combinators[0]}", ptr + ("Variable",), state=path,
                       key=True, hint="put the Variable inside each nested rule")
        for comb in combinators:
            value = rule[comb]
            cptr = ptr + (comb,)
            if comb == "Not":
                if isinstance(value, dict):
                    _rule(rep, cptr, value, path, ql, top=False, depth=depth + 1)
                else:
                    rep.report("FE227", f"Not takes one rule (an object), not {json_type(value)}", cptr, state=path,
                               hint="write Not: {Variable: ..., <operator>: ...}")
            elif not isinstance(value, list) or not value:
                rep.report("FE227", f"{comb} takes a non-empty list of rules", cptr, state=path,
                           hint=f"write {comb}: [{{Variable: ..., ...}}, ...]")
            else:
                for j, sub in enumerate(value):
                    _rule(rep, cptr + (j,), sub, path, ql, top=False, depth=depth + 1)
        return
    if not ops:
        if not unknown:  # a misspelt operator is already reported as an unknown field
            rep.report("FE220", f"a Choice {label} has no comparison", ptr, state=path,
                       hint="add an operator such as StringEquals, NumericGreaterThan or IsPresent, or And/Or/Not")
        if "Variable" in rule:
            expressions.check_path(rep, ptr + ("Variable",), rule["Variable"], state=path, field="Variable")
        return
    if "Variable" not in rule:
        rep.report("FE221", f"a Choice {label} with {ops[0]} has no Variable", ptr, state=path,
                   hint="add Variable: the path of the value to compare, e.g. $.status")
    else:
        var = rule["Variable"]
        if isinstance(var, str):
            expressions.check_path(rep, ptr + ("Variable",), var, state=path, field="Variable")
        else:
            rep.report("FE203", f"Variable must be a string path, not {json_type(var)}", ptr + ("Variable",),
                       state=path, hint="write a path such as $.status")
    op = ops[0]
    _operand(rep, ptr + (op,), op, rule[op], path)


def _operand(rep: Reporter, ptr: Pointer, op: str, value: Any, path: str) -> None:
    want = _expected(op)
    if want == "path":
        if isinstance(value, str):
            expressions.check_path(rep, ptr, value, state=path, field=op, reference=True)
        else:
            rep.report("FE224", f"{op} takes a path, not {describe(value)}", ptr, state=path,
                       hint=f"write a path such as $.limit, or use {op[:-4]} for a literal value")
        return
    ok = {"string": isinstance(value, str), "number": is_num(value), "boolean": isinstance(value, bool),
          "timestamp": isinstance(value, str)}[want]
    if not ok:
        hint = "write true or false" if want == "boolean" else f"write {article(want)} {want}"
        if want == "number" and isinstance(value, str):
            hint = "write the number without quotes, or compare text with StringEquals"
        elif want == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
            hint = f"write {value.lower()} without quotes"
        elif want == "string" and is_num(value):
            hint = f"quote it ('{value}'), or compare numbers with Numeric{op[6:]}" if op != "StringMatches" else \
                "quote the pattern"
        elif isinstance(value, str) and value.startswith("$"):
            hint = f"to compare with a value from the input use {op}Path"
        rep.report("FE224", f"{op} takes {article(want)} {want}, not {describe(value)}", ptr, state=path,
                   hint=hint)
        return
    if want == "timestamp" and not is_rfc3339(value):
        rep.report("FE225", f"{op} value '{shorten(value)}' is not an RFC 3339 timestamp", ptr, state=path,
                   hint="write e.g. 2026-01-01T00:00:00Z (uppercase T, and Z or an offset such as +01:00)")


def _jsonata_rule(rep: Reporter, ptr: Pointer, rule: dict[str, Any], path: str) -> None:
    for key in rule:
        if key in _JSONATA_RULE:
            continue
        if key in _JSONPATH_RULE:
            rep.report("FE409", f"{key} is a JSONPath field; this Choice rule uses JSONata", ptr + (key,),
                       state=path, key=True,
                       hint="JSONata rules test a Condition: '{% $states.input.x > 1 %}', "
                            "or set QueryLanguage: JSONPath")
            continue
        rep.report("FE201", f"unknown field '{key}' in a Choice rule", ptr + (key,), state=path, key=True,
                   hint=did_you_mean(key, _JSONATA_RULE) or "a JSONata rule has Condition and Next")
    if "Next" not in rule:
        rep.report("FE222", "a Choice rule has no Next", ptr, state=path,
                   hint="add Next: the state to go to when the condition holds")
    if "Condition" not in rule:
        rep.report("FE228", "a JSONata Choice rule has no Condition", ptr, state=path,
                   hint="add Condition: '{% <expression> %}'")
        return
    cond = rule["Condition"]
    if isinstance(cond, bool):
        return
    if not isinstance(cond, str) or expressions.jsonata_body(cond) is None:
        rep.report("FE224", f"Condition must be a JSONata expression '{{% ... %}}' or a boolean, not "
                   f"{json_type(cond)} {shorten(cond)}", ptr + ("Condition",), state=path,
                   hint="wrap the test in {% %}: '{% $states.input.x > 1 %}'")
        return
    expressions.check_jsonata_value(rep, ptr + ("Condition",), cond, state=path, field="Condition")
    for key in ("Output", "Assign"):
        if key in rule:
            expressions.check_jsonata_value(rep, ptr + (key,), rule[key], state=path, field=key)
