#!/usr/bin/env python3
"""byzsim scan beside fickling and modelscan on the scanner test corpus, file by file.

Usage (what `make compare-scanners` runs): compare-scanners.py BYZSIM_BINARY
Writes the corpus (Tests/ScanTests/Corpus/make_corpus.py) to a temporary directory, runs the three
scanners on every file, and prints a Markdown table: the expected verdict, each scanner's, and
how many of each scanner's verdicts match. Verdicts are mapped onto byzsim's four:
  fickling (loader.scan_file): LIKELY_SAFE -> safe; POSSIBLY_UNSAFE, SUSPICIOUS -> suspicious;
    LIKELY_UNSAFE, LIKELY_OVERTLY_MALICIOUS, OVERTLY_MALICIOUS -> malicious; an exception -> unreadable.
  modelscan (-r json): a CRITICAL or HIGH issue -> malicious; MEDIUM or LOW -> suspicious; no issue
    -> safe; a file it skipped or failed on -> unreadable.
"""
import json, os, subprocess, sys, tempfile

from fickling import loader
from fickling.analysis import Severity

here = os.path.dirname(os.path.abspath(__file__))
byzsim = sys.argv[1]
corpus = tempfile.mkdtemp(prefix="scan-corpus-")
subprocess.run([sys.executable, os.path.join(here, "..", "Tests", "ScanTests", "Corpus", "make_corpus.py"), corpus], check=True,
               stdout=subprocess.DEVNULL)
expected = json.load(open(os.path.join(corpus, "expected.json")))


def ours(path):
    r = subprocess.run([byzsim, "scan", "--json", path], capture_output=True, text=True)
    return json.loads(r.stdout)["files"][0]["verdict"]


def fickling_verdict(path):
    try:
        severity = loader.scan_file(path).severity
    except Exception as e:  # fickling raises on what it cannot parse
        return "unreadable"
    if severity == Severity.LIKELY_SAFE:
        return "safe"
    if severity in (Severity.POSSIBLY_UNSAFE, Severity.SUSPICIOUS):
        return "suspicious"
    return "malicious"


def modelscan_verdict(path):
    out = path + ".modelscan.json"
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "modelscan"), "-p", path, "-r", "json", "-o", out],
                   capture_output=True, text=True)
    try:
        report = json.load(open(out))
    except (OSError, ValueError):
        return "unreadable"
    finally:
        if os.path.exists(out):
            os.remove(out)
    severities = {i["severity"] for i in report.get("issues", [])}
    if severities & {"CRITICAL", "HIGH"}:
        return "malicious"
    if severities & {"MEDIUM", "LOW"}:
        return "suspicious"
    if report.get("errors") or not report.get("summary", {}).get("scanned", {}).get("total_scanned"):
        return "unreadable"
    return "safe"


rows, score = [], {"byzsim": 0, "fickling": 0, "modelscan": 0}
for name in sorted(expected):
    path = os.path.join(corpus, name)
    want = expected[name][0]
    got = {"byzsim": ours(path), "fickling": fickling_verdict(path), "modelscan": modelscan_verdict(path)}
    for k, v in got.items():
        score[k] += v == want
    mark = lambda k: got[k] if got[k] == want else f"**{got[k]}**"
    rows.append(f"| {name} | {want} | {mark('byzsim')} | {mark('fickling')} | {mark('modelscan')} |")
print("| file | expected | byzsim scan | fickling 0.1.12 | modelscan 0.8.8 |")
print("|---|---|---|---|---|")
print("\n".join(rows))
print(f"| **agreement with expected** ({len(expected)} files) | | {score['byzsim']} | {score['fickling']} | {score['modelscan']} |")
