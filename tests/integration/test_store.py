"""Both store back-ends, through the one interface (local folder and S3 protocol via moto's server)."""

import io

import pytest

from jobs.store import LocalStore, ObjectNotFound, open_store


def test_round_trip(store, tmp_path):
    store.put_bytes("t/a/b.json", b'{"x": 1}')
    store.put_fileobj("t/a/c.bin", io.BytesIO(b"\x00" * 3_000_000))
    assert store.get_json("t/a/b.json") == {"x": 1}
    assert store.exists("t/a/c.bin") and not store.exists("t/a/missing")
    store.download_file("t/a/c.bin", tmp_path / "c.bin")
    assert (tmp_path / "c.bin").stat().st_size == 3_000_000
    assert list(store.list_keys("t/a/")) == ["t/a/b.json", "t/a/c.bin"]
    assert list(store.list_keys("t/zzz/")) == []
    with pytest.raises(ObjectNotFound):
        store.get_bytes("t/nope")
    with pytest.raises(ObjectNotFound):
        store.download_file("t/nope", tmp_path / "nope")
    store.check()


def test_folders(store, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "one.txt").write_text("1")
    (src / "sub" / "two.txt").write_text("2")
    assert store.upload_folder("t/m/", src) == ["t/m/one.txt", "t/m/sub/two.txt"]
    store.download_folder("t/m/", tmp_path / "dst")
    assert (tmp_path / "dst" / "sub" / "two.txt").read_text() == "2"
    store.delete_prefix("t/m/")
    assert list(store.list_keys("t/m/")) == []


def test_local_store_refuses_keys_that_escape(tmp_path):
    with pytest.raises(ValueError, match="escapes"):
        LocalStore(tmp_path).put_bytes("../outside", b"x")


def test_open_store_urls(tmp_path):
    assert isinstance(open_store(f"file://{tmp_path}/s"), LocalStore)
    for bad in ("s3://", "ftp://host/x"):
        with pytest.raises(ValueError):
            open_store(bad)
