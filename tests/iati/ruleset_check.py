#!/usr/bin/env python3
"""Checks an IATI XML file against an IATI Ruleset (the Standard's `standard.json`).

An independent reading of the Ruleset spec (`infra/iati/rulesets/SPEC.rst`, the JS edition the
IATI Validator uses), written for Amanah's tests: every context of the ruleset is selected with
XPath (lxml), every case of every rule is evaluated on each context element, and each failure is
printed as one JSON object per line:

    {"id": "6.2.2", "severity": "error", "message": "...", "context": "XM-DAC-5-7-P1"}

Exit status: 0 when no case of severity `error` failed, 1 when one did, 2 on bad usage or a rule
this checker does not know (so a ruleset it cannot read never passes).

Offline, the Registry's lists behind `idCondition` (NOT_EXISTING_ORG_ID, ...) and the
`ORG-ID-PREFIX` id set are unknown: such a condition is taken as true (the rule applies, the
stricter reading), and a `startswith` on the `ORG-ID-PREFIX` set is reported as not checked.

usage: ruleset_check.py RULESET.json FILE.xml [--today YYYY-MM-DD]
"""

import datetime
import json
import re
import sys
from decimal import Decimal, InvalidOperation

from lxml import etree


def as_list(value):
    if isinstance(value, list):
        return value
    return [value]


def texts(element, path):
    """The text of every node `path` selects from `element`."""
    result = element.xpath(path)
    out = []
    for node in as_list(result):
        if isinstance(node, etree._Element):
            out.append(node.text or "")
        elif isinstance(node, bool):
            continue
        else:
            out.append(str(node))
    return out


def truthy(element, expression):
    result = element.xpath(expression)
    if isinstance(result, list):
        return len(result) > 0
    if isinstance(result, float):
        return result != 0 and result == result
    return bool(result)


def parse_date(text):
    text = text.strip()
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        return None


def plus_one_year(day):
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def identify(element):
    """A short name for the context element in reports: its activity's identifier."""
    for ancestor in [element] + list(element.iterancestors()):
        for tag in ("iati-identifier", "organisation-identifier"):
            found = ancestor.find(tag)
            if found is not None and found.text:
                return found.text
    return element.getroottree().getpath(element)


