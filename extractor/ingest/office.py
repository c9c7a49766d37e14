"""Legacy binary Word (.doc) and Kingsoft WPS (.wps) files: OLE2 containers -> DOCX via LibreOffice -> Document.

LibreOffice runs headless in a private temporary profile (so concurrent conversions and a
user's open LibreOffice do not block each other), under a time limit after which its whole
process group is killed. Without LibreOffice the file fails with ``MissingTool`` naming the
package to install.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from extractor.document import Document
from extractor.errors import CorruptFile, EncryptedFile, MissingTool, UnsupportedFormat

DEFAULT_TIMEOUT_S = 120
INSTALL_HINT = ("install LibreOffice to read .doc/.wps files: `apt-get install libreoffice-writer-nogui` "
                "(Debian/Ubuntu; or libreoffice-writer), `brew install --cask libreoffice` (macOS), "
                "or put soffice on PATH / set OGI_SOFFICE")

_CANDIDATES = (
    "/usr/bin/soffice", "/usr/lib/libreoffice/program/soffice", "/opt/libreoffice/program/soffice",
    "/snap/bin/libreoffice", "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    r"C:\Program Files\LibreOffice\program\soffice.exe",
)


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-le")


def find_soffice() -> str | None:
    env = os.environ.get("OGI_SOFFICE")
    if env and Path(env).is_file():
        return env
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for cand in _CANDIDATES:
        if Path(cand).is_file():
            return cand
    for cand in sorted(Path("/opt").glob("libreoffice*/program/soffice")) if Path("/opt").is_dir() else []:
        return str(cand)
    return None


def ole_kind(data: bytes) -> str:
    """What an OLE2 container holds, from its directory entry names (UTF-16LE in the file)."""
    if _utf16("EncryptedPackage") in data or _utf16("EncryptionInfo") in data:
        return "encrypted-ooxml"
    if _utf16("WordDocument") in data:
        return "word"
    if _utf16("Workbook") in data or _utf16("Book") in data:
        return "excel"
    if _utf16("PowerPoint Document") in data:
        return "powerpoint"
    return "unknown"


def read_doc(data: bytes, path: str, timeout_s: float | None = None) -> Document:
    kind = ole_kind(data)
    name = Path(path).name
    if kind == "encrypted-ooxml":
        raise EncryptedFile(f"{name}: a password-protected Office document; remove the password and try again")
    if kind == "excel":
        raise UnsupportedFormat(f"{name}: an Excel workbook (OLE2), not a Word report")
    if kind == "powerpoint":
        raise UnsupportedFormat(f"{name}: a PowerPoint file (OLE2), not a Word report")
    soffice = find_soffice()
    if soffice is None:
        raise MissingTool(f"{name}: reading .doc/.wps needs LibreOffice (soffice), which is not installed; {INSTALL_HINT}")
    timeout = timeout_s if timeout_s is not None else float(os.environ.get("OGI_SOFFICE_TIMEOUT", DEFAULT_TIMEOUT_S))
    docx = convert_to_docx(data, soffice, timeout, suffix=Path(path).suffix.lower() or ".doc", name=name)
    from extractor.ingest.docx import read_docx

    doc = read_docx(docx, path)
    doc.kind = "doc"
    doc.notes.append("converted to DOCX with LibreOffice")
    return doc


def convert_to_docx(data: bytes, soffice: str, timeout: float, suffix: str = ".doc", name: str = "file") -> bytes:
    if suffix not in (".doc", ".wps", ".dot", ".wpt", ".rtf"):
        suffix = ".doc"
    with tempfile.TemporaryDirectory(prefix="ogi-soffice-") as tmp:
        tmpdir = Path(tmp)
        src = tmpdir / f"input{suffix}"
        src.write_bytes(data)
        out = tmpdir / "out"
        out.mkdir()
        profile = (tmpdir / "profile").as_uri()
        cmd = [soffice, f"-env:UserInstallation={profile}", "--headless", "--invisible", "--norestore",
               "--nolockcheck", "--nodefault", "--nologo", "--convert-to", "docx:MS Word 2007 XML",
               "--outdir", str(out), str(src)]
        env = dict(os.environ, HOME=str(tmpdir), SAL_USE_VCLPLUGIN="svp")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise CorruptFile(f"{name}: LibreOffice did not convert the file within {timeout:.0f}s "
                              "(a damaged or password-protected document?)") from None
        finally:
            if proc.poll() is None:
                _kill_group(proc)
        result = out / "input.docx"
        if proc.returncode != 0 or not result.is_file() or result.stat().st_size == 0:
            said = " ".join(output.decode("utf-8", "replace").split())[-300:]
            raise CorruptFile(f"{name}: LibreOffice could not convert the file (damaged or password-protected?)"
                              + (f": {said}" if said else ""))
        return result.read_bytes()


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        proc.kill()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
