"""`data label`: the review page's HTTP interface, served for real on 127.0.0.1, read with urllib."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from fabric_inspect.datasets.labeling import LabelFolder, make_server
from fabric_inspect.datasets.loader import load_dataset
from fabric_inspect.errors import InputError

CLASSES = ("hole", "stain", "knot")  # as the label_server fixture writes them (conftest.py)


def request(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method=method), timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_the_page_and_the_items_list_every_image_with_its_size_mask_and_review_state(label_server):
    folder, base = label_server
    status, page = request(base + "/")
    assert status == 200 and b"<canvas" in page
    status, body = request(base + "/api/items")
    items = json.loads(body)
    assert items["classes"] == list(CLASSES)
    assert [(i["stem"], i["width"], i["height"], i["mask"], i["reviewed"]) for i in items["items"]] == [
        ("img_a", 40, 30, False, False),
        ("img_b", 40, 30, True, False),
        ("img_c", 40, 30, False, False),
    ]
    status, image = request(base + "/api/image/img_a")
    assert status == 200 and image == (folder.root / "images" / "img_a.png").read_bytes()


def test_a_mask_goes_out_as_raw_bytes_and_comes_back_as_a_class_index_png(label_server):
    folder, base = label_server
    status, raw = request(base + "/api/mask/img_b")
    mask = np.frombuffer(raw, np.uint8).reshape(30, 40)
    assert status == 200 and mask[0, 0] == 3 and np.count_nonzero(mask) == 64
    assert not np.frombuffer(request(base + "/api/mask/img_a")[1], np.uint8).any()  # none: zeros
    painted = np.zeros((30, 40), np.uint8)
    painted[10:20, 5:9] = 2  # a stain where the image had no mask
    status, body = request(base + "/api/mask/img_a", "PUT", painted.tobytes())
    assert status == 200 and json.loads(body) == {"stem": "img_a", "mask": "written"}
    written = cv2.imread(str(folder.root / "masks" / "img_a.png"), cv2.IMREAD_UNCHANGED)
    assert written.shape == (30, 40) and np.array_equal(written, painted)
    assert folder.reviewed() == {"img_a"}
    dataset = load_dataset(folder.root)  # what train --data reads
    assert {s.stem: s.label for s in dataset.samples} == {"img_a": "stain", "img_b": "knot", "img_c": "good"}


def test_an_all_zero_mask_deletes_the_file_and_accepting_marks_the_image_checked(label_server):
    folder, base = label_server
    status, body = request(base + "/api/mask/img_b", "PUT", bytes(40 * 30))
    assert status == 200 and json.loads(body)["mask"] == "cleared"
    assert not (folder.root / "masks" / "img_b.png").exists()
    assert request(base + "/api/reviewed/img_c", "POST", b"")[0] == 200
    assert request(base + "/api/reviewed/img_c", "POST", b"")[0] == 200  # twice is once
    assert (folder.root / "reviewed.txt").read_text().splitlines() == ["img_b", "img_c"]
    items = json.loads(request(base + "/api/items")[1])["items"]
    assert [(i["mask"], i["reviewed"]) for i in items] == [(False, False), (False, True), (False, True)]


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/api/mask/img_a", bytes(10), 400, "10 bytes sent, the image has 40x30 pixels"),
        ("/api/mask/img_a", bytes([4]) * 1200, 400, "value 4 is no class (classes.txt lists 3)"),
        ("/api/mask/..%2Fclasses", bytes(1200), 404, "no image '../classes'"),
        ("/api/mask/nope", bytes(1200), 404, "no image 'nope'"),
        ("/api/other/img_a", bytes(1200), 404, "nothing to PUT"),
    ],
)
def test_a_bad_request_gets_one_line_and_changes_nothing(label_server, path, body, status, message):
    folder, base = label_server
    before = sorted(p.name for p in folder.root.rglob("*"))
    got, text = request(base + path, "PUT", body)
    assert got == status and message in text.decode() and len(text.decode().strip().splitlines()) == 1
    assert sorted(p.name for p in folder.root.rglob("*")) == before


def test_a_folder_without_classes_or_images_is_refused_naming_what_is_missing(tmp_path, label_folder):
    with pytest.raises(InputError, match="no images/ folder"):
        LabelFolder.open(tmp_path)
    root = label_folder(tmp_path / "x")
    (root / "classes.txt").unlink()
    with pytest.raises(InputError, match=r"classes\.txt is missing"):
        LabelFolder.open(root)


def test_a_taken_port_is_one_clear_line(label_server):
    folder, base = label_server
    port = int(base.rsplit(":", 1)[1])
    with pytest.raises(InputError, match=f"--port {port}: cannot listen there"):
        make_server(folder, port)


def test_data_check_counts_the_images_a_person_checked(label_server):
    from fabric_inspect.datasets.check import check_dataset, summary_lines

    folder, base = label_server
    assert not any(line.startswith("checked") for line in summary_lines(check_dataset(folder.root)))
    request(base + "/api/reviewed/img_b", "POST", b"")
    lines = summary_lines(check_dataset(folder.root))
    assert "checked  1 of 3 images by a person (reviewed.txt, `data label`)" in lines


def test_the_command_serves_the_folder_until_it_is_stopped(tmp_path, label_folder):
    import subprocess
    import sys

    root = label_folder(tmp_path / "labels")
    command = [sys.executable, "-m", "fabric_inspect", "data", "label", str(root), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()
        assert first.startswith(f"3 images in {root} (0 checked), classes hole, stain, knot")
        url = process.stdout.readline().split()[1]
        assert url.startswith("http://127.0.0.1:")
        items = json.loads(request(url + "api/items")[1])
        assert [i["stem"] for i in items["items"]] == ["img_a", "img_b", "img_c"]
    finally:
        process.terminate()
        process.wait(timeout=10)
    done = subprocess.run([*command[:5], str(tmp_path / "none")], capture_output=True, text=True)
    assert done.returncode == 2 and "is not a folder" in done.stderr
