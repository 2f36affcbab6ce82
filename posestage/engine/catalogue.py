"""The model catalogue: named pose models, where their files are, how to fetch and verify them.

``models/catalogue.toml`` (shipped inside the package as ``posestage/engine/catalogue.toml``) names
each model (``posenet-481x641``, ``movenet-lightning``, ...) with its family, resolution and
two files: the CPU variant and the Edge TPU-compiled one, each with a public URL and sha256.

Model files are looked up in the folders of ``POSESTAGE_MODELS_PATH`` (os.pathsep-separated)
first, then in the user cache (``platformdirs.user_cache_dir("posestage")/models``), which is
where :func:`fetch` downloads to. Nothing is ever downloaded implicitly.

The catalogue also lists posestage's own **test data** (``[[test_data]]``: Coral's public test
photos and the reference results its tests compare against, each with URL and sha256).
:func:`fetch_test_data` puts them, and every model, into the user cache (``posestage models
fetch --test-data``), where ``tests/conftest.py`` finds them when there is no ``../shared``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from posestage.errors import ModelError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ENV_PATH = "POSESTAGE_MODELS_PATH"
DEFAULT_MODEL = "posenet-481x641"
_REPO_CATALOGUE = Path(__file__).resolve().parents[2] / "models" / "catalogue.toml"

Progress = Callable[[int, "int | None"], None]


@dataclass(frozen=True)
class ModelFile:
    """One downloadable file of a catalogue model."""

    file: str
    url: str
    sha256: str


@dataclass(frozen=True)
class CatalogueModel:
    """A named model: ``resolution`` is (height, width); ``edgetpu`` may be ``None``."""

    name: str
    family: str
    resolution: tuple[int, int]
    cpu: ModelFile
    edgetpu: ModelFile | None
    license: str = "Apache-2.0"
    description: str = ""

    @property
    def files(self) -> list[ModelFile]:
        return [f for f in (self.cpu, self.edgetpu) if f is not None]

    def find(self, edgetpu: bool = False) -> Path | None:
        """The local path of the CPU (or Edge TPU) file, or ``None`` if not downloaded."""
        variant = self.edgetpu if edgetpu else self.cpu
        return None if variant is None else find_file(variant.file)

    def path(self, edgetpu: bool = False) -> Path:
        """Like :meth:`find`, but a missing file raises one line saying how to get it."""
        variant = self.edgetpu if edgetpu else self.cpu
        if variant is None:
            raise ModelError(f"model {self.name} has no Edge TPU variant: use --device cpu")
        found = find_file(variant.file)
        if found is None:
            raise ModelError(
                f"model {self.name} ({variant.file}) is not downloaded: run "
                f"`posestage models fetch {self.name}`, or download {variant.url} into "
                f"{cache_dir()} or a folder listed in {ENV_PATH}"
            )
        return found


def catalogue_path() -> Path:
    """The catalogue TOML: the packaged copy in a wheel install, else the repository's."""
    from importlib import resources

    packaged = resources.files("posestage.engine").joinpath("catalogue.toml")
    if packaged.is_file():
        return Path(str(packaged))
    return _REPO_CATALOGUE


@lru_cache(maxsize=4)
def load_catalogue(path: Path | None = None) -> dict[str, CatalogueModel]:
    """Parse the catalogue into ``{name: CatalogueModel}`` (in file order)."""
    path = Path(path) if path else catalogue_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ModelError(f"model catalogue {path} cannot be read: {err}") from None
    models = {}
    for name, entry in data.get("models", {}).items():
        try:
            models[name] = CatalogueModel(
                name=name,
                family=entry["family"],
                resolution=(int(entry["resolution"][0]), int(entry["resolution"][1])),
                cpu=ModelFile(**entry["cpu"]),
                edgetpu=ModelFile(**entry["edgetpu"]) if "edgetpu" in entry else None,
                license=entry.get("license", ""),
                description=entry.get("description", ""),
            )
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise ModelError(f"model catalogue {path}: entry {name} is invalid ({err})") from None
    return models


@dataclass(frozen=True)
class TestFile:
    """One file of posestage's test data: ``folder`` is ``images`` or ``reference``."""

    __test__ = False  # not a pytest test class

    folder: str
    file: str
    url: str
    sha256: str


@lru_cache(maxsize=4)
def load_test_data(path: Path | None = None) -> tuple[TestFile, ...]:
    """The catalogue's ``[[test_data]]`` entries."""
    path = Path(path) if path else catalogue_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return tuple(TestFile(**entry) for entry in data.get("test_data", ()))
    except (OSError, tomllib.TOMLDecodeError, TypeError) as err:
        raise ModelError(f"model catalogue {path}: test_data cannot be read ({err})") from None


