"""The shape of the package: who may import whom, what a default run loads, plug-in stages."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidcolor import Settings, colorize_video
from vidcolor.cli import run
from vidcolor.registry import RunContext
from vidcolor.shared_types import Keyframe, Propagated, Reference
from vidcolor.solver import COLORIZERS, KeyframeColorizer
from vidcolor.solver.options import SolverOptions

PACKAGE = Path(__file__).resolve().parents[1] / "vidcolor"

# What each part of the package may import from the rest of it (docs/architecture.md's table). The stage
# packages know nothing of the spine above them; nothing but the CLI knows the CLI.
ALLOWED = {
    "errors": set(),
    "options": {"errors"},
    "geometry": set(),
    "sampling": set(),
    "shared_types": {"geometry", "sampling"},
    "native": set(),
    "colour": set(),
    "device": {"errors"},
    "weights": {"errors", "places"},
    "places": set(),
    "cache": set(),
    "capacity": set(),
    "collector": set(),
    "threads": set(),
    "smoothing": set(),
    "registry": {"errors"},
    "frames": {"cache", "errors", "options", "colour"},
    "temporal": {"errors", "options", "registry", "sampling", "shared_types", "smoothing"},
    "segment": {"errors", "native", "registry", "sampling", "shared_types", "weights"},
    "solver": {
        "errors", "options", "registry", "segment", "shared_types", "colour", "threads", "weights", "device",
        "smoothing",
    },
    "match": {"frames", "sampling", "shared_types", "temporal"},
    "settings": {"options", "frames", "solver", "temporal"},
    "stages": {"device", "errors", "registry", "settings", "segment", "solver", "temporal"},
    "references": {"cache", "colour", "errors", "frames", "geometry", "match", "native", "segment", "shared_types"},
    "keyframes": {
        "cache", "colour", "frames", "hints", "match", "references", "segment", "shared_types", "solver", "temporal",
        "threads",
    },
    "plan": {"cache", "colour", "errors", "frames", "hints", "keyframes", "match", "references", "settings"},
    "colouring": {
        "cache", "colour", "frames", "geometry", "hints", "keyframes", "places", "plan", "references", "settings",
        "stages", "temporal",
    },
    "film": {
        "capacity", "colouring", "errors", "frames", "keyframes", "plan", "references", "registry", "settings", "stages",
    },
    "pipeline": {
        "cache", "colour", "colouring", "errors", "film", "frames", "geometry", "hints", "keyframes", "match",
        "places", "plan", "references", "segment", "settings", "shared_types", "solver", "stages", "temporal",
    },
    "photos": {
        "cache", "colour", "errors", "frames", "geometry", "keyframes", "match", "native", "references", "segment",
        "settings", "solver", "stages", "temporal",
    },
    "preview": {"errors", "frames", "pipeline", "plan", "segment", "settings", "stages"},
    "hints": {"cache", "colour", "errors", "frames", "native", "temporal"},
    "hints_template": {"errors", "frames"},
    "batch": {
        "cache", "capacity", "errors", "frames", "hints", "photos", "pipeline", "plan", "references", "registry", "settings",
        "stages",
    },
    "studio": {
        "cache", "colour", "errors", "film", "frames", "pipeline", "places", "plan", "preview", "segment", "settings",
        "stages",
    },
    "__init__": {"collector", "errors", "frames", "photos", "pipeline", "preview", "settings"},
    "__main__": {"cli"},
}  # fmt: skip


def _imports(path: Path) -> set[str]:
    """The top-level parts of vidcolor that a module imports (type-only imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "vidcolor":
            parts = node.module.split(".")
            found |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("vidcolor.")}
    return found


@pytest.mark.parametrize(
    "path", sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "cli"), ids=str
)
def test_every_module_imports_only_what_its_layer_may(path: Path) -> None:
    unit = path.relative_to(PACKAGE).with_suffix("").parts[0]
    used = _imports(path) - {unit, "__version__"}
    assert used <= ALLOWED[unit], f"{path.relative_to(PACKAGE)} imports {sorted(used - ALLOWED[unit])}"


DOCS = PACKAGE.parent / "docs"


def _doc_table(document: str) -> list[list[str]]:
    """The cells of the first table of ``docs/DOCUMENT``, one list per row (header rows left out)."""
    lines = (DOCS / document).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in lines[start + 2 : end]]


def _names(cell: str) -> set[str]:
    """The parts of vidcolor a docs table cell names in backticks (``frames/`` and ``errors.py`` as frames, errors)."""
    return {name.split(".")[0].rstrip("/") for name in re.findall(r"`([^`]+)`", cell)}


def test_the_architecture_document_says_what_this_test_allows() -> None:
    documented: set[str] = set()
    for part, _holds, may_import in _doc_table("architecture.md"):
        parts = _names(part)
        documented |= parts
        if "cli" in parts:
            continue  # the fence: everything public below it, nothing above
        allowed = set().union(*(ALLOWED[name] for name in parts))
        assert _names(may_import) == allowed, (part, sorted(_names(may_import) ^ allowed))
    assert documented == set(ALLOWED) - {"__init__", "__main__"} | {"cli"}


def test_the_errors_document_lists_every_exit_code() -> None:
    from vidcolor.errors import exit_codes

    documented = {int(code) for row in _doc_table("errors.md") for code in re.findall(r"\d+", row[0])}
    assert documented == set(exit_codes())


