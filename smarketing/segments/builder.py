"""The segment builder's form: a condition tree as flat form fields, and back.

Each node of the tree has a path: the root group is "n", its children "n-0", "n-1", their children "n-1-0"...
A node's inputs are named "<path>.<part>" (n-1.field, n-1.operator, n-1.value, n-1.value2 for "between",
n-1.values for "any of"; groups n-1.op and n-1.negate; activity n-1.kinds, n-1.within_days...). The server
rebuilds the tree from whatever was posted (a half-filled rule stays on the page, it just does not count
yet), applies the button pressed (add a rule or a group under a path, remove a path) and renders it again,
so the builder needs no client-side state and works with htmx or without it.
"""

import re

from django.http import QueryDict

from smarketing.segments import schema

PATH = re.compile(r"^n(?:-\d{1,3}){0,6}$")


def _children(data: QueryDict, path: str) -> list[str]:
    prefix = f"{path}-"
    found = set()
    for key in data:
        if key.startswith(prefix) and key.endswith(".kind"):
            rest = key[len(prefix) : -len(".kind")]
            if rest.isdigit():
                found.add(int(rest))
    return [f"{path}-{i}" for i in sorted(found)]


def parse(data: QueryDict, path: str = "n", depth: int = 1) -> dict:
    """The raw (not yet validated) definition the form describes."""
    node = {
        "op": "or" if data.get(f"{path}.op") == "or" else "and",
        "negate": data.get(f"{path}.negate") in ("1", "on", "true"),
        "rules": [],
    }
    if depth > schema.MAX_DEPTH + 1:
        return node
    for child in _children(data, path)[: schema.MAX_RULES]:
        kind = data.get(f"{child}.kind")
        if kind == "group":
            node["rules"].append(parse(data, child, depth + 1))
        elif kind == "event":
            node["rules"].append({"event": _event(data, child)})
        else:
            node["rules"].append(_rule(data, child))
    return node


def _rule(data: QueryDict, path: str) -> dict:
    rule = {"field": data.get(f"{path}.field", ""), "operator": data.get(f"{path}.operator", "")}
    operator = rule["operator"]
    if operator in schema.NO_VALUE:
        return rule
    if operator == "between":
        rule["value"] = [data.get(f"{path}.value", ""), data.get(f"{path}.value2", "")]
    elif operator in ("in", "not_in") and rule["field"] not in ("list", "segment"):
        values = [v for v in data.getlist(f"{path}.values") if v]
        if not values:  # text "any of" is one box, comma-separated
            values = [v.strip() for v in data.get(f"{path}.value", "").split(",") if v.strip()]
        rule["value"] = values
    else:
        rule["value"] = data.get(f"{path}.value", "")
    return rule


def _event(data: QueryDict, path: str) -> dict:
    event = {
        "kinds": [k for k in data.getlist(f"{path}.kinds") if k],
        "campaign": data.get(f"{path}.campaign") or None,
        "url_contains": data.get(f"{path}.url_contains") or None,
        "min_count": data.get(f"{path}.min_count") or 1,
    }
    window = data.get(f"{path}.window", "")
    if window == "days":
        event["within_days"] = data.get(f"{path}.within_days") or None
    elif window == "since":
        event["since"] = "last_sales_call"
    return event


def apply_action(tree: dict, action: str) -> dict:
    """Apply "add-rule:<path>", "add-event:<path>", "add-group:<path>" or "remove:<path>" to the tree."""
    verb, _, path = action.partition(":")
    if not PATH.match(path):
        return tree
    indexes = [int(i) for i in path.split("-")[1:]]
    if verb == "remove" and indexes:
        parent = _node_at(tree, indexes[:-1])
        if parent is not None and indexes[-1] < len(parent.get("rules", [])):
            del parent["rules"][indexes[-1]]
        return tree
    group = _node_at(tree, indexes)
    if group is None or "rules" not in group or len(group["rules"]) >= 20:
        return tree
    if verb == "add-rule":
        group["rules"].append({"field": "lifecycle_stage", "operator": "equals", "value": ""})
    elif verb == "add-event":
        group["rules"].append({"event": {"kinds": [], "min_count": 1, "within_days": 30}})
    elif verb == "add-group" and len(indexes) < schema.MAX_DEPTH - 1:
        group["rules"].append({"op": "or", "negate": False, "rules": [{"field": "", "operator": "", "value": ""}]})
    return tree


