#!/usr/bin/env python3
"""Finds dependencies a workspace crate declares but never uses in its code.

For each member's Cargo.toml, each entry of a dependency table must be used, under the name it is
declared with (dashes turned to underscores; with `package = "..."` the key is the name the code
uses, not the package's), in the code that table serves:

  * `[dependencies]`: the crate's `src/`;
  * `[dev-dependencies]`: `src/`, `tests/`, `examples/` or `benches/`;
  * `[build-dependencies]`: the `build` script.

(Target-specific tables, `[target.'cfg(...)'.dependencies]`, are checked likewise.) Comments and
string, character and raw string literals are removed first, so that a crate named in prose
(`amanah.toml`, "not base64") does not count. What counts as a use of `name`:
`name::` (a path, also `::name::` and in a derive such as `#[derive(name::Trait)]`), `use name`,
`extern crate name`, the macro `name!`, or the attribute `#[name(` / `#[name]`. A dependency
declared only to choose a transitive crate's features or version is listed, with its reason,
under `[package.metadata.cargo-machete] ignored = [...]` (the key cargo-machete reads).

    python3 .ci/unused_deps.py        # exit 1 and the list when something is unused
"""

import pathlib
import re
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
RAW_STRING = re.compile(r'(?:b|c)?r(#*)"')


def strip(code: str) -> str:
    """`code` with its comments removed and each string or character literal made empty."""
    out = []
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if code.startswith("//", i):
            end = code.find("\n", i)
            i = n if end < 0 else end
        elif code.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if code.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif code.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(" ")
        elif (
            c in "bcr"
            and (raw := RAW_STRING.match(code, i))
            and not (i and (code[i - 1].isalnum() or code[i - 1] == "_"))
        ):
            close = '"' + raw.group(1)
            end = code.find(close, raw.end())
            i = n if end < 0 else end + len(close)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and code[i] != '"':
                i += 2 if code[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'":
            # A character literal ('x', '\n', '\u{..}', '"'), else a lifetime or label ('a).
            if code.startswith("\\", i + 1):
                end = code.find("'", i + 3)
                i = n if end < 0 else end + 1
                out.append("' '")
            elif i + 2 < n and code[i + 2] == "'":
                i += 3
                out.append("' '")
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def sources(crate: pathlib.Path, folders: list[str]) -> str:
    text = []
    for folder in folders:
        path = crate / folder
        if path.is_file():
            text.append(path.read_text(encoding="utf-8"))
        elif path.is_dir():
            text.extend(p.read_text(encoding="utf-8") for p in sorted(path.rglob("*.rs")))
    return strip("\n".join(text))


def used(ident: str, code: str) -> bool:
    name = re.escape(ident)
    # Not preceded by a word, `.`, or another path segment (`module::name` is not the crate).
    start = rf"(?<![\w.$])(?<!\w::)(?<!\w\s::)"
    return any(
        re.search(pattern, code)
        for pattern in (
            rf"{start}{name}\s*::",
            rf"\buse\s+(?:::)?{name}\b",
            rf"\bextern\s+crate\s+{name}\b",
            rf"{start}{name}\s*!(?!=)",
            rf"#!?\[\s*{name}\s*[(\]]",
        )
    )


def unused(crate: pathlib.Path) -> list[str]:
    manifest = tomllib.loads((crate / "Cargo.toml").read_text(encoding="utf-8"))
    package = manifest.get("package", {})
    ignored = set(package.get("metadata", {}).get("cargo-machete", {}).get("ignored", []))
    build = package.get("build")
    normal = sources(crate, ["src"])
    code = {
        "dependencies": normal,
        "dev-dependencies": normal + "\n" + sources(crate, ["tests", "examples", "benches"]),
        "build-dependencies": sources(crate, [build]) if isinstance(build, str) else sources(crate, ["build.rs"]),
    }
    tables = [(table, manifest.get(table, {})) for table in code]
    for target, specs in manifest.get("target", {}).items():
        tables.extend((f"target.{target}.{table}", specs.get(table, {})) for table in code)
    found = []
    for table, dependencies in tables:
        text = code[table.rsplit(".", 1)[-1]]
        for name, spec in dependencies.items():
            if name in ignored:
                continue
            real = spec.get("package", name) if isinstance(spec, dict) else name
            if not used(name.replace("-", "_"), text):
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
