"""The builder's edits of a workflow definition: insert, replace, move and remove steps by id, and the step
forms' POST data turned into params. Pure functions on copies; the service validates and saves the result.

A place in the flow is (parent, branch, index): parent "" is the top level; otherwise the id of an if-step and
its "yes" or "no" branch.
"""

import copy
import secrets

from django.core.exceptions import ValidationError

BRANCHES = ("yes", "no")


def new_step_id(definition: dict) -> str:
    taken = {s["id"] for s in walk(definition)}
    while True:
        candidate = "s" + secrets.token_hex(4)
        if candidate not in taken:
            return candidate


def walk(definition: dict):
    def steps(items):
        for step in items:
            yield step
            for branch in BRANCHES:
                yield from steps(step.get(branch) or [])

    yield from steps((definition or {}).get("steps") or [])


def _container(definition: dict, parent: str, branch: str) -> list:
    if not parent:
        return definition.setdefault("steps", [])
    if branch not in BRANCHES:
        raise ValidationError("Choose the yes or the no branch.")
    for step in walk(definition):
        if step["id"] == parent and step["type"] == "if":
            return step.setdefault(branch, [])
    raise ValidationError("That place in the workflow no longer exists; reload the page.")


def _locate(definition: dict, step_id: str) -> tuple[list, int]:
    def search(items):
        for index, step in enumerate(items):
            if step["id"] == step_id:
                return items, index
            for branch in BRANCHES:
                found = search(step.get(branch) or [])
                if found:
                    return found
        return None

    found = search(definition.get("steps") or [])
    if found is None:
        raise ValidationError("That step no longer exists; reload the page.")
    return found


def insert_step(definition: dict, step: dict, *, parent: str = "", branch: str = "", index: int | None = None) -> dict:
    new = copy.deepcopy(definition or {"steps": []})
    items = _container(new, parent, branch)
    position = len(items) if index is None else max(0, min(int(index), len(items)))
    step = {"id": step.get("id") or new_step_id(new), "type": step["type"], "params": step.get("params") or {}}
    if step["type"] == "if":
        step.update(yes=[], no=[])
    items.insert(position, step)
    return new


def replace_params(definition: dict, step_id: str, params: dict) -> dict:
    new = copy.deepcopy(definition)
    items, index = _locate(new, step_id)
    items[index]["params"] = params
    return new


def remove_step(definition: dict, step_id: str) -> dict:
    """Remove a step (an if-step with its branches)."""
    new = copy.deepcopy(definition)
    items, index = _locate(new, step_id)
    del items[index]
    return new


def move_step(definition: dict, step_id: str, direction: str) -> dict:
    """Swap a step with its neighbour in the same list ("up" or "down"); at an end it stays."""
    new = copy.deepcopy(definition)
    items, index = _locate(new, step_id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]
    return new


# -- the step forms ----------------------------------------------------------------------------------------------
def _ints(values) -> list:
    return [v for v in values if v not in ("", None)]


def params_from_post(step_type: str, post) -> dict:
    """The params of a step form (inputs named p_<key>); a few steps have structured params."""
    if step_type == "wait":
        if post.get("p_mode") == "until":
            return {"until": {"weekdays": _ints(post.getlist("p_weekdays")), "time": post.get("p_time", "")}}
        return {"duration": {unit: post.get(f"p_{unit}", "") for unit in ("days", "hours", "minutes")}}
    if step_type == "if":
        return condition_from_post(post)
    if step_type == "assign_owner":
        rules = [
            {"field": f, "value": v, "owner": o}
            for f, v, o in zip(
                post.getlist("p_rule_field"), post.getlist("p_rule_value"), post.getlist("p_rule_owner"), strict=False
            )
            if f or v or o
        ]
        return {
            "mode": post.get("p_mode", "round_robin"),
            "team": post.get("p_team", ""),
            "rules": rules,
            "fallback_team": post.get("p_fallback_team", ""),
            "only_unowned": post.get("p_only_unowned", ""),
        }
    params = {}
    for key in post:
        if key.startswith("p_"):
            values = post.getlist(key)
            params[key[2:]] = values[-1] if values else ""  # a hidden "0" before a checkbox: the box wins
    return params


def condition_from_post(post) -> dict:
    """The if-step's condition from its form: an email of an earlier step opened/clicked, and/or one rule."""
    params: dict = {"condition": None, "email": None}
    if post.get("p_email_step"):
        params["email"] = {"step": post["p_email_step"], "event": post.get("p_email_event", "clicked")}
    kind = post.get("p_rule", "")
    value = post.get("p_rule_value", "").strip()
    rule = None
    if kind == "lifecycle_stage" and value:
        rule = {"field": "lifecycle_stage", "operator": "equals", "value": value}
    elif kind in ("segment", "list") and value:
        rule = {"field": kind, "operator": "in", "value": value}
    elif kind == "custom" and post.get("p_rule_field"):
        rule = {"field": post["p_rule_field"], "operator": "equals", "value": value}
    elif kind == "score" and value:
        rule = {"field": post.get("p_rule_field") or "engagement_score", "operator": "gte", "value": value}
    if rule is not None:
        params["condition"] = {"op": "and", "negate": False, "rules": [rule]}
    return params


def condition_form_values(params: dict) -> dict:
    """The if-step form's initial values from its stored params (the inverse of condition_from_post)."""
    values = {"email_step": "", "email_event": "clicked", "rule": "", "rule_field": "", "rule_value": ""}
    email = params.get("email") or {}
    values.update(email_step=email.get("step", ""), email_event=email.get("event", "clicked"))
    rules = ((params.get("condition") or {}).get("rules")) or []
    if rules and "field" in rules[0]:
        rule = rules[0]
        field = rule["field"]
        if field in ("lifecycle_stage", "segment", "list"):
            values.update(rule=field, rule_value=rule.get("value", ""))
        elif field in ("engagement_score", "fit_score"):
            values.update(rule="score", rule_field=field, rule_value=rule.get("value", ""))
        else:
            values.update(rule="custom", rule_field=field, rule_value=rule.get("value", ""))
    return values