def test_a_default_run_imports_neither_torch_nor_matplotlib(tmp_path: Path, clip: Path, reference: Path) -> None:
    """The default stages need no torch (resolving the device or importing a solver must not load it), nor the
    matplotlib of MediaPipe's drawing helpers (a third of the start-up)."""
    argv = [str(clip), "--style", str(reference), "-o", str(tmp_path / "o.mp4"), "-q", "--no-cache"]
    heavy = ("torch", "matplotlib")
    probe = (
        f"import sys; from vidcolor.cli import run; code = run({argv!r}); "
        f"print(code, *(name in sys.modules for name in {heavy!r}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out[-3:] == ["0", "False", "False"]


class _FlatTeal(KeyframeColorizer):
    """A plug-in colorizer: one colour everywhere, built through the registry's one signature."""

    name = "test-flat-teal"
    built_with: tuple[SolverOptions, RunContext] | None = None
    calls = 0

    @classmethod
    def create(cls, options: SolverOptions, context: RunContext) -> _FlatTeal:
        cls.built_with = (options, context)
        return cls()

    def colorize(self, keyframe: Keyframe, reference: Reference, previous: Propagated | None) -> np.ndarray:
        _FlatTeal.calls += 1
        return np.full((*keyframe.luma.shape, 2), (0.05, -0.08), np.float32)


def test_a_registered_stage_runs_through_colorize_video_untouched(clip: Path, tmp_path: Path) -> None:
    # A reference of another scene (colour noise): no dense match, so the colorizer colours the keyframes.
    noise = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    reference = tmp_path / "noise.png"
    cv2.imwrite(str(reference), noise)
    COLORIZERS.register("test-flat-teal")(_FlatTeal)
    try:
        settings = Settings(
            colorizer="test-flat-teal",
            segmenter="whole",
            use_cache=False,
            keyframe_interval=10,
            solver=SolverOptions(continuity=0.5),
            weights_dir=tmp_path,
        )
        result = colorize_video(clip, reference, tmp_path / "o.mkv", settings)
    finally:
        COLORIZERS.unregister("test-flat-teal")
    assert result.frames == 30 and result.keyframes >= 3 and _FlatTeal.calls >= 1
    # It got its own options and the run's context, never the whole settings.
    assert _FlatTeal.built_with == (SolverOptions(continuity=0.5), RunContext("cpu", tmp_path))
    import av

    with av.open(str(tmp_path / "o.mkv")) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="yuv444p")
    # The flat colour's Cb, Cr samples (limited range: 128 + 224 * unit chroma) cover most of the frame.
    teal = (np.abs(frame[1].astype(float) - 139.2) < 4) & (np.abs(frame[2].astype(float) - 110.1) < 4)
    assert teal.mean() > 0.5, teal.mean()


def test_options_are_checked_before_any_model_loads(capsys, clip: Path, reference: Path, tmp_path: Path, monkeypatch):
    """A bad option is a usage error (exit 2) naming its flag, before MediaPipe (seconds to load) starts."""
    from vidcolor.segment import SEGMENTERS

    def no_loading(*args: object) -> None:
        raise AssertionError("a stage was built before the options were checked")

    monkeypatch.setattr(SEGMENTERS, "create", no_loading)
    cases = [
        (["--flow-preset", "nope"], "--flow-preset must be one of auto, ultrafast, fast, medium; got 'nope'"),
        (["--solve-size", "0"], "--solve-size must be at least 16 pixels; got 0"),
        (["--clip-prompts"], "--clip-prompts needs --clip"),
        (["--end", "2", "--duration", "1"], "--end and --duration both given"),
        (["--segmenter", "magic"], "--segmenter 'magic': unknown segmenter"),
    ]
    for extra, words in cases:
        code = run([str(clip), "--style", str(reference), "-o", str(tmp_path / "o.mp4"), "-q", *extra])
        err = capsys.readouterr().err.strip()
        assert code == 2, (extra, err)
        assert err.count("\n") == 0 and words in err, (extra, err)
        assert "Settings(" not in err and "SolverOptions(" not in err  # never the whole settings object


def test_the_library_names_settings_not_flags() -> None:
    from vidcolor.errors import SettingError
    from vidcolor.solver.options import SolverOptions

    with pytest.raises(SettingError, match=r"^solver\.solve_size must be at least 16 pixels; got 0$"):
        SolverOptions(solve_size=0)
    with pytest.raises(SettingError, match=r"^keyframe_interval must be at least 1; got 0$"):
        Settings(keyframe_interval=0)


def test_existing_output_names_the_api_argument_or_the_flag(capsys, clip: Path, reference: Path, tmp_path: Path):
    from vidcolor.errors import OutputExistsError

    target = tmp_path / "o.mp4"
    target.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="pass overwrite=True"):
        colorize_video(clip, reference, target, Settings(use_cache=False))
    assert run([str(clip), "--style", str(reference), "-o", str(target), "-q"]) == 3
    assert "already exists; pass -y to replace it" in capsys.readouterr().err
    assert target.read_bytes() == b"keep me"


def test_the_options_document_is_generated_from_the_settings() -> None:
    """docs/options.md is what scripts/options_doc.py writes from the declarations: it cannot drift."""
    script = PACKAGE.parent / "scripts" / "options_doc.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_the_readme_keeps_to_what_a_newcomer_needs() -> None:
    """What it is, the two set-up commands, the ways in with an example each, links (issue 19); the rest is docs/."""
    readme = (PACKAGE.parent / "README.md").read_text()
    assert len(readme) < 6000
    assert "bash scripts/demo.sh" in readme and "bash scripts/test.sh" in readme
    for page in ("guide", "options", "errors", "how-it-works", "architecture", "figures"):
        assert f"(docs/{page}.md)" in readme and (DOCS / f"{page}.md").is_file()
