#!/usr/bin/env python3
"""Checks the module structure of core/ and lua/ (a module is foo.c + foo.h):

- no cycle between modules, neither of includes nor of calls (a call edge: foo.c or foo.h
  names a function or variable that bar.h declares);
- lua/ includes no header of core/ (the binding never depends back on the engine);
- no C file over 1,000 lines.

Prints each problem and exits 1; prints a one-line summary and exits 0 when there is none.
Usage: tools/check_deps.py [--graph]   (--graph prints every module's dependencies)
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIRS = ["core", "lua"]
MAX_LINES = 1000

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
DECL = re.compile(r"\b(lc_[A-Za-z0-9_]+)\s*(?:\(|\[|;)")
TYPEDEF = re.compile(r"(?:typedef\s[^;{]*?|\}\s*)\b(lc_[A-Za-z0-9_]+_t)\s*;")
IDENT = re.compile(r"\b(lc_[A-Za-z0-9_]+)\b")
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
STRING = re.compile(r'"(?:\\.|[^"\\])*"')


def strip(text: str) -> str:
    return STRING.sub('""', COMMENT.sub(" ", text))


def modules() -> dict[str, dict]:
    mods: dict[str, dict] = {}
    for d in DIRS:
        for f in sorted((ROOT / d).glob("*.[ch]")):
            m = mods.setdefault(f.stem, {"dir": d, "files": [], "decls": set()})
            m["files"].append(f)
    for name, m in mods.items():
        for f in m["files"]:
            if f.suffix == ".h":
                text = strip(f.read_text())
                # what the header declares: functions, variables, types (lc_*_t)
                m["decls"] |= {d for d in DECL.findall(text) if not d.endswith("_t")}
                m["decls"] |= set(TYPEDEF.findall(text))
    return mods


def edges(mods: dict[str, dict]) -> dict[str, dict[str, str]]:
    owner = {}
    for name, m in mods.items():
        for d in m["decls"]:
            owner.setdefault(d, name)
    out: dict[str, dict[str, str]] = {n: {} for n in mods}
    for name, m in mods.items():
        for f in m["files"]:
            raw = f.read_text()
            for inc in INCLUDE.findall(raw):
                dep = Path(inc).stem
                if dep in mods and dep != name:
                    out[name].setdefault(dep, f"{f.relative_to(ROOT)} includes {inc}")
            for ident in set(IDENT.findall(strip(raw))):
                dep = owner.get(ident)
                if dep and dep != name and ident not in m["decls"]:
                    out[name].setdefault(dep, f"{f.relative_to(ROOT)} uses {ident}")
    return out


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sccs


def main() -> int:
    mods = modules()
    graph = edges(mods)
    problems = []
    for comp in cycles(graph):
        lines = [f"  {a} -> {b}: {graph[a][b]}" for a in comp for b in comp if b in graph[a]]
        problems.append("cycle between modules " + ", ".join(comp) + ":\n" + "\n".join(lines))
    for name, m in mods.items():
        if m["dir"] != "lua":
            continue
        for dep, why in graph[name].items():
            if mods[dep]["dir"] == "core":
                problems.append(f"lua/ depends on core/: {why}")
    for d in DIRS:
        for f in sorted((ROOT / d).glob("*.c")):
            n = f.read_text().count("\n")
            if n > MAX_LINES:
                problems.append(f"{f.relative_to(ROOT)}: {n} lines (over {MAX_LINES}): split it")
    if "--graph" in sys.argv:
        for name in sorted(graph):
            print(f"{name}: {' '.join(sorted(graph[name]))}")
    for p in problems:
        print(p)
    if problems:
        print(f"check_deps: {len(problems)} problem(s)")
        return 1
    print(f"check_deps: {len(mods)} modules, no cycles, lua/ independent of core/, "
          f"no C file over {MAX_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
