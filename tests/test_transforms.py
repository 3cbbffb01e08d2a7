"""tg.vision.transforms: equality with torchvision.transforms.v2.functional on fixed parameters
(fixture written by torchvision itself: tools/make_transforms_fixtures.py), batch semantics
(per-image parameters, vectorized), seeding, the random transforms' distributions, and errors."""
import os

import numpy as np
import pytest

import tensorgrad as tg
from tensorgrad.vision import transforms as T
from tensorgrad.vision.transforms import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
FX = np.load(os.path.join(HERE, "data", "torchvision_transforms.npz"))
R, G, D = FX["img_rgb"], FX["img_gray"], FX["disp"]

CASES = {  # name -> the same call as in tools/make_transforms_fixtures.py
    "hflip": lambda: F.hflip(R), "vflip": lambda: F.vflip(R),
    "crop": lambda: F.crop(R, 3, 5, 10, 12),
    "center_crop": lambda: F.center_crop(R, [11, 13]),
    "pad_constant": lambda: F.pad(R, [1, 2, 3, 4], fill=0.5),
    "pad_reflect": lambda: F.pad(R, 3, padding_mode="reflect"),
    "pad_edge": lambda: F.pad(R, [2, 1], padding_mode="edge"),
    "pad_symmetric": lambda: F.pad(R, 2, padding_mode="symmetric"),
    "resize_down": lambda: F.resize(R, [10, 12]),
    "resize_down_odd": lambda: F.resize(R, [7, 17]),
    "resize_up": lambda: F.resize(R, [31, 37]),
    "resize_short": lambda: F.resize(R, 16),
    "resize_noaa": lambda: F.resize(R, [10, 12], antialias=False),
    "resize_nearest": lambda: F.resize(R, [9, 13], interpolation="nearest"),
    "resized_crop": lambda: F.resized_crop(R, 2, 3, 15, 17, [12, 10]),
    "rotate_nearest": lambda: F.rotate(R, 33.0),
    "rotate_bilinear": lambda: F.rotate(R, 33.0, interpolation="bilinear"),
    "rotate_fill": lambda: F.rotate(R, -20.0, interpolation="bilinear", fill=[0.2, 0.3, 0.4]),
    "rotate_fill0": lambda: F.rotate(R, 47.0, interpolation="bilinear", fill=0),
    "rotate_90": lambda: F.rotate(R[:, :, 2:22], 90.0),
    "rotate_center": lambda: F.rotate(R, 25.0, interpolation="bilinear", center=[5, 7]),
    "affine_bilinear": lambda: F.affine(R, 15.0, [2, -3], 1.1, [10.0, 5.0], "bilinear", fill=0),
    "affine_nearest": lambda: F.affine(R, -8.0, [1, 2], 0.9, [3.0, 0.0]),
    "affine_shear": lambda: F.affine(G, 0.0, [0, 0], 1.0, [20.0, 0.0], "bilinear", fill=0),
    "elastic_bilinear": lambda: F.elastic(R, D, "bilinear", fill=0),
    "elastic_nearest": lambda: F.elastic(R, D, "nearest"),
    "blur": lambda: F.gaussian_blur(R, [5, 3], [1.5, 0.8]),
    "blur_gray": lambda: F.gaussian_blur(G, [7, 7], [2.0, 2.0]),
    "brightness": lambda: F.adjust_brightness(R, 1.3),
    "contrast": lambda: F.adjust_contrast(R, 0.6),
    "contrast_gray": lambda: F.adjust_contrast(G, 1.7),
    "saturation": lambda: F.adjust_saturation(R, 0.3),
    "hue": lambda: F.adjust_hue(R, 0.2),
    "hue_neg": lambda: F.adjust_hue(R, -0.35),
    "grayscale": lambda: F.rgb_to_grayscale(R),
    "normalize": lambda: F.normalize(R, [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_functional_equals_torchvision(name):
    got = CASES[name]()
    want = FX[name]
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, atol=2e-6, rtol=1e-5, err_msg=name)


def test_ten_crop_equals_torchvision_and_batches():
    crops = F.ten_crop(R, [10, 12])
    assert len(crops) == 10
    for i, c in enumerate(crops):
        np.testing.assert_array_equal(c, FX[f"ten_crop_{i}"])
    batch = tg.tensor(np.stack([R, R[:, ::-1].copy()]))
    out = T.TenCrop(10)(batch)
    assert len(out) == 10 and out[0].shape == (2, 3, 10, 10) and isinstance(out[0], tg.Tensor)


def test_per_image_parameters_equal_one_image_at_a_time():
    rng = np.random.default_rng(0)
    x = rng.random((3, 3, 20, 24)).astype(np.float32)
    ang = np.array([10.0, -25.0, 40.0])
    tr = np.array([[1, 2], [0, -3], [2, 0]], dtype=float)
    sh = np.array([[5.0, 0.0], [0.0, 8.0], [-10.0, 2.0]])
    sc = np.array([1.0, 0.9, 1.2])
    batch = F.affine(x, ang, tr, sc, sh, "bilinear", fill=0)
    for i in range(3):
        one = F.affine(x[i], ang[i], tr[i], sc[i], sh[i], "bilinear", fill=0)
        np.testing.assert_allclose(batch[i], one, atol=1e-6)
    top, left, h, w = np.array([0, 2, 5]), np.array([1, 3, 0]), np.array([20, 11, 9]), \
        np.array([23, 13, 20])
    rc = F.resized_crop(x, top, left, h, w, (8, 8))
    for i in range(3):
        np.testing.assert_allclose(rc[i], F.resized_crop(x[i], top[i], left[i], h[i], w[i],
                                                         (8, 8)), atol=1e-6)
    cr = F.crop(x, top, left, 9, 11)
    for i in range(3):
        np.testing.assert_array_equal(cr[i], x[i, :, top[i]:top[i] + 9, left[i]:left[i] + 11])


def test_random_transforms_are_seeded_vectorized_and_keep_type():
    x = tg.tensor(np.random.default_rng(1).random((64, 1, 28, 28)).astype(np.float32))
    aug = T.Compose([T.RandomCrop(28, padding=4), T.RandomHorizontalFlip(),
                     T.RandomAffine(10, translate=(0.1, 0.1), shear=10)])
    tg.manual_seed(5)
    a = aug(x)
    tg.manual_seed(5)
    b = aug(x)
    assert isinstance(a, tg.Tensor) and a.shape == (64, 1, 28, 28) and a.dtype == np.float32
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c = aug(x)  # the generator moved on
    assert not np.array_equal(a.numpy(), c.numpy())
    # images of one batch get different parameters
    flips = T.RandomHorizontalFlip()(tg.tensor(np.repeat(x.numpy()[:1], 200, axis=0)))
    flipped = np.array([np.array_equal(f, x.numpy()[0, :, :, ::-1]) for f in flips.numpy()])
    assert 70 < flipped.sum() < 130  # p = 0.5
    # single image in, single image out (numpy stays numpy)
    one = T.RandomCrop(24)(x.numpy()[0])
    assert isinstance(one, np.ndarray) and one.shape == (1, 24, 24)


def test_random_crop_offsets_are_uniform_and_padding_is_zero():
    tg.manual_seed(0)
    x = np.ones((2000, 1, 8, 8), np.float32)
    y = T.RandomCrop(8, padding=2)(x)
    col = y[:, 0, :, 4]
    top_zeros = col.argmax(axis=1)  # zero rows above the image
    bottom_zeros = col[:, ::-1].argmax(axis=1)
    assert set(np.unique(y)) == {0.0, 1.0}
    counts = np.bincount(top_zeros - bottom_zeros + 2, minlength=5)  # shift -2..2
    assert counts.shape == (5,) and counts.min() > 330 and counts.max() < 470  # ~400 each


def test_random_resized_crop_boxes_respect_scale_and_ratio():
    t = T.RandomResizedCrop(16, scale=(0.25, 0.5), ratio=(0.5, 2.0))
    rng = np.random.default_rng(0)
    top, left, h, w = t._params(5000, 40, 40, rng)
    area = h * w / 1600
    assert area.min() > 0.2 and area.max() < 0.56 and (top + h <= 40).all()
    assert (w / h).min() > 0.45 and (w / h).max() < 2.2
    tg.manual_seed(0)
    assert t(tg.rand(3, 3, 40, 40)).shape == (3, 3, 16, 16)


def test_rotation_and_elastic_random_transforms():
    tg.manual_seed(0)
    x = np.zeros((4, 1, 21, 21), np.float32)
    x[:, :, 10, :] = 1.0  # a horizontal bar
    y = T.RandomRotation((90, 90))(x)  # exactly 90 degrees: a vertical bar
    np.testing.assert_array_equal(y[:, 0, :, 10], np.ones((4, 21)))
    e = T.ElasticTransform(alpha=30.0, sigma=4.0)(np.random.default_rng(0).random(
        (3, 1, 28, 28)).astype(np.float32))
    assert e.shape == (3, 1, 28, 28) and np.isfinite(e).all()
    z = T.ElasticTransform(alpha=0.0)(x)  # no displacement: unchanged
    np.testing.assert_allclose(z, x, atol=1e-6)


def test_color_jitter_and_pca_color_augmentation():
    tg.manual_seed(0)
    x = np.random.default_rng(0).random((8, 3, 10, 10)).astype(np.float32)
    y = T.ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.1)(x)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1 and not np.allclose(y, x)
    b = T.ColorJitter(brightness=(2.0, 2.0))(x * 0.25)
    np.testing.assert_allclose(b, x * 0.5, atol=1e-6)
    # PCA: data varying along one colour direction -> shifts along it
    rng = np.random.default_rng(1)
    direction = np.array([0.8, 0.0, 0.6])
    data = 0.5 + rng.normal(0, 0.2, (200, 1, 4, 4))[:, None] * direction[None, :, None, None,
                                                                        None]
    data = data[:, :, 0].astype(np.float32) + rng.normal(0, 0.01, (200, 3, 4, 4)).astype(
        np.float32)
    pca = T.PCAColorAugmentation(std=0.5).fit(data)
    assert abs(abs(pca.eigenvectors[:, 0] @ direction) - 1) < 1e-3
    assert pca.eigenvalues[0] == pytest.approx(0.04, rel=0.15) and pca.eigenvalues[2] < 1e-3
    out = pca(data[:50])
    shift = (out - data[:50]).mean(axis=(2, 3))  # one colour shift per image
    assert np.allclose((out - data[:50]).std(axis=(2, 3)), 0, atol=1e-6)
    cos = np.abs(shift @ direction) / np.linalg.norm(shift, axis=1)
    assert np.median(cos) > 0.99  # shifts lie along the principal colour direction
    state = pca.state_dict()
    p2 = T.PCAColorAugmentation()
    p2.load_state_dict(state)
    np.testing.assert_array_equal(p2.eigenvectors, pca.eigenvectors)


def test_uint8_images_round_trip():
    x = (np.random.default_rng(0).random((2, 3, 9, 9)) * 255).astype(np.uint8)
    y = T.RandomHorizontalFlip(p=1.0)(x)
    assert y.dtype == np.uint8
    np.testing.assert_array_equal(y, x[..., ::-1])
    np.testing.assert_array_equal(F.crop(x, 1, 2, 3, 4), x[..., 1:4, 2:6])


def test_bad_inputs_name_the_transform_and_shapes():
    with pytest.raises(TypeError, match=r"RandomCrop: expected an image \(C, H, W\) or a batch "
                                        r"of images \(N, C, H, W\) as a Tensor or numpy array, "
                                        r"got str"):
        T.RandomCrop(4)("not an image")
    with pytest.raises(ValueError, match=r"RandomHorizontalFlip: expected an image \(C, H, W\) "
                                         r"or a batch .* got an input of shape \(5,\)"):
        T.RandomHorizontalFlip()(np.zeros(5, np.float32))
    with pytest.raises(ValueError, match=r"RandomCrop: required crop size \(40, 40\) is larger "
                                         r"than the input image size \(28, 28\)"):
        T.RandomCrop(40)(np.zeros((1, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"normalize: mean and std need 1 or 3 values"):
        T.Normalize([0.5, 0.5], [0.1, 0.1])(np.zeros((3, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"PCAColorAugmentation: fitted on 3-channel images, "
                                         r"got 1 channels"):
        T.PCAColorAugmentation(eigenvalues=np.ones(3), eigenvectors=np.eye(3))(
            np.zeros((1, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"adjust_hue: expected images with 1 or 3 channels, "
                                         r"got 4"):
        F.adjust_hue(np.zeros((4, 5, 5), np.float32), 0.1)
    with pytest.raises(ValueError, match=r"elastic: displacement must have shape "
                                         r"\(1, 20, 24, 2\)"):
        F.elastic(R, np.zeros((1, 5, 5, 2)))
    with pytest.raises(ValueError, match="ColorJitter: hue values must lie in"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(TypeError, match="crop: images must be float or uint8"):
        F.crop(np.zeros((1, 4, 4), np.int32), 0, 0, 2, 2)


def test_dataloader_applies_transform_per_batch():
    x = np.arange(6 * 1 * 4 * 4, dtype=np.float32).reshape(6, 1, 4, 4)
    y = np.arange(6)
    ds = tg.data.TensorDataset(x, y)
    dl = tg.data.DataLoader(ds, batch_size=4, transform=T.RandomHorizontalFlip(p=1.0))
    batches = list(dl)
    assert [b[0].shape for b in batches] == [(4, 1, 4, 4), (2, 1, 4, 4)]
    np.testing.assert_array_equal(batches[0][0].numpy(), x[:4, :, :, ::-1])
    np.testing.assert_array_equal(batches[1][1].numpy(), y[4:])  # labels untouched
    with pytest.raises(TypeError, match="DataLoader: transform must be callable"):
        tg.data.DataLoader(ds, transform=3)


def test_dataloader_transform_draws_do_not_depend_on_workers():
    # the transform runs in the consuming thread: prefetching workers change nothing
    x = np.random.default_rng(0).random((10, 1, 6, 6)).astype(np.float32)
    ds = tg.data.TensorDataset(x, np.arange(10))
    aug = T.Compose([T.RandomCrop(6, padding=2), T.RandomHorizontalFlip()])
    runs = []
    for workers in (0, 2):
        tg.manual_seed(5)
        dl = tg.data.DataLoader(ds, batch_size=3, shuffle=True, seed=1, num_workers=workers,
                                transform=aug)
        runs.append([(b[0].numpy(), b[1].numpy()) for b in dl])
    assert len(runs[0]) == len(runs[1]) == 4
    for (xa, ya), (xb, yb) in zip(*runs):
        np.testing.assert_array_equal(ya, yb)
        np.testing.assert_array_equal(xa, xb)
    assert not np.array_equal(runs[0][0][0], x[runs[0][0][1]])  # something was augmented
