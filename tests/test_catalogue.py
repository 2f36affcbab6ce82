"""The model catalogue: entries, search path, fetch (file:// and a local HTTP server), verify."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import re
import socket
import threading
from pathlib import Path

import pytest

from posestage.cli import main
from posestage.engine import catalogue
from posestage.engine.catalogue import ModelFile, download, fetch, find_file, load_catalogue
from posestage.errors import ModelError

CPU = "posenet_mobilenet_v1_075_353_481_quant_decoder.tflite"
URL_BASES = (
    "https://github.com/google-coral/project-posenet/raw/master/models/mobilenet/",
    "https://github.com/google-coral/test_data/raw/master/posenet/",
    "https://github.com/google-coral/test_data/raw/master/",
)


def test_catalogue_entries_match_the_shared_checksums(models_dir):
    listed = models_dir / "SHA256SUMS"  # in ../shared; a fetched cache has the files only
    if listed.is_file():
        sums = dict(reversed(line.split()) for line in listed.read_text().splitlines())
    else:
        sums = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in models_dir.iterdir()}
    models = load_catalogue()
    assert {
        "posenet-353x481",
        "posenet-481x641",
        "posenet-721x1281",
        "posenet16-481x641",
        "movenet-lightning",
    } <= set(models)
    for model in models.values():
        assert model.license == "Apache-2.0"
        for variant in model.files:
            assert variant.sha256 == sums[variant.file], variant.file
            assert any(variant.url == base + variant.file for base in URL_BASES)
        if model.family == "posenet":
            h, w = model.resolution
            assert f"_{h}_{w}_" in model.cpu.file
            assert ("_16_" in model.cpu.file) == model.name.startswith("posenet16-")
        assert model.edgetpu.file == model.cpu.file.replace(".tflite", "_edgetpu.tflite")


def test_catalogue_file_is_the_packaged_one():
    path = catalogue.catalogue_path()
    assert path.name == "catalogue.toml" and path.is_file()
    setup = (Path(__file__).parents[1] / "setup.py").read_text()
    assert "models" in setup and "catalogue.toml" in setup  # wheels carry a copy


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ModelError, match="unknown model 'posenet-999'.*posenet-481x641"):
        catalogue.get_model("posenet-999")


def test_models_path_is_searched_first_then_the_cache(tmp_path, monkeypatch, models_dir):
    first, second, cache = tmp_path / "a", tmp_path / "b", tmp_path / "cache"
    for folder in (first, second, cache / "posestage" / "models"):
        folder.mkdir(parents=True)
    (second / CPU).write_bytes(b"x")
    (cache / "posestage" / "models" / "only_cached.tflite").write_bytes(b"y")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv(catalogue.ENV_PATH, os.pathsep.join([str(first), str(second)]))
    assert find_file(CPU) == second / CPU
    (first / CPU).write_bytes(b"x")
    assert find_file(CPU) == first / CPU
    assert find_file("only_cached.tflite") == cache / "posestage" / "models" / "only_cached.tflite"
    assert catalogue.cache_dir() == cache / "posestage" / "models"
    monkeypatch.setenv(catalogue.ENV_PATH, str(tmp_path / "empty"))
    with pytest.raises(
        ModelError,
        match=r"posenet-353x481 .* is not downloaded: run `posestage models fetch posenet-353x481`",
    ):
        catalogue.get_model("posenet-353x481").path()


def variant_for(source: Path, url: str, sha256: str | None = None) -> ModelFile:
    digest = sha256 or hashlib.sha256(source.read_bytes()).hexdigest()
    return ModelFile(file=source.name, url=url, sha256=digest)


def test_fetch_from_a_file_url_with_progress(tmp_path, models_dir):
    source = models_dir / CPU
    calls = []
    target = download(
        variant_for(source, source.as_uri()),
        tmp_path / "dl",
        progress=lambda d, t: calls.append((d, t)),
    )
    assert target.read_bytes() == source.read_bytes()
    assert calls[-1][0] == source.stat().st_size
    assert [p.name for p in (tmp_path / "dl").iterdir()] == [CPU]  # no temp files left


def test_checksum_mismatch_leaves_no_file(tmp_path, models_dir):
    source = models_dir / CPU
    with pytest.raises(ModelError, match=f"downloaded {CPU} .* not saved"):
        download(variant_for(source, source.as_uri(), sha256="0" * 64), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def http_server(tmp_path, models_dir):
    served = tmp_path / "served"
    served.mkdir()
    (served / CPU).write_bytes((models_dir / CPU).read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_fetch_a_catalogue_model_over_http(tmp_path, models_dir, http_server):
    entry = catalogue.CatalogueModel(
        name="test-model",
        family="posenet",
        resolution=(353, 481),
        cpu=variant_for(models_dir / CPU, http_server + CPU),
        edgetpu=None,
    )
    sizes = []
    paths = fetch(entry, folder=tmp_path / "cache", progress=lambda d, t: sizes.append(t))
    assert paths == [tmp_path / "cache" / CPU]
    assert paths[0].read_bytes() == (models_dir / CPU).read_bytes()
    assert sizes[-1] == (models_dir / CPU).stat().st_size  # Content-Length known
    # Already there with the right checksum: no second download (the server is not needed).
    entry2 = catalogue.CatalogueModel(
        "t", "posenet", (353, 481), variant_for(models_dir / CPU, http_server + "gone"), None
    )
    assert fetch(entry2, folder=tmp_path / "cache") == paths


def test_offline_says_what_to_do(tmp_path, models_dir):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    variant = variant_for(models_dir / CPU, f"http://127.0.0.1:{port}/{CPU}")
    with pytest.raises(ModelError) as err:
        download(variant, tmp_path)
    message = str(err.value)
    assert f"cannot download http://127.0.0.1:{port}/{CPU}" in message
    assert f"put it in {tmp_path}" in message and "POSESTAGE_MODELS_PATH" in message
    assert list(tmp_path.iterdir()) == []


def test_models_cli_list_path_verify(capsys, models_dir, tmp_path, monkeypatch):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"posenet-481x641\s+posenet\s+481x641\s+yes\s+yes", out)
    assert main(["models", "path", "posenet16-481x641"]) == 0
    assert capsys.readouterr().out.strip() == str(
        models_dir / "posenet_mobilenet_v1_075_481_641_16_quant_decoder.tflite"
    )
    # verify: a tampered copy found first on the path is reported.
    tampered = tmp_path / CPU
    tampered.write_bytes((models_dir / CPU).read_bytes()[:-1] + b"\0")
    monkeypatch.setenv(catalogue.ENV_PATH, os.pathsep.join([str(tmp_path), str(models_dir)]))
    assert main(["models", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"MISMATCH posenet-353x481     {tampered}" in out
    assert out.count("OK ") == 13


def test_models_cli_fetch_errors_are_one_line(capsys):
    assert main(["models", "fetch", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("posestage: error: unknown model 'no-such-model'") and err.count("\n") == 1
    )


def test_catalogue_test_data_matches_the_shared_files(shared):
    items = catalogue.load_test_data()
    assert {i.folder for i in items} == {"images", "reference"}
    for item in items:
        local = getattr(shared, item.folder) / item.file
        assert hashlib.sha256(local.read_bytes()).hexdigest() == item.sha256, item.file
        assert item.url.startswith("https://github.com/google-coral/")


def test_fetch_test_data_into_a_cache_the_tests_then_find(tmp_path, shared, monkeypatch):
    """The whole path a contributor without ../shared takes, served from 127.0.0.1."""
    import conftest

    served = tmp_path / "served"
    served.mkdir()
    rows = []
    model_file = shared.models / CPU
    (served / CPU).write_bytes(model_file.read_bytes())
    for item in catalogue.load_test_data():
        source = getattr(shared, item.folder) / item.file
        (served / item.file).write_bytes(source.read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        sha = hashlib.sha256(model_file.read_bytes()).hexdigest()
        rows.append(
            f'[models.m]\nfamily = "posenet"\nresolution = [353, 481]\n'
            f'cpu = {{ file = "{CPU}", url = "{base}{CPU}", sha256 = "{sha}" }}\n'
        )
        for item in catalogue.load_test_data():
            rows.append(
                f'[[test_data]]\nfolder = "{item.folder}"\nfile = "{item.file}"\n'
                f'url = "{base}{item.file}"\nsha256 = "{item.sha256}"\n'
            )
        local_catalogue = tmp_path / "catalogue.toml"
        local_catalogue.write_text("\n".join(rows))
        cache = tmp_path / "cache"
        announced = []
        paths = catalogue.fetch_test_data(
            folder=cache, catalogue=local_catalogue, announce=announced.append
        )
    finally:
        server.shutdown()
        server.server_close()
    assert announced[0] == CPU and len(paths) == len(announced) == 7
    assert (cache / "models" / CPU).read_bytes() == model_file.read_bytes()
    # Laid out as the tests look for it in the user cache; no ../shared, no POSESTAGE_SHARED.
    layout = tmp_path / "user-cache"
    (layout / "models").mkdir(parents=True)
    (cache / "models" / CPU).rename(layout / "models" / CPU)
    (layout / "test-data").mkdir()
    for folder in ("images", "reference"):
        (cache / folder).rename(layout / "test-data" / folder)
    data, _ = conftest.locate_test_data({}, tmp_path / "no-shared", layout)
    assert data == conftest.TestData(
        layout / "models", layout / "test-data" / "images", layout / "test-data" / "reference"
    )
    assert (data.reference / "movenet_single_pose_lightning_ptq_reference.csv").is_file()


def test_without_test_data_the_contributor_is_told_how_to_get_it(tmp_path):
    import conftest

    data, looked = conftest.locate_test_data({}, tmp_path / "shared", tmp_path / "cache")
    assert data is None
    message = conftest.HOW_TO_GET.format(looked=looked)
    assert "\n" not in message and "posestage models fetch --test-data" in message
    assert str(tmp_path / "shared") in message


def test_models_cli_fetch_needs_a_name_or_test_data(capsys):
    assert main(["models", "fetch"]) == 2
    err = capsys.readouterr().err
    assert "give a model name" in err and "--test-data" in err and err.count("\n") == 1


def test_offline_fetch_test_data_lists_every_file_with_its_url_checksum_and_folder(
    tmp_path, monkeypatch, capsys
):
    """No network (here: a proxy nobody listens on): one try, then every file the tests need
    listed to fetch by hand — URL, sha256, where it goes — and exit status 1."""
    import socket

    with socket.socket() as closed:  # a port nobody listens on once closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert main(["models", "fetch", "--test-data", "--dir", str(tmp_path / "data")]) == 1
    out, err = capsys.readouterr()
    plan = catalogue.test_data_plan(tmp_path / "data")
    assert (
        out.splitlines()[0] == f"{len(plan)} files to fetch by hand (URL, sha256, where it goes):"
    )
    for entry, folder in plan:
        assert f"  {entry.url}\n    sha256 {entry.sha256}\n    into {folder / entry.file}\n" in out
    assert err.count("  ") == 1  # one file announced (tried), the rest only listed
    assert err.splitlines()[-1].startswith("error: cannot download ")
