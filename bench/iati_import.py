#!/usr/bin/env python3
"""Imports a generated IATI 2.03 activity file of N activities into a fresh SQLite data directory
with `amanah iati import`, twice (the second import finds every activity unchanged), and prints
the time, the activities per second and the importer's peak resident memory, sampled every 20 ms
from /proc: its own (anonymous) memory, which must not grow with the file, apart from the pages
of the database file the kernel maps in (file-mapped, SQLite's memory map).

    python3 bench/iati_import.py target/release/amanah 1000 10000

Each activity is a project as a partner system would send it: three participating organisations
by ref (a pool of 200, registered on first sight), two recipient countries, two sectors, three
budgets, five transactions, two documents, a contact, a location and a result with two
indicators. Nothing here is timed by a test: the figures go to BENCHMARKS.md.
"""

import os
import subprocess
import sys
import tempfile
import time

ORGS = 200


def activity(n: int) -> str:
    org = lambda k: f"XM-BENCH-{k % ORGS}"
    year = 2015 + n % 8
    transactions = "".join(
        f"""<transaction ref="T{n}-{t}"><transaction-type code="3"/>
<transaction-date iso-date="{year}-0{t + 1}-15"/>
<value currency="EUR" value-date="{year}-0{t + 1}-15">{1000 + t}.50</value>
<provider-org ref="{org(n)}" type="10"><narrative>Organisation {n % ORGS}</narrative></provider-org>
</transaction>"""
        for t in range(5)
    )
    budgets = "".join(
        f"""<budget type="1" status="1"><period-start iso-date="{year + b}-01-01"/>
<period-end iso-date="{year + b}-12-31"/>
<value currency="EUR" value-date="{year + b}-01-01">250000.00</value></budget>"""
        for b in range(3)
    )
    return f"""<iati-activity default-currency="EUR" xml:lang="en">
<iati-identifier>{org(n)}-A{n:06}</iati-identifier>
<reporting-org ref="{org(n)}" type="10"><narrative>Organisation {n % ORGS}</narrative></reporting-org>
<title><narrative>Benchmark project {n}</narrative></title>
<description type="1"><narrative>A project generated for the import benchmark, number {n}.</narrative></description>
<participating-org ref="{org(n)}" role="1" type="10"><narrative>Organisation {n % ORGS}</narrative></participating-org>
<participating-org ref="{org(n + 1)}" role="4" type="21"><narrative>Organisation {(n + 1) % ORGS}</narrative></participating-org>
<participating-org ref="{org(n + 2)}" role="2" type="10"><narrative>Organisation {(n + 2) % ORGS}</narrative></participating-org>
<activity-status code="2"/>
<activity-date iso-date="{year}-01-01" type="1"/>
<activity-date iso-date="{year}-01-10" type="2"/>
<activity-date iso-date="{year + 3}-12-31" type="3"/>
<contact-info type="1"><person-name><narrative>Contact {n}</narrative></person-name><email>p{n}@example.org</email></contact-info>
<recipient-country code="ID" percentage="60"/>
<recipient-country code="PH" percentage="40"/>
<location><name><narrative>Site {n}</narrative></name><point srsName="http://www.opengis.net/def/crs/EPSG/0/4326"><pos>-6.2 106.8</pos></point></location>
<sector vocabulary="1" code="15113" percentage="70"/>
<sector vocabulary="1" code="15150" percentage="30"/>
{budgets}
{transactions}
<document-link format="application/pdf" url="https://example.org/{n}/report.pdf"><title><narrative>Report</narrative></title><category code="A05"/></document-link>
<document-link format="application/pdf" url="https://example.org/{n}/plan.pdf"><title><narrative>Plan</narrative></title><category code="A02"/></document-link>
<result type="1"><title><narrative>Result {n}</narrative></title>
<indicator measure="1" ascending="1"><title><narrative>Staff trained</narrative></title><baseline year="{year}" value="0"/>
<period><period-start iso-date="{year}-01-01"/><period-end iso-date="{year}-12-31"/><target value="40"/><actual value="38"/></period></indicator>
<indicator measure="2"><title><narrative>Share of audits published</narrative></title><baseline year="{year}" value="10"/></indicator>
</result>
</iati-activity>
"""


def write_file(path: str, count: int) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="2.03">\n')
        for n in range(count):
            out.write(activity(n))
        out.write("</iati-activities>\n")


def memory(pid: int) -> tuple[int, int]:
    """The process's own (anonymous) and file-mapped resident memory, in kB."""
    fields = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                fields[key] = value.split()[0] if value.split() else "0"
    except FileNotFoundError:
        return 0, 0
    return int(fields.get("RssAnon", 0)), int(fields.get("RssFile", 0))


def run(binary: str, data_dir: str, path: str) -> tuple[float, int, int, str]:
    env = dict(os.environ, AMANAH_DATA_DIR=data_dir)
    # The report goes to a file: a pipe nobody reads while the import runs would fill and stop it.
    report = open(os.path.join(os.path.dirname(path), "report.txt"), "w+", encoding="utf-8")
    started = time.monotonic()
    child = subprocess.Popen(
        [binary, "iati", "import", path],
        env=env,
        stdout=report,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    peak_anon = peak_file = 0
    while child.poll() is None:
        anon, file = memory(child.pid)
        peak_anon, peak_file = max(peak_anon, anon), max(peak_file, file)
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    report.seek(0)
    output = report.read().strip().splitlines()
    report.close()
    summary = output[-1] if output else ""
    if child.returncode != 0:
        sys.exit(f"the import failed: {summary}")
    return elapsed, peak_anon, peak_file, summary


def main() -> None:
    binary, *sizes = sys.argv[1:]
    for count in map(int, sizes):
        with tempfile.TemporaryDirectory() as scratch:
            path = os.path.join(scratch, "activities.xml")
            write_file(path, count)
            megabytes = os.path.getsize(path) / 1e6
            data_dir = os.path.join(scratch, "data")
            for label in ("first import", "second import (unchanged)"):
                elapsed, anon_kb, file_kb, summary = run(binary, data_dir, path)
                print(
                    f"{count} activities ({megabytes:.1f} MB), {label}: {elapsed:.1f} s, "
                    f"{count / elapsed:.0f} activities/s, peak own memory (RssAnon) "
                    f"{anon_kb / 1024:.0f} MB, peak file-mapped (RssFile) {file_kb / 1024:.0f} "
                    f"MB; {summary}"
                )


if __name__ == "__main__":
    main()
