"""Vega, Vega-Lite and vega-embed as one script to inline in the page (no CDN: the report works
offline). vl-convert bundles them from the copies its wheel ships; bundling takes seconds, so the
result is kept in the user's cache folder, one file per vl-convert and Vega-Lite version."""

from __future__ import annotations

import importlib.metadata
import os
import tempfile
from pathlib import Path

import vl_convert
from altair.utils._importers import vl_version_for_vl_convert


def _cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "engage"


def _bundle_path() -> Path:
    converter = importlib.metadata.version("vl-convert-python")
    return _cache_folder() / f"vega-embed-{converter}-{vl_version_for_vl_convert()}.js"


def _inline_safe(script: str) -> str:
    # A script element ends at the first "</script" whatever the JavaScript around it means.
    return script.replace("</script", "<\\/script")


def is_cached() -> bool:
    """Whether vega_embed_script reads the script from the cache (else it bundles it, seconds)."""
    return _bundle_path().is_file()


def vega_embed_script() -> str:
    """The script that defines `vegaEmbed`, from the cache when there; bundled (and cached) when not."""
    path = _bundle_path()
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    # Without a snippet the bundle defines window.vegaEmbed (as Altair's inline HTML relies on); the
    # package's stub types the snippet as required.
    script = _inline_safe(vl_convert.javascript_bundle(vl_version=vl_version_for_vl_convert()))  # type: ignore[call-arg]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed: a report built at the same time never reads half a file.
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False,
                                         suffix=".tmp") as out:
            out.write(script)
        os.replace(out.name, path)
    except OSError:
        pass  # a read-only home: the next report bundles again
    return script


if __name__ == "__main__":
    # `python -m clients.html_report.vega_script`: bundles into the cache (engagectl reports html runs it
    # beside its reads on a first run: vl-convert holds the interpreter while it bundles).
    vega_embed_script()