class Checker:
    def __init__(self, ruleset, today):
        self.ruleset = ruleset
        self.today = today
        self.failures = []
        self.unchecked = []
        self.seen_unique = {}

    def fail(self, case, element, detail=""):
        info = case.get("ruleInfo", {})
        self.failures.append(
            {
                "id": info.get("id", "?"),
                "severity": info.get("severity", "error"),
                "message": info.get("message", ""),
                "context": identify(element),
                "detail": detail,
            }
        )

    def run(self, document):
        for context, rules in self.ruleset.items():
            for element in document.xpath(context):
                for name, body in rules.items():
                    for case in body.get("cases", []):
                        self.case(name, case, element)

    def case(self, name, case, element):
        if "condition" in case and not truthy(element, case["condition"]):
            return
        method = getattr(self, "rule_" + name.replace("-", "_"), None)
        if method is None:
            raise SystemExit(f"ruleset_check: unknown rule {name!r}")
        method(case, element)

    def rule_atleast_one(self, case, element):
        if not any(truthy(element, path) for path in case["paths"]):
            self.fail(case, element)

    def rule_no_more_than_one(self, case, element):
        count = sum(len(as_list(element.xpath(path))) for path in case["paths"])
        if count > 1:
            self.fail(case, element, f"{count} found")

    def rule_only_one_of(self, case, element):
        excluded = any(truthy(element, path) for path in case.get("excluded", []))
        count = sum(len(as_list(element.xpath(path))) for path in case["paths"])
        if (excluded and count > 0) or (not excluded and count != 1):
            self.fail(case, element)

    def rule_one_or_all(self, case, element):
        if truthy(element, case["one"]):
            return
        every = {
            "lang": (".//narrative", "@xml:lang"),
            "currency": (".//value", "@currency"),
            "sector": ("transaction", "sector"),
        }.get(case["all"])
        if every is None:
            raise SystemExit(f"ruleset_check: unknown one_or_all 'all' {case['all']!r}")
        nodes, needed = every
        if not all(truthy(node, needed) for node in element.xpath(nodes)):
            self.fail(case, element)

    def rule_dependent(self, case, element):
        present = [truthy(element, path) for path in case["paths"]]
        if any(present) and not all(present):
            self.fail(case, element)

    def numbers(self, case, element):
        values = []
        for path in case["paths"]:
            for text in texts(element, path):
                try:
                    values.append(Decimal(text.strip()))
                except InvalidOperation:
                    values.append(None)
        return values

    def rule_sum(self, case, element):
        values = self.numbers(case, element)
        if values and (None in values or sum(values) != Decimal(str(case["sum"]))):
            self.fail(case, element, f"sum {values}")

    def rule_strict_sum(self, case, element):
        self.rule_sum(case, element)

    def rule_range(self, case, element):
        low, high = case.get("min"), case.get("max")
        for value in self.numbers(case, element):
            if value is None or (low is not None and value < Decimal(str(low))) or (
                high is not None and value > Decimal(str(high))
            ):
                self.fail(case, element, f"value {value}")

    def dates(self, element, path):
        if path == "NOW":
            return [self.today]
        return [d for d in (parse_date(t) for t in texts(element, path)) if d is not None]

    def rule_date_order(self, case, element):
        less, more = self.dates(element, case["less"]), self.dates(element, case["more"])
        for early in less:
            for late in more:
                if early > late:
                    self.fail(case, element, f"{early} after {late}")

    def rule_date_now(self, case, element):
        for day in self.dates(element, case["date"]):
            if day > self.today:
                self.fail(case, element, f"{day} is in the future")

    def rule_time_limit(self, case, element):
        for start in self.dates(element, case["start"]):
            for end in self.dates(element, case["end"]):
                if end > plus_one_year(start):
                    self.fail(case, element, f"{start} to {end}")

    def rule_between_dates(self, case, element):
        starts, ends = self.dates(element, case["start"]), self.dates(element, case["end"])
        for day in self.dates(element, case["date"]):
            if any(day < start for start in starts) or any(day > end for end in ends):
                self.fail(case, element, f"{day}")

    def rule_regex_matches(self, case, element):
        pattern = re.compile(case["regex"])
        for path in case["paths"]:
            for text in texts(element, path):
                if not pattern.search(text):
                    self.fail(case, element, text)

    def rule_regex_no_matches(self, case, element):
        pattern = re.compile(case["regex"])
        for path in case["paths"]:
            for text in texts(element, path):
                if pattern.search(text):
                    self.fail(case, element, text)

    def rule_startswith(self, case, element):
        if case["prefix"] == ["ORG-ID-PREFIX"]:
            self.unchecked.append(case.get("ruleInfo", {}).get("id", "?"))
            return
        prefixes = [p for path in case["prefix"] for p in texts(element, path)]
        separator = case.get("separator", "")
        for path in case["paths"]:
            for text in texts(element, path):
                if not any(text.startswith(prefix + separator) for prefix in prefixes):
                    self.fail(case, element, text)

    def rule_unique(self, case, element):
        key = tuple(tuple(texts(element, path)) for path in case["paths"])
        seen = self.seen_unique.setdefault(case.get("ruleInfo", {}).get("id", "?"), set())
        if key in seen:
            self.fail(case, element, f"repeats {key}")
        seen.add(key)

    def rule_if_then(self, case, element):
        if truthy(element, case["if"]) and not truthy(element, case["then"]):
            self.fail(case, element)

    def rule_no_spaces(self, case, element):
        for path in case["paths"]:
            for text in texts(element, path):
                if text != text.strip():
                    self.fail(case, element, repr(text))

    def rule_loop(self, case, element):
        values = sorted(set(texts(element, case["foreach"])))
        subs = case.get("subs")
        for value in values:
            for name, body in case["do"].items():
                for inner in body.get("cases", []):
                    self.case(name, substitute(inner, value, subs), element)


def substitute(case, value, subs):
    """The case with `$1` replaced by `value` in its strings (only in `subs` keys when given)."""
    out = {}
    for key, item in case.items():
        if subs is not None and key not in subs:
            out[key] = item
        elif isinstance(item, str):
            out[key] = item.replace("$1", value)
        elif isinstance(item, list):
            out[key] = [x.replace("$1", value) if isinstance(x, str) else x for x in item]
        else:
            out[key] = item
    return out


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--today"):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        ruleset = json.load(handle)
    today = datetime.date.fromisoformat(argv[4]) if len(argv) == 5 else datetime.date.today()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    document = etree.parse(argv[2], parser)
    checker = Checker(ruleset, today)
    checker.run(document)
    for failure in checker.failures:
        print(json.dumps(failure, ensure_ascii=False))
    if checker.unchecked:
        print(
            json.dumps({"unchecked": sorted(set(checker.unchecked))}),
            file=sys.stderr,
        )
    return 1 if any(f["severity"] == "error" for f in checker.failures) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
