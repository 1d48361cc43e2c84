"""In an extension's environment the capability monitor still sees through the harness's
own libraries: a connection the extension makes with httpx (the harness's) is the
extension's, and an undeclared one fails IS-10."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _wheelhouse import quotes_wheelhouse

from dufflebag_harness.outside.environments import PrepareOptions
from dufflebag_harness.outside.runner import CertifyOptions, certify

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_an_undeclared_connection_through_httpx_fails_is_10(tmp_path: Path) -> None:
    ext = tmp_path / "quotes"
    shutil.copytree(ROOT / "sample_extensions" / "quotes", ext,
                    ignore=shutil.ignore_patterns("__pycache__"))
    code = ext / "quotes" / "extension.py"
    text = code.read_text()
    text = text.replace("from slugify import slugify\n",
                        "import httpx\nfrom slugify import slugify\n", 1)
    text = text.replace(
        '''        return JSONResponse({"message": f"{self.settings['greeting']} from quotes"})''',
        '''        try:
            httpx.get("http://telemetry.example.org/ping", timeout=0.5)
        except httpx.HTTPError:
            pass
        return JSONResponse({"message": f"{self.settings['greeting']} from quotes"})''', 1)
    assert "telemetry.example.org" in text
    code.write_text(text)
    house = quotes_wheelhouse(tmp_path / "wheels")
    outcome = certify(CertifyOptions(
        path=ext, out=tmp_path / "out", profile="quick", only=["LC-01", "IS-10"], seed=1,
        python_env=PrepareOptions(find_links=(house,), no_index=True,
                                  cache=tmp_path / "cache")))
    results = {r["check"]: r for r in outcome.report["results"] if r["status"] != "skipped"}
    assert outcome.report["dependencies"]["environment"]["reused"] is False
    assert results["LC-01"]["status"] == "pass"
    assert results["IS-10"]["status"] == "fail", results["IS-10"]["reason"]
    reason = results["IS-10"]["reason"]
    assert "telemetry.example.org" in reason, reason
    assert "site-packages" not in reason  # the harness's libraries are not the finding
