#!/usr/bin/env python3
"""Checks that every `crate::` path in eshm/src points down the layer order of DESIGN.md.

Each file belongs to the layer of its first path component under eshm/src (`ring/mapped.rs`
is `ring`). A file may name its own layer and the layers below it, never one above: the
dependency graph is then acyclic by construction. Prints the edges it found (`--edges`)
and exits 1 on a violation.
"""
import pathlib
import re
import sys

# Bottom up. Layers on one line may not use each other (none needs to).
ORDER = [
    ["sync"],
    ["layout"],
    ["schema"],
    ["message"],
    ["error"],
    ["os"],
    ["segment"],
    ["ring", "queue"],
    ["wait"],
    ["pubsub", "channel"],
    ["service"],
    ["action"],
    ["inspect", "select"],
    ["msg"],
    ["python"],
]
RANK = {name: rank for rank, names in enumerate(ORDER) for name in names}
SKIP = {"lib", "tests"}  # the crate root re-exports everything; loom models test protocols

root = pathlib.Path(__file__).resolve().parent.parent / "eshm" / "src"
edges, bad = set(), []
for path in sorted(root.rglob("*.rs")):
    rel = path.relative_to(root)
    layer = rel.parts[0].removesuffix(".rs")
    if layer in SKIP:
        continue
    if layer not in RANK:
        bad.append(f"{rel}: layer `{layer}` is not in the order (add it to ORDER)")
        continue
    text = path.read_text()
    # Test modules at the end of a file may reach anywhere.
    text = text.split("#[cfg(test)]\nmod tests", 1)[0]
    for m in re.finditer(r"\bcrate::(\w+)", text):
        target = m.group(1)
        if target in ("__private",) or target == layer:
            continue
        if target not in RANK:
            continue  # a re-export of the crate root (`crate::Message`) or a macro
        edges.add((layer, target))
        if RANK[target] >= RANK[layer] and target != layer:
            line = text[: m.start()].count("\n") + 1
            bad.append(f"{rel}:{line}: `{layer}` uses `crate::{target}`, which is not below it")

if "--edges" in sys.argv:
    for a, b in sorted(edges, key=lambda e: (RANK[e[0]], RANK[e[1]])):
        print(f"{a} -> {b}")
for b in bad:
    print(b)
print(f"{len(edges)} layer edges, {len(bad)} pointing the wrong way")
sys.exit(1 if bad else 0)
