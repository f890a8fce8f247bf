#!/usr/bin/env python3
"""Finds dependencies a workspace crate declares but never names in its code.

For each member's Cargo.toml: every `[dependencies]` entry must be named (as `crate_name`, dashes
turned to underscores, or its `package =` rename) somewhere in the crate's `src/` or `build`
script; every `[dev-dependencies]` entry in `src/`, `tests/`, `examples/` or `benches/`. A
dependency declared only to choose a transitive crate's features or version is listed, with its
reason, under `[package.metadata.cargo-machete] ignored = [...]` (the key cargo-machete reads).

    python3 .ci/unused_deps.py        # exit 1 and the list when something is unused
"""

import pathlib
import re
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def sources(crate: pathlib.Path, folders: list[str]) -> str:
    text = []
    for folder in folders:
        path = crate / folder
        if path.is_file():
            text.append(path.read_text(encoding="utf-8"))
        elif path.is_dir():
            text.extend(p.read_text(encoding="utf-8") for p in sorted(path.rglob("*.rs")))
    return "\n".join(text)


def unused(crate: pathlib.Path) -> list[str]:
    manifest = tomllib.loads((crate / "Cargo.toml").read_text(encoding="utf-8"))
    package = manifest.get("package", {})
    ignored = set(package.get("metadata", {}).get("cargo-machete", {}).get("ignored", []))
    build = package.get("build")
    normal = sources(crate, ["src"] + ([build] if isinstance(build, str) else []))
    dev = normal + "\n" + sources(crate, ["tests", "examples", "benches"])
    found = []
    for table, text in (("dependencies", normal), ("dev-dependencies", dev)):
        for name, spec in manifest.get(table, {}).items():
            if name in ignored:
                continue
            real = spec.get("package", name) if isinstance(spec, dict) else name
            ident = name.replace("-", "_")
            if not re.search(rf"\b{re.escape(ident)}\b", text):
                found.append(f"{crate.name}/Cargo.toml [{table}] {name}" + ("" if real == name else f" (package {real})"))
    return found


def main() -> int:
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text(encoding="utf-8"))
    problems = []
    for member in workspace["workspace"]["members"]:
        problems.extend(unused(ROOT / member))
    for problem in problems:
        print(f"unused dependency: {problem}")
    if problems:
        print("remove them, or list one under [package.metadata.cargo-machete] ignored with the reason")
        return 1
    print(f"ok: every dependency of the {len(workspace['workspace']['members'])} crates is used")
    return 0


if __name__ == "__main__":
    sys.exit(main())
