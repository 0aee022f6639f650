"""Reading pictures (every format quirk the importer meets) and the content hashes."""
import hashlib

import cv2
import numpy as np
import pytest

from maskgate.data.hashing import hamming, near_duplicate_pairs, phash
from maskgate.digest import sha256_file
from maskgate.data.images import ImageError, is_image_name, read_rgb
from maskgate.errors import DataError


def blob(seed: int, size: int = 64) -> np.ndarray:
    """A smooth random RGB picture: distinct per seed, stable under re-encoding."""
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8), (size, size), interpolation=cv2.INTER_CUBIC)


def encode(img: np.ndarray, ext: str, **params) -> bytes:
    flags = [cv2.IMWRITE_JPEG_QUALITY, params["quality"]] if "quality" in params else []
    ok, buf = cv2.imencode(ext, img, flags)
    assert ok
    return buf.tobytes()


def test_colour_jpeg_comes_back_rgb(tmp_path):
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0] = 250  # pure red in RGB
    path = tmp_path / "red.jpg"
    path.write_bytes(encode(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), ".jpg", quality=95))
    img = read_rgb(path)
    assert img.shape == (20, 30, 3) and img.dtype == np.uint8
    assert img[..., 0].mean() > 240 and img[..., 1].mean() < 10 and img[..., 2].mean() < 10


def test_grayscale_becomes_three_equal_channels(tmp_path):
    grey = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (8, 1))
    path = tmp_path / "grey.png"
    path.write_bytes(encode(grey, ".png"))
    img = read_rgb(path)
    assert img.shape == (8, 25, 3)
    assert (img[..., 0] == grey).all() and (img[..., 1] == grey).all() and (img[..., 2] == grey).all()


def test_rgba_drops_alpha(tmp_path):
    bgra = np.zeros((10, 12, 4), np.uint8)
    bgra[..., 2] = 200  # red
    bgra[..., 3] = 40  # mostly transparent: the colour stays, alpha goes
    path = tmp_path / "rgba.png"
    path.write_bytes(encode(bgra, ".png"))
    img = read_rgb(path)
    assert img.shape == (10, 12, 3)
    assert (img[..., 0] == 200).all() and (img[..., 1:] == 0).all()


@pytest.mark.parametrize("channels", [1, 3])
def test_16_bit_is_scaled_to_8_bit(tmp_path, channels):
    values = np.array([[0, 257 * 100, 65535]], dtype=np.uint16)
    img16 = values if channels == 1 else np.dstack([values] * 3)
    path = tmp_path / f"deep{channels}.png"
    path.write_bytes(encode(img16, ".png"))
    img = read_rgb(path)
    assert img.dtype == np.uint8 and img.shape == (1, 3, 3)
    assert img[0, :, 0].tolist() == [0, 100, 255]


def test_unicode_path(tmp_path):
    path = tmp_path / "masque_é_口罩.jpg"
    path.write_bytes(encode(blob(1), ".jpg"))
    assert read_rgb(path).shape == (64, 64, 3)


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_truncated_files_are_refused(tmp_path, ext):
    data = encode(blob(2, 96), ext)
    path = tmp_path / f"cut{ext}"
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ImageError) as e:
        read_rgb(path)
    assert "truncated" in e.value.reason


def test_jpeg_with_trailing_padding_is_fine(tmp_path):
    path = tmp_path / "padded.jpg"
    path.write_bytes(encode(blob(3), ".jpg") + b"\x00" * 16)
    assert read_rgb(path).shape == (64, 64, 3)


@pytest.mark.parametrize(
    "content, reason",
    [(b"", "empty"), (b"this is not a picture at all", "not a picture"), (b"\xff\xd8\xff" + b"\x00" * 50 + b"\xff\xd9", "")],
)
def test_non_pictures_are_refused(tmp_path, content, reason):
    path = tmp_path / "fake.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError) as e:
        read_rgb(path)
    assert reason in e.value.reason
    assert isinstance(e.value, DataError) and str(path) in str(e.value)


def test_missing_file_is_unreadable(tmp_path):
    with pytest.raises(ImageError, match="unreadable"):
        read_rgb(tmp_path / "nope.jpg")


def test_is_image_name():
    for name in ("a.jpg", "b.JPEG", "c.png", "d.bmp", "e.ppm", "f.pgm", "g.webp"):
        assert is_image_name(name)
    for name in ("labels.txt", "provenance.json", "noext", "h.gif"):
        assert not is_image_name(name)


def test_sha256_file(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"maskgate" * 1000)
    assert sha256_file(path) == hashlib.sha256(b"maskgate" * 1000).hexdigest()


def test_phash_survives_reencoding_but_tells_pictures_apart(tmp_path):
    a = blob(10)
    again = cv2.imdecode(np.frombuffer(encode(a, ".jpg", quality=60), np.uint8), cv2.IMREAD_COLOR)
    brighter = np.clip(a.astype(int) + 12, 0, 255).astype(np.uint8)
    h = phash(a)
    assert 0 <= h < 2**64
    assert hamming(h, phash(again)) <= 4
    assert hamming(h, phash(brighter)) <= 4
    assert hamming(h, phash(cv2.resize(a, (200, 200)))) <= 4
    assert hamming(h, phash(blob(11))) > 10


def test_near_duplicate_pairs_match_brute_force():
    rng = np.random.default_rng(0)
    hashes = [int(v) for v in rng.integers(0, 2**63, 700, dtype=np.uint64)]
    hashes[3] = hashes[650] ^ 0b1011  # 3 bits apart
    hashes[10] = hashes[20] ^ (1 << 63) ^ 1  # 2 bits, including the top bit
    hashes[30] = hashes[31] ^ 0b11111  # 5 bits: not a near-duplicate at 4
    expected = {(i, j) for i in range(700) for j in range(i + 1, 700) if hamming(hashes[i], hashes[j]) <= 4}
    found = {tuple(p) for p in near_duplicate_pairs(hashes, 4, chunk=64).tolist()}
    assert found == expected and {(3, 650), (10, 20)} <= found and (30, 31) not in found
    assert (30, 31) in {tuple(p) for p in near_duplicate_pairs(hashes, 5).tolist()}
    assert len(near_duplicate_pairs(hashes, -1)) == 0