def test_data_dir() -> Path:
    """Where :func:`fetch_test_data` puts photos and references:
    ``user_cache_dir("posestage")/test-data`` (``images/`` and ``reference/`` inside)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("posestage")) / "test-data"


def test_data_plan(
    folder: Path | None = None, catalogue: Path | None = None
) -> list[tuple[ModelFile | TestFile, Path]]:
    """Every file ``fetch_test_data`` fetches, with the folder it goes into: every catalogue
    model (CPU and Edge TPU files) into the models cache, the test photos and references into
    :func:`test_data_dir` (or ``folder/models``, ``folder/images``, ``folder/reference``)."""
    models_folder = Path(folder) / "models" if folder else cache_dir()
    data_folder = Path(folder) if folder else test_data_dir()
    plan: list[tuple[ModelFile | TestFile, Path]] = []
    for model in load_catalogue(catalogue).values():
        plan += [(variant, models_folder) for variant in model.files]
    plan += [(item, data_folder / item.folder) for item in load_test_data(catalogue)]
    return plan


def fetch_test_data(
    *,
    folder: Path | None = None,
    progress: Progress | None = None,
    announce: Callable[[str], None] | None = None,
    catalogue: Path | None = None,
    unfetched: list[tuple[ModelFile | TestFile, Path, str]] | None = None,
) -> list[Path]:
    """Download :func:`test_data_plan`'s files, each checked against its sha256. Files
    already there with the right checksum are kept. ``announce(name)`` is called before each
    file; ``catalogue`` reads another catalogue file (tests serve one locally).

    With ``unfetched`` (a list) a file that cannot be downloaded is put there as (entry,
    folder, why) instead of raising; after a failure that is not the server's answer (no
    network), the files left are not tried, only listed — what to fetch by hand."""
    paths = []
    offline = ""
    for entry, destination in test_data_plan(folder, catalogue):
        target = destination / entry.file
        if offline:
            if not (target.is_file() and sha256_of(target) == entry.sha256):
                unfetched.append((entry, destination, offline))  # type: ignore[union-attr]
            else:
                paths.append(target)
            continue
        if announce:
            announce(entry.file)
        try:
            paths.append(download(entry, destination, progress=progress))
        except ModelError as err:
            if unfetched is None:
                raise
            unfetched.append((entry, destination, str(err)))
            if getattr(err, "offline", False):
                offline = "not tried: offline"
    return paths


def get_model(name: str) -> CatalogueModel:
    """The catalogue entry ``name``; an unknown name raises one line listing the valid ones."""
    models = load_catalogue()
    if name not in models:
        raise ModelError(
            f"unknown model {name!r}: use a .tflite path or one of {', '.join(models)}"
        )
    return models[name]


def cache_dir() -> Path:
    """Where :func:`fetch` puts models: ``user_cache_dir("posestage")/models``."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("posestage")) / "models"


def search_path() -> list[Path]:
    """Folders searched for model files: ``POSESTAGE_MODELS_PATH`` first, then the cache."""
    folders = [Path(p).expanduser() for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p]
    return folders + [cache_dir()]


def find_file(filename: str) -> Path | None:
    """The first ``filename`` found in :func:`search_path`, or ``None``."""
    for folder in search_path():
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    return None


def sha256_of(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of checking one catalogue file: ``status`` is ok, mismatch or missing."""

    model: str
    file: str
    path: Path | None
    status: str


def verify(models: dict[str, CatalogueModel] | None = None) -> list[VerifyResult]:
    """Check the sha256 of every catalogue file found locally."""
    results = []
    for model in (models or load_catalogue()).values():
        for variant in model.files:
            path = find_file(variant.file)
            if path is None:
                status = "missing"
            else:
                status = "ok" if sha256_of(path) == variant.sha256 else "mismatch"
            results.append(VerifyResult(model.name, variant.file, path, status))
    return results


def fetch(
    model: str | CatalogueModel,
    *,
    edgetpu: bool | None = None,
    folder: Path | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Download a catalogue model's files into ``folder`` (default: the cache).

    ``edgetpu``: ``False`` only the CPU file, ``True`` only the Edge TPU file, ``None`` both.
    Files already present with the right checksum are not downloaded again.
    """
    entry = get_model(model) if isinstance(model, str) else model
    variants = [
        v
        for v, is_tpu in ((entry.cpu, False), (entry.edgetpu, True))
        if v is not None and (edgetpu is None or edgetpu == is_tpu)
    ]
    folder = Path(folder) if folder else cache_dir()
    return [download(v, folder, progress=progress) for v in variants]


def download(
    variant: ModelFile | TestFile, folder: Path, *, progress: Progress | None = None
) -> Path:
    """Fetch ``variant.url`` into ``folder/variant.file``, checking its sha256.

    Writes a temporary file in the same folder and renames it into place only when the
    checksum matches, so an interrupted or wrong download never leaves a file behind.
    """
    import hashlib
    import tempfile
    import urllib.error
    import urllib.request

    target = folder / variant.file
    if target.is_file() and sha256_of(target) == variant.sha256:
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ModelError(f"cannot create model folder {folder}: {err.strerror or err}") from None
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{variant.file}.", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(variant.url, timeout=30) as r:
                length = r.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                done = 0
                while block := r.read(1 << 16):
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress:
                        progress(done, total)
        except (urllib.error.URLError, OSError, ValueError) as err:
            reason = getattr(err, "reason", None) or err
            elsewhere = (
                "POSESTAGE_SHARED to a folder with models/, images/ and reference/ (tests)"
                if isinstance(variant, TestFile)
                else f"{ENV_PATH} to a folder that has {variant.file}"
            )
            failed = ModelError(
                f"cannot download {variant.url} ({reason}): download it by hand and put "
                f"it in {folder}, or set {elsewhere}"
            )
            # no answer from any server (not an HTTP error): the next files would fail alike
            failed.offline = isinstance(err, urllib.error.URLError) and not isinstance(
                err, urllib.error.HTTPError
            )
            raise failed from None
        actual = digest.hexdigest()
        if actual != variant.sha256:
            raise ModelError(
                f"downloaded {variant.file} from {variant.url} but its sha256 is {actual}, "
                f"not {variant.sha256}: not saved; try again or check the URL"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
