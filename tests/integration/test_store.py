"""Both store back-ends, through the one interface (local folder and S3 protocol via moto's server)."""

import io

import pytest

from jobs.store import InvalidKey, LocalStore, ObjectNotFound, S3Store, StoreUnavailable, open_store
from tests.conftest import free_port


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
    with pytest.raises(InvalidKey):
        LocalStore(tmp_path).put_bytes("../outside", b"x")
    (tmp_path / "link").symlink_to("/etc")
    with pytest.raises(InvalidKey, match="escapes"):
        LocalStore(tmp_path).get_bytes("link/passwd")


def test_an_unreachable_s3_store_says_so_and_is_not_a_missing_object():
    store = S3Store("bucket", endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1")
    for call in (lambda: store.get_bytes("t/x"), lambda: store.put_bytes("t/x", b"1"), lambda: list(store.list_keys("t/")),
                 lambda: store.exists("t/x"), store.check):
        with pytest.raises(StoreUnavailable):
            call()


def test_multipart_uploads_left_unfinished_are_aborted(s3_store):
    client = s3_store.client
    left = client.create_multipart_upload(Bucket=s3_store.bucket, Key=s3_store.prefix + "t/files/file-x/content")
    client.upload_part(Bucket=s3_store.bucket, Key=left["Key"], UploadId=left["UploadId"], PartNumber=1, Body=b"x" * 1024)
    # (moto reports every upload as begun in 2010, so the age limit itself is not exercised here)
    assert s3_store.abort_stale_uploads(older_than_s=0) == 1
    assert client.list_multipart_uploads(Bucket=s3_store.bucket).get("Uploads", []) == []


def test_open_store_urls(tmp_path):
    assert isinstance(open_store(f"file://{tmp_path}/s"), LocalStore)
    for bad in ("s3://", "ftp://host/x"):
        with pytest.raises(ValueError):
            open_store(bad)
