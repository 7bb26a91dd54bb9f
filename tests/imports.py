#!/usr/bin/env python3
"""The file-level import graph of src/: which files use which (crate::, super::,
self:: paths and `mod` children), and every cycle. Usage: imports.py [SRC]."""
import os, re, sys
src = sys.argv[1] if len(sys.argv) > 1 else "src"
files = {}
for d, _, fs in os.walk(src):
    for f in fs:
        if f.endswith(".rs"):
            p = os.path.join(d, f)
            files[os.path.relpath(p, src)] = open(p).read()

def module_of(rel):
    parts = rel[:-3].split("/")
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts

mods = {}
for rel in files:
    if rel.startswith("bin/") or rel == "main.rs":
        continue
    mods[tuple(module_of(rel))] = rel

def resolve(path, here):
    # path: list of segments after crate:: or relative
    best = None
    for i in range(len(path), 0, -1):
        if tuple(path[:i]) in mods:
            best = mods[tuple(path[:i])]
            break
    return best

edges = {}
for rel, text in files.items():
    if rel not in mods.values():
        continue
    here = module_of(rel)
    if rel.endswith("mod.rs") or rel == "lib.rs":
        base = here
    else:
        base = here[:-1]
    # strip comments and test modules
    text = re.sub(r"//.*", "", text)
    text = text.split("#[cfg(test)]\nmod tests")[0]
    out = set()
    for m in re.finditer(r"\b(crate|super|self)((?:::\w+)+)", text):
        kind, rest = m.group(1), m.group(2).split("::")[1:]
        if kind == "crate":
            full = rest
        elif kind == "super":
            full = base[:-1] + rest if rel.endswith("mod.rs") else base[:-1] + rest if False else (here[:-2] if rel.endswith("mod.rs") else here[:-1])
            full = (here[:-1] if rel.endswith("mod.rs") else here[:-1]) + rest
            if rel.endswith("mod.rs"):
                full = here[:-1] + rest
            else:
                full = here[:-1] + rest
        else:
            full = (here if rel.endswith("mod.rs") else here) + rest
        # expand `use x::{a, b}` groups crudely: the prefix is enough
        t = resolve(full, here)
        if t and t != rel:
            out.add(t)
    # `use super::{A, B}` and the like: the module the braces are in.
    for m in re.finditer(r"\b(crate|super|self)((?:::\w+)*)::\{([^}]*)\}", text):
        kind, rest = m.group(1), [x for x in m.group(2).split("::") if x]
        full = rest if kind == "crate" else (here[:-1] + rest if kind == "super" else here + rest)
        # Each item: a module of its own (`super::{files, store::Store}`)
        # is that file; anything else is the module the braces name.
        for item in m.group(3).split(","):
            path = [x for x in item.strip().split(" as ")[0].split("::") if x and x != "self"]
            t = None
            if path and tuple(full + path[:1]) in mods:
                t = resolve(full + path, here)
            if t is None:
                t = resolve(full, here)
            if t and t != rel:
                out.add(t)
    # A parent naming a child module it declares (`jsonl::JsonlQueue`).
    if rel.endswith("mod.rs") or rel == "lib.rs":
        for child in re.findall(r"^\s*(?:pub(?:\([\w:]+\))? )?mod (\w+);", text, re.M):
            if re.search(r"\b%s::" % child, text.replace("mod %s;" % child, "")):
                t = resolve(here + [child], here)
                if t and t != rel:
                    out.add(t)
    edges[rel] = out

# cycles: strongly connected components (Tarjan)
index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
def strong(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        sccs.append(comp)
sys.setrecursionlimit(10000)
for v in sorted(edges):
    if v not in index:
        strong(v)
cyc = [sorted(c) for c in sccs if len(c) > 1]
for v in sorted(edges):
    print(f"{v}: {' '.join(sorted(edges[v]))}")
print()
if cyc:
    for c in cyc:
        print("CYCLE:", " ".join(c))
    sys.exit(1)
print("no cycles")