def _node_at(tree: dict, indexes: list[int]):
    node = tree
    for i in indexes:
        rules = node.get("rules")
        if rules is None or i >= len(rules):
            return None
        node = rules[i]
    return node


def view_tree(tree: dict, fields: dict[str, schema.Field], path: str = "n") -> dict:
    """The tree with what the template needs beside each node: its path, its field, its operators."""
    out = {"path": path, "kind": "group", "op": tree.get("op", "and"), "negate": tree.get("negate", False)}
    children = []
    for i, child in enumerate(tree.get("rules", [])):
        child_path = f"{path}-{i}"
        if "rules" in child:
            children.append(view_tree(child, fields, child_path))
        elif "event" in child:
            event = dict(child["event"])
            event["window"] = "days" if event.get("within_days") else ("since" if event.get("since") else "any")
            children.append({"path": child_path, "kind": "event", "event": event})
        else:
            field = fields.get(child.get("field")) or fields["lifecycle_stage"]
            operator = (
                child.get("operator") if child.get("operator") in field.operators else next(iter(field.operators))
            )
            value = child.get("value")
            children.append(
                {
                    "path": child_path,
                    "kind": "field",
                    "field": field,
                    "operator": operator,
                    "value": value if not isinstance(value, list) else "",
                    "values": [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else [],
                    "text_values": ", ".join(str(v) for v in value) if isinstance(value, list) else value or "",
                    "low": value[0] if isinstance(value, list) and len(value) == 2 else "",
                    "high": value[1] if isinstance(value, list) and len(value) == 2 else "",
                }
            )
    out["children"] = children
    return out


def describe(definition: dict, fields: dict[str, schema.Field], names: dict | None = None) -> str:
    """The definition in words, for the segment page ("Lifecycle stage is any of MQL, SQL and ...")."""
    names = names or {}
    parts = []
    for node in definition.get("rules", []):
        if "rules" in node:
            inner = describe(node, fields, names)
            parts.append(f"({inner})" if inner else "(everyone)")
        elif "event" in node:
            parts.append(_describe_event(node["event"], names))
        else:
            field = fields.get(node["field"])
            if field is None:
                parts.append("(a deleted property)")
                continue
            words = field.operators.get(node["operator"], node["operator"])
            value = node.get("value")
            if field.type == schema.LIST:
                value = names.get(("list", value), f"list {value}")
            elif field.type == schema.SEGMENT:
                value = names.get(("segment", value), f"segment {value}")
            elif field.choices and value is not None:
                labels = dict(field.choices)
                value = [labels.get(v, v) for v in value] if isinstance(value, list) else labels.get(value, value)
            if isinstance(value, list):
                value = (
                    " and ".join(str(v) for v in value) if node["operator"] == "between" else ", ".join(map(str, value))
                )
            if node["operator"] in ("within_last_days", "more_than_days_ago"):
                words = "in the last" if node["operator"] == "within_last_days" else "more than"
                value = f"{value} days" + (" ago" if node["operator"] == "more_than_days_ago" else "")
            parts.append(f"{field.label} {words}" + (f" {value}" if value not in (None, "") else ""))
    joiner = " or " if definition.get("op") == "or" else " and "
    text = joiner.join(parts)
    if definition.get("negate"):
        return f"not ({text or 'everyone'})"
    return text


def _describe_event(event: dict, names: dict) -> str:
    kinds = schema.event_kinds()
    what = " or ".join(kinds.get(k, k).lower() for k in event["kinds"])
    text = f"had {what}"
    if event.get("min_count", 1) > 1:
        text += f" at least {event['min_count']} times"
    if event.get("campaign"):
        text += f" in {names.get(('campaign', event['campaign']), 'campaign ' + str(event['campaign']))}"
    if event.get("url_contains"):
        text += f" on an address containing “{event['url_contains']}”"
    if event.get("within_days"):
        text += f" in the last {event['within_days']} days"
    elif event.get("since"):
        text += " " + schema.SINCE_CHOICES[event["since"]]
    return text
