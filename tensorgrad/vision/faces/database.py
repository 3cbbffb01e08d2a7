"""A recognition database of precomputed encodings.

Deployed face recognition does not run the encoder over the whole staff list for every visitor:
the encodings of the known people's photos are computed once and stored; a new image is
encoded once and compared with the stored encodings. An identity's distance to an image is the
smallest squared distance to any of its stored encodings (one photo per person is the one-shot
case). ``verify(img, identity)`` accepts when that distance is ≤ the threshold τ;
``identify(img)`` returns the closest identity when its distance is ≤ τ, else ``"unknown"``.
τ is chosen on a validation split with ``calibrate`` (images of known people and, ideally, of
people not in the database).
"""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from .evaluate import best_threshold
from .mining import squared_distances
from .model import embed

__all__ = ["FaceDatabase", "UNKNOWN"]

UNKNOWN = "unknown"


class FaceDatabase:
    """Stored encodings of known identities, with ``verify`` / ``identify``.

    ``db = FaceDatabase(encoder)``; ``db.add("alice", images)`` (one (C, H, W) image or a batch);
    ``db.calibrate(val_images, val_identities)`` picks τ; ``db.identify(img)``;
    ``db.save(path)`` / ``FaceDatabase.load(path, encoder)`` (safetensors, no pickle)."""

    def __init__(self, encoder, threshold=None, batch_size=256):
        self.encoder = encoder
        self.threshold = None if threshold is None else float(threshold)
        self.batch_size = int(batch_size)
        self.image_shape = None
        self._names: list = []
        self._emb = np.zeros((0, 0))
        self._owner = np.zeros(0, dtype=np.int64)   # row -> index into _names

    # ---- contents ------------------------------------------------------------------------------
    @property
    def identities(self):
        return list(self._names)

    def __len__(self):
        return len(self._names)

    def __contains__(self, identity):
        return identity in self._names

    def __repr__(self):
        return (f"FaceDatabase({len(self._names)} identities, {self._owner.size} encodings, "
                f"threshold={self.threshold})")

    def _batch(self, images, op):
        arr = images.detach().numpy() if isinstance(images, Tensor) else np.asarray(images)
        if self.image_shape is not None and arr.ndim == len(self.image_shape):
            arr = arr[None]
        elif self.image_shape is None and arr.ndim == 3:
            arr = arr[None]
        if arr.ndim != 4:
            raise ValueError(f"FaceDatabase.{op}: expected an image (C, H, W) or a batch "
                             f"(N, C, H, W), got shape {arr.shape}")
        if self.image_shape is not None and tuple(arr.shape[1:]) != self.image_shape:
            raise ValueError(f"FaceDatabase.{op}: expected images of shape {self.image_shape} "
                             f"like those the database holds, got {tuple(arr.shape[1:])}; "
                             f"resize them first")
        if arr.shape[0] == 0:
            raise ValueError(f"FaceDatabase.{op}: got an empty batch of images")
        return arr

    def add(self, identity, images):
        """Store the encodings of ``images`` (one image or a batch) under ``identity``."""
        if not isinstance(identity, str) or not identity:
            raise TypeError(f"FaceDatabase.add: identity must be a non-empty string, got "
                            f"{identity!r}")
        if identity == UNKNOWN:
            raise ValueError(f"FaceDatabase.add: {UNKNOWN!r} is the answer identify() gives for "
                             f"strangers and can't be an identity's name")
        arr = self._batch(images, "add")
        emb = embed(self.encoder, arr, self.batch_size)
        if identity not in self._names:
            self._names.append(identity)
        k = self._names.index(identity)
        self._emb = emb if self._owner.size == 0 else np.concatenate([self._emb, emb])
        self._owner = np.r_[self._owner, np.full(emb.shape[0], k, dtype=np.int64)]
        self.image_shape = tuple(arr.shape[1:])
        return self

    def add_many(self, images, identities):
        """Add a batch with one identity name per image."""
        arr = self._batch(images, "add_many")
        ids = [str(i) for i in identities]
        if len(ids) != arr.shape[0]:
            raise ValueError(f"FaceDatabase.add_many: {len(ids)} identities for {arr.shape[0]} "
                             f"images")
        for name in dict.fromkeys(ids):
            self.add(name, arr[np.array([i == name for i in ids])])
        return self

    # ---- queries -------------------------------------------------------------------------------
    def _need(self, op, threshold=True):
        if not self._names:
            raise RuntimeError(f"FaceDatabase.{op}: the database is empty; add identities with "
                               f"db.add(name, images) first")
        if threshold and self.threshold is None:
            raise RuntimeError(f"FaceDatabase.{op}: no distance threshold yet; call "
                               f"db.calibrate(val_images, val_identities) or set db.threshold")

    def distances(self, images):
        """(N, identities) smallest squared distance from each image to each identity."""
        self._need("distances", threshold=False)
        arr = self._batch(images, "distances")
        d = squared_distances(embed(self.encoder, arr, self.batch_size), self._emb)
        out = np.full((arr.shape[0], len(self._names)), np.inf)
        for k in range(len(self._names)):
            out[:, k] = d[:, self._owner == k].min(axis=1)
        return out

    def verify(self, images, identity, return_distance=False):
        """Is this (are these) image(s) of ``identity``? True when the distance ≤ threshold.
        One image gives a bool, a batch a bool array."""
        self._need("verify")
        if identity not in self._names:
            raise KeyError(f"FaceDatabase.verify: unknown identity {identity!r}; the database "
                           f"holds {self._names}")
        single = self._is_single(images)
        d = self.distances(images)[:, self._names.index(identity)]
        ok = d <= self.threshold
        if single:
            return (bool(ok[0]), float(d[0])) if return_distance else bool(ok[0])
        return (ok, d) if return_distance else ok

    def identify(self, images, return_distance=False):
        """The closest identity when within the threshold, else ``"unknown"``; a name for one
        image, a list of names for a batch."""
        self._need("identify")
        single = self._is_single(images)
        d = self.distances(images)
        best = d.argmin(axis=1)
        dist = d[np.arange(d.shape[0]), best]
        names = [self._names[b] if v <= self.threshold else UNKNOWN for b, v in zip(best, dist)]
        if single:
            return (names[0], float(dist[0])) if return_distance else names[0]
        return (names, dist) if return_distance else names

    def _is_single(self, images):
        nd = images.ndim if isinstance(images, Tensor) else np.ndim(images)
        return nd == 3

    def calibrate(self, images, identities):
        """Choose the threshold on a validation split: every (image, stored identity) pair is a
        genuine pair when the names agree and an impostor pair otherwise (images of people not
        in the database are impostors for everyone); τ maximises the accuracy of "d ≤ τ" over
        genuine and impostor pairs, each class weighted equally (balanced accuracy). Returns τ."""
        self._need("calibrate", threshold=False)
        ids = [str(i) for i in identities]
        d = self.distances(images)
        if len(ids) != d.shape[0]:
            raise ValueError(f"FaceDatabase.calibrate: {len(ids)} identities for {d.shape[0]} "
                             f"images")
        genuine = np.array([[name == known for known in self._names] for name in ids])
        if not genuine.any() or genuine.all():
            raise ValueError("FaceDatabase.calibrate: the validation split needs images of "
                             "identities in the database and pairs with other identities")
        self.threshold, _ = best_threshold(d.ravel(), genuine.ravel(), balanced=True)
        return self.threshold

    # ---- saving --------------------------------------------------------------------------------
    def state_dict(self):
        from ...tensor import _wrap
        return {"embeddings": _wrap(np.asarray(self._emb, dtype=np.float64)),
                "owner": _wrap(self._owner.copy()), "names": list(self._names),
                "threshold": self.threshold,
                "image_shape": list(self.image_shape) if self.image_shape else None}

    def save(self, path):
        """Write the encodings, names, threshold and image shape (safetensors via ``tg.save``;
        the encoder's weights are saved separately with ``tg.save(encoder.state_dict(), ...)``)."""
        from ...io import save
        save(self.state_dict(), path)

    @classmethod
    def load(cls, path, encoder, batch_size=256):
        """A database saved with ``save``, queried with ``encoder`` (the one that made it)."""
        from ...io import load
        st = load(path)
        missing = {"embeddings", "owner", "names", "threshold", "image_shape"} - set(st)
        if missing:
            raise ValueError(f"FaceDatabase.load: {path} is not a saved FaceDatabase (missing "
                             f"{sorted(missing)})")
        db = cls(encoder, threshold=st["threshold"], batch_size=batch_size)
        db._emb = np.asarray(st["embeddings"].detach().numpy(), dtype=np.float64)
        db._owner = np.asarray(st["owner"].detach().numpy(), dtype=np.int64)
        db._names = list(st["names"])
        db.image_shape = tuple(st["image_shape"]) if st["image_shape"] else None
        return db
