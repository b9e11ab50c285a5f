"""Known weight files: where they come from, how to check them, where vidcolor looks for them.

Nothing is ever downloaded implicitly: ``fetch`` runs only when a user asks for it
(``vidcolor weights fetch NAME``), and a feature network asked for without its file is an error
that names the file and that command. Where files live: ``vidcolor.places`` (the folder given,
``$VIDCOLOR_WEIGHTS``, a source checkout's ``weights/``, else ``~/.local/share/vidcolor/weights``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vidcolor.errors import UsageError, WeightsError
from vidcolor.places import weights_place


@dataclass(frozen=True)
class WeightFile:
    """A weight file vidcolor knows.

    ``sha256`` is the full digest, or the leading hex digits that the publisher embeds in the
    file name (torchvision does so, and checks only that prefix itself), or empty where the
    publisher gives none: such a file can be imported (unverified) but never fetched.
    """

    name: str
    filename: str
    url: str
    sha256: str
    approx_mb: int
    purpose: str


KNOWN: dict[str, WeightFile] = {
    w.name: w
    for w in (
        WeightFile(
            name="vgg19",
            filename="vgg19-dcbb9e9d.pth",
            url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
            sha256="dcbb9e9d",
            approx_mb=548,
            purpose="VGG19 ImageNet features (torchvision) for the style loss: --features vgg",
        ),
        WeightFile(
            name="clip-vit-b32",
            filename="ViT-B-32.pt",
            url="https://openaipublic.azureedge.net/clip/models/"
            "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",
            sha256="40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
            approx_mb=338,
            purpose="OpenAI CLIP ViT-B/32 for the CLIP loss: --clip",
        ),
        WeightFile(
            name="eccv16",
            filename="colorization_release_v2-9b330a0b.pth",
            url="https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth",
            sha256="9b330a0b",
            approx_mb=123,
            purpose="Zhang et al. ECCV 2016 colorization network: automatic colour without --style or --hints",
        ),
        WeightFile(
            name="siggraph17",
            filename="siggraph17-df00044c.pth",
            url="https://colorizers.s3.us-east-2.amazonaws.com/siggraph17-df00044c.pth",
            sha256="df00044c",
            approx_mb=131,
            purpose="Zhang et al. SIGGRAPH 2017 colorization network: automatic colour with --auto-model siggraph17",
        ),
        WeightFile(
            name="bisenet",
            filename="79999_iter.pth",
            url="https://drive.google.com/open?id=154JgKpzCPW82qINcVieuPH3fZ2e0P812",
            sha256="",
            approx_mb=51,
            purpose="BiSeNet face parsing (zllrunning/face-parsing.PyTorch) for --segmenter bisenet",
        ),
    )
}


def weights_dir(override: str | os.PathLike | None = None) -> Path:
    """The folder searched for weight files (see ``vidcolor.places``)."""
    return weights_place(override).path


def entry(name: str) -> WeightFile:
    try:
        return KNOWN[name]
    except KeyError:
        raise UsageError(f"unknown weights {name!r}; known: {', '.join(KNOWN)}") from None  # a typo: exit 2


def locate(name: str, folder: str | os.PathLike | None = None) -> Path | None:
    """The path of a known weight file if it is present (not verified: see ``verify``)."""
    path = weights_dir(folder) / entry(name).filename
    return path if path.is_file() else None


def require(name: str, folder: str | os.PathLike | None = None) -> Path:
    """The path of a weight file the user asked for; a one-line error naming how to get it if absent."""
    path = locate(name, folder)
    if path is None:
        w = entry(name)
        raise WeightsError(
            f"{weights_dir(folder) / w.filename}: not found ({w.purpose}); get it with "
            f"'vidcolor weights fetch {w.name}' or 'vidcolor weights import {w.name} FILE'"
        )
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(name: str, path: Path) -> str:
    """The file's sha256; raises :class:`WeightsError` unless it is the published digest of ``name`` (if any)."""
    w = entry(name)
    actual = sha256_of(path)
    if w.sha256 and not actual.startswith(w.sha256):
        raise WeightsError(f"{path}: sha256 {actual[:16]}… does not match {w.name}'s published {w.sha256[:16]}…")
    return actual


def import_file(name: str, source: Path, folder: str | os.PathLike | None = None) -> Path:
    """Verify a file the user already has and copy it into the weights folder under its known name."""
    source = Path(source)
    if not source.is_file():
        raise WeightsError(f"{source}: no such file")
    verify(name, source)
    return _install(source, weights_dir(folder) / entry(name).filename, copy=True)


def fetch(
    name: str, folder: str | os.PathLike | None = None, progress: Callable[[int, int | None], None] | None = None
) -> Path:
    """Download a known file from its official URL, verify it, and put it in place atomically."""
    w = entry(name)
    if not w.sha256:
        raise WeightsError(
            f"{w.name} has no direct download with a published digest; get it from {w.url} "
            f"and run 'vidcolor weights import {w.name} FILE'"
        )
    target = weights_dir(folder) / w.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{w.filename}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(w.url, timeout=60)
            except OSError as exc:
                raise WeightsError(
                    f"{w.url}: cannot download ({exc}); fetch it elsewhere and use 'vidcolor weights import'"
                ) from exc
            with response:
                total = int(response.headers.get("Content-Length") or 0) or None
                done = 0
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
        verify(name, Path(tmp))
        return _install(Path(tmp), target, copy=False)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _install(source: Path, target: Path, *, copy: bool) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    if copy:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        os.close(fd)
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    else:
        os.replace(source, target)
    return target
