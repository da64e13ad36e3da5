"""`lesps labels --from-points`: CSV, COCO and LabelMe points exported from NUAA-SIRST's masks_centroid
read back to identical PNGs; every kind of bad input is reported one line each while the rest goes on."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from lesps_deploy.cli import app
from lesps_deploy.data import read_mask
from lesps_deploy.errors import ConfigError, DataError
from lesps_deploy.training import labels_from_points, read_point_file
from lesps_deploy.training.point_files import image_key
from lesps_deploy.training.point_import import point_pixel

SUBSET = 80  # images of NUAA-SIRST in the round trip (every 5th name, Misc_111 included)


@pytest.fixture(scope="module")
def nuaa_points(nuaa_dir: Path) -> dict[str, tuple[tuple[int, int], list[tuple[int, int]]]]:
    """name -> ((width, height), [(col, row), ...]) of the released centroid labels of the subset."""
    names = sorted(p.stem for p in (nuaa_dir / "images").glob("*.png"))
    chosen = sorted(set(names[::5][: SUBSET - 1]) | {"Misc_111"})
    out = {}
    for name in chosen:
        label = read_mask(nuaa_dir / "masks_centroid" / f"{name}.png")
        rows, cols = np.nonzero(label)
        out[name] = ((label.shape[1], label.shape[0]), list(zip(cols.tolist(), rows.tolist(), strict=True)))
    return out


def _dataset(root: Path, nuaa_dir: Path, names) -> Path:
    (root / "images").mkdir(parents=True)
    for name in names:
        (root / "images" / f"{name}.png").symlink_to(nuaa_dir / "images" / f"{name}.png")
    return root


def _write_csv(path: Path, points) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x", "y", "image"])  # a header in another column order
        for i, (name, (_, pts)) in enumerate(points.items()):
            for col, row in pts:  # integer pixel indices, names with and without suffix
                writer.writerow([col, row, f"{name}.png" if i % 2 else name])
    return path


def _write_coco(path: Path, points) -> Path:
    images, annotations = [], []
    for i, (name, ((w, h), pts)) in enumerate(points.items()):
        images.append({"id": 100 + i, "file_name": f"train/{name}.png", "width": w, "height": h})
        # CVAT clicks: continuous coordinates at pixel centres. Even images: one single-keypoint
        # annotation per point (CVAT points); odd images: one skeleton with every point plus an
        # unlabelled (v = 0) keypoint that must be ignored.
        triples = [[col + 0.5, row + 0.5, 2] for col, row in pts]
        if i % 2 == 0:
            annotations += [{"id": len(annotations), "image_id": 100 + i, "keypoints": t} for t in triples]
        elif triples:
            flat = [v for t in triples for v in t] + [0, 0, 0]
            annotations.append({"id": len(annotations), "image_id": 100 + i, "keypoints": flat})
    categories = [{"id": 1, "name": "target", "keypoints": ["1"]}]
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def _labelme_doc(name: str, size: tuple[int, int], pts, rng: np.random.Generator) -> dict:
    shapes = [
        {"label": "target", "points": [[col + rng.random(), row + rng.random()]], "shape_type": "point"}
        for col, row in pts
    ]
    shapes.append({"label": "sky", "points": [[0, 0], [5, 0], [5, 5]], "shape_type": "polygon"})
    return {
        "shapes": shapes,
        "imagePath": f"..\\images\\{name}.png",
        "imageWidth": size[0],
        "imageHeight": size[1],
    }


def _write_labelme(folder: Path, points) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, (size, pts) in points.items():
        (folder / f"{name}.json").write_text(json.dumps(_labelme_doc(name, size, pts, rng)))
    return folder


WRITERS = {
    "csv": lambda d, p: _write_csv(d / "points.csv", p),
    "coco": lambda d, p: _write_coco(d / "coco.json", p),
}
WRITERS["labelme"] = lambda d, p: _write_labelme(d / "labelme", p)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_round_trip_gives_identical_pngs(fmt: str, nuaa_dir: Path, nuaa_points, tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds", nuaa_dir, nuaa_points)
    report = labels_from_points(root, WRITERS[fmt](tmp_path, nuaa_points), "centroid")
    assert report.errors == () and report.duplicates == () and report.skipped == 0
    assert report.images == len(nuaa_points) and report.points == sum(len(p) for _, p in nuaa_points.values())
    for name in nuaa_points:
        ours = np.asarray(Image.open(root / "masks_centroid" / f"{name}.png"))
        released = np.asarray(Image.open(nuaa_dir / "masks_centroid" / f"{name}.png"))
        assert ours.dtype == np.uint8 and np.array_equal(ours, released), name


def test_single_labelme_file_and_coarse_folder(tmp_path: Path) -> None:
    root = _tiny(tmp_path, ["a", "b"])
    doc = _labelme_doc("a", (64, 48), [(3, 4), (60, 40)], np.random.default_rng(1))
    (tmp_path / "a.json").write_text(json.dumps(doc))
    report = labels_from_points(root, tmp_path / "a.json", "coarse")
    assert (report.images, report.points, report.empty, report.skipped) == (2, 2, 1, 0)
    assert np.argwhere(read_mask(root / "masks_coarse" / "a.png")).tolist() == [[4, 3], [40, 60]]
    assert not read_mask(root / "masks_coarse" / "b.png").any()  # no point: an empty (negative) label
    assert not (root / "masks_centroid").exists()


def _tiny(tmp_path: Path, names: list[str], size: tuple[int, int] = (64, 48)) -> Path:
    (tmp_path / "ds" / "images").mkdir(parents=True)
    for name in names:
        Image.fromarray(np.zeros(size[::-1], np.uint8)).save(tmp_path / "ds" / "images" / f"{name}.png")
    return tmp_path / "ds"


def test_pixel_rule() -> None:
    assert point_pixel(0.0, 0.0, 64, 48) == (0, 0)
    assert point_pixel(3.999, 2.0, 64, 48) == (2, 3)
    assert point_pixel(64.0, 48.0, 64, 48) == (47, 63)  # the far edge CVAT and LabelMe allow: last pixel
    assert point_pixel(64.01, 1, 64, 48) is None and point_pixel(-0.01, 1, 64, 48) is None
    assert point_pixel(1, 48.5, 64, 48) is None
    assert image_key("sub\\dir/Misc_1.PNG") == "Misc_1" and image_key("frame.001") == "frame.001"


def test_bad_csv_rows_are_reported_and_the_rest_goes_on(tmp_path: Path) -> None:
    root = _tiny(tmp_path, ["a", "b"])
    rows = [
        "a,10,20",  # good
        "a.png,10.7,20.2",  # same pixel as above: kept once, reported
        "a,64.5,3",  # outside (width 64)
        "b,-1,3",  # outside
        "ghost.png,1,1",  # image named but missing
        "ghost,2,2",
        "a,abc,3",  # malformed
        "b,nan,3",  # malformed
        "b,5",  # malformed
        ",4,4",  # malformed
        "b,63.9,47.9",  # good
    ]
    (root / "images" / "c.png").write_bytes(b"not an image")
    rows.append("c,1,1")  # unreadable image: its points are skipped, no label is written
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n\n")
    report = labels_from_points(root, tmp_path / "p.csv")
    assert (report.images, report.points, report.skipped, report.empty) == (2, 2, 10, 0)
    assert not (root / "masks_centroid" / "c.png").exists()
    assert np.argwhere(read_mask(root / "masks_centroid" / "a.png")).tolist() == [[20, 10]]
    assert np.argwhere(read_mask(root / "masks_centroid" / "b.png")).tolist() == [[47, 63]]
    assert (
        len(report.duplicates) == 1
        and "p.csv:2: second point in pixel (x=10, y=20) of a" in report.duplicates[0]
    )
    text = "\n".join(report.errors)
    assert len(report.errors) == 8
    for expected in (
        "c.png: unreadable image",
        "(1 point skipped)",
        "p.csv:3: point (64.5, 3) outside a (64x48)",
        "p.csv:4: point (-1, 3) outside b",
        "p.csv:5: image 'ghost.png' not found in",
        "(2 points skipped)",
        "p.csv:7: malformed point ('abc', '3')",
        "p.csv:8: malformed point ('nan', '3')",
        "p.csv:9: malformed row 'b,5'",
        "p.csv:10: malformed row ',4,4'",
    ):
        assert expected in text, expected
    assert all("\n" not in line for line in report.errors + report.duplicates)


def test_bad_coco_and_labelme_entries(tmp_path: Path) -> None:
    root = _tiny(tmp_path, ["a"])
    coco = {
        "images": [
            {"id": 1, "file_name": "a.jpg"},
            {"id": 2, "file_name": "missing.png"},
            {"file_name": "x"},
        ],
        "annotations": [
            {"image_id": 1, "keypoints": [5, 6, 2, 7, 8]},  # not triples
            {"image_id": 9, "keypoints": [1, 1, 2]},  # unknown image id
            {"image_id": 1, "keypoints": [1, 2, 1, 0, 0, 0, "x", 3, 2]},  # one good, one unlabelled, one bad
            {"image_id": 1, "bbox": [0, 0, 3, 3]},  # no keypoints: ignored
            {"image_id": 2, "keypoints": [1, 1, 2]},  # image missing from the dataset
        ],
    }
    (tmp_path / "c.json").write_text(json.dumps(coco))
    report = labels_from_points(root, tmp_path / "c.json")
    assert (report.points, report.skipped) == (1, 5)
    text = "\n".join(report.errors)
    for expected in (
        "c.json: images[2]: malformed entry",
        "annotations[0]: malformed keypoints",
        "annotations[1]: image_id 9 is not in 'images'",
        "annotations[2] keypoint 2: malformed point ('x', 3)",
        "image 'missing.png' not found in",
    ):
        assert expected in text, expected

    folder = tmp_path / "lm"
    folder.mkdir()
    shapes = [{"points": [[1]], "shape_type": "point"}, {"points": [[2.5, 3.5]], "shape_type": "point"}]
    (folder / "a.json").write_text(json.dumps({"shapes": shapes, "imagePath": "a.png"}))
    (folder / "other.json").write_text(json.dumps({"info": "not labelme"}))
    (folder / "broken.json").write_text("{")
    report = labels_from_points(root, folder)
    assert (report.points, report.skipped) == (1, 3)
    assert np.argwhere(read_mask(root / "masks_centroid" / "a.png")).tolist() == [[3, 2]]
    text = "\n".join(report.errors)
    assert "a.json: shapes[0]: malformed point [1]" in text and "other.json: not a LabelMe file" in text
    assert "broken.json: unreadable JSON" in text


def test_unusable_inputs_raise_one_line(tmp_path: Path) -> None:
    root = _tiny(tmp_path, ["a"])
    (tmp_path / "bad.json").write_text("[1, 2]")
    (tmp_path / "header.csv").write_text("file_path,x,y\na,1,1\n")
    (tmp_path / "ok.csv").write_text("a,1,1\n")
    cases = [
        (root, tmp_path / "bad.json", "not a point file"),
        (root, tmp_path / "header.csv", "names no image column"),
        (root, tmp_path / "missing.csv", "point file not found"),
        (tmp_path / "nodata", tmp_path / "ok.csv", "image folder not found"),
    ]
    for dataset, points, message in cases:
        with pytest.raises(DataError, match=message):
            labels_from_points(dataset, points)
    with pytest.raises(ConfigError, match="--type 'full'"):
        labels_from_points(root, tmp_path / "ok.csv", "full")
    assert read_point_file(tmp_path / "ok.csv").points[0].where == "ok.csv:1"


def test_cli_summary_json_and_exit_codes(tmp_path: Path) -> None:
    root = _tiny(tmp_path, ["a", "b", "c"])
    (tmp_path / "dup.csv").write_text("image,x,y\na,1,1\na,1.5,1.5\nb,3,3\n")
    out = tmp_path / "s.json"
    runner = CliRunner()
    ok = runner.invoke(
        app, ["labels", str(root), "--from-points", str(tmp_path / "dup.csv"), "--json", str(out)]
    )
    assert ok.exit_code == 0, ok.output  # a duplicate is reported, not an error
    assert "duplicate" in ok.output and "Point labels" in ok.output
    summary = json.loads(out.read_text())
    assert {k: summary[k] for k in ("images", "points", "skipped", "empty")} == {
        "images": 3,
        "points": 2,
        "skipped": 1,
        "empty": 1,
    }
    (tmp_path / "bad.csv").write_text("a,1,1\nzzz,1,1\n")
    bad = runner.invoke(app, ["labels", str(root), "--from-points", str(tmp_path / "bad.csv")])
    assert bad.exit_code == 1 and "'zzz' not found" in bad.output
