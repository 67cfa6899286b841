"""Generates the Python stubs beside the .proto files (`make protos`), or with --check fails when
the committed stubs differ from what the protos generate (`make check`)."""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def generate(into: Path) -> None:
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / "engage").rglob("*.proto"))
    well_known = Path(protoc.__file__).parent / "_proto"
    plugins = Path(sys.executable).parent  # mypy-protobuf's plugins sit beside this interpreter
    args = ["protoc", f"-I{PROTO_ROOT}", f"-I{well_known}",
            f"--python_out={into}", f"--grpc_python_out={into}", f"--mypy_out={into}", f"--mypy_grpc_out={into}",
            f"--plugin=protoc-gen-mypy={plugins / 'protoc-gen-mypy'}",
            f"--plugin=protoc-gen-mypy_grpc={plugins / 'protoc-gen-mypy_grpc'}", *sources]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # Packages, so that setuptools finds them and the import path equals the proto path.
    for folder in [into / "engage", *(p for p in (into / "engage").rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()


def generated_files(root: Path) -> set[Path]:
    engage = root / "engage"
    found = {p.relative_to(root) for p in engage.rglob("*") if p.name.endswith(GENERATED_SUFFIXES)}
    return found | {p.relative_to(root) for p in engage.rglob("__init__.py")}


def check() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch)
        generate(fresh)
        expected, present = generated_files(fresh), generated_files(PROTO_ROOT)
        stale = sorted(str(p) for p in expected | present
                       if p not in expected or p not in present
                       or not filecmp.cmp(fresh / p, PROTO_ROOT / p, shallow=False))
    if stale:
        print("generated stubs are stale; run `make protos` and commit:\n  " + "\n  ".join(stale))
        return 1
    print(f"generated stubs match the protos ({len(expected)} files)")
    return 0


def main() -> int:
    if "--check" in sys.argv[1:]:
        return check()
    # Generated aside first, then copied over, then the stale ones removed: the stubs are never missing
    # while protoc runs (a test or server started meanwhile imports them), nor lost when protoc fails.
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch)
        generate(fresh)
        shutil.copytree(fresh / "engage", PROTO_ROOT / "engage", dirs_exist_ok=True)
        for stale in generated_files(PROTO_ROOT) - generated_files(fresh):
            if stale.name != "__init__.py":
                (PROTO_ROOT / stale).unlink()
    print("stubs generated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
