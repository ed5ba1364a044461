"""Output for CI systems, shared by ``lint`` and ``check``: GitHub Actions workflow commands and JUnit XML.

Both escape what they embed: a module or budget name can hold ``%``, ``:``, ``,``, newlines or
``<``, and must never end an annotation early or break the XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Case", "junit_xml", "workflow_command"]


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(
    level: str, message: str, *, title: str, file: str | None = None, line: int | None = None, column: int | None = None
) -> str:
    """``::warning file=F,line=L,col=C,title=T::message`` (``level``: notice, warning or error)."""
    props = []
    if file:
        props.append(f"file={_escape_property(file)}")
        if line:
            props.append(f"line={line}")
            if column:
                props.append(f"col={column}")
    props.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(props)}::{_escape_data(message)}"


@dataclass(frozen=True)
class Case:
    """One JUnit test case: ``status`` is ``ok``, ``failure`` or ``skipped``."""

    classname: str
    name: str
    status: str
    message: str
    file: str | None = None
    line: int | None = None


def junit_xml(suite_name: str, cases: Sequence[Case]) -> str:
    """One testsuite holding ``cases``; a failure gets ``<failure>``, a skip ``<skipped>``, the rest ``<system-out>``."""
    suites = ET.Element("testsuites", name=suite_name)
    failures = sum(c.status == "failure" for c in cases)
    skipped = sum(c.status == "skipped" for c in cases)
    suite = ET.SubElement(
        suites, "testsuite", name=suite_name, tests=str(len(cases)), failures=str(failures), errors="0",
        skipped=str(skipped),
    )
    for c in cases:
        case = ET.SubElement(suite, "testcase", classname=c.classname, name=c.name)
        if c.file:
            case.set("file", c.file)
            if c.line:
                case.set("line", str(c.line))
        if c.status == "failure":
            ET.SubElement(case, "failure", message=c.message, type="costlab").text = c.message
        elif c.status == "skipped":
            ET.SubElement(case, "skipped", message=c.message)
        else:
            ET.SubElement(case, "system-out").text = c.message
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
