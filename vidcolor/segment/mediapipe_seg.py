"""Face and person regions from MediaPipe's bundled models (0.10.21 ships them in its wheel).

FaceMesh gives 478 landmarks per face (iris included); SelfieSegmentation gives the person. From
them: face skin, lips, eyes, eyebrows (landmark hulls), hair (person above and around the face,
outside its oval, brightness-refined), neck, clothes (person below the chin) and background.

Degrades like the method it follows, but only on evidence: no face at the default confidence →
retry lower, keeping a face found so only where it sits on the person mask; still no face but a
person mask that is confident and person-shaped → the person split at an estimated chin line
(upper fifth ``head``, the rest ``clothes``); otherwise one ``whole`` region. Animals, cartoons and
landscapes fool the selfie model (it calls a field of grass with a rabbit 80 % "person", wide and
sure of itself); they get one region, and whole-frame correspondence decides their colours.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vidcolor.native import native_stderr_silenced
from vidcolor.segment.base import Segmenter
from vidcolor.segment.mediapipe_import import face_mesh, selfie_segmentation
from vidcolor.segment.regions import feathered
from vidcolor.shared_types import RegionMasks

log = logging.getLogger("vidcolor.segment")

# FaceMesh landmark indices used for geometry: top of the forehead and the chin.
_FOREHEAD, _CHIN = 10, 152
_PERSON_THRESHOLD = 0.5
# A person mask without a face is trusted only when it looks like one: not most of the frame, not
# much wider than tall, and mostly sure of itself (pixels between 0.2 and 0.8 are "unsure").
_PERSON_MAX_AREA = 0.8
_PERSON_MIN_ASPECT = 0.8  # bounding box height / width
_PERSON_MAX_UNSURE = 0.3  # unsure pixels per person pixel
# A face found only at a retry's lower confidence must have this share of its landmarks on the person.
_FACE_ON_PERSON = 0.5


@dataclass(frozen=True)
class Face:
    """One face's landmarks in pixels ``(478, 2)`` and derived geometry."""

    points: np.ndarray

    @property
    def centre_x(self) -> float:
        return float(self.points[:, 0].mean())

    @property
    def width(self) -> float:
        return float(np.ptp(self.points[:, 0]))

    @property
    def top(self) -> float:
        return float(self.points[_FOREHEAD, 1])

    @property
    def chin(self) -> float:
        return float(self.points[_CHIN, 1])

    @property
    def height(self) -> float:
        return max(1.0, self.chin - self.top)


class MediaPipeSegmenter(Segmenter):
    """Regions from MediaPipe FaceMesh + SelfieSegmentation, offline.

    Args:
        max_faces: faces looked for per image.
        confidences: FaceMesh detection thresholds tried in turn until a face is found.
        feather: feather width as a fraction of the image's long side.
    """

    name = "mediapipe"

    def __init__(
        self, max_faces: int = 4, confidences: tuple[float, ...] = (0.5, 0.3, 0.15), feather: float = 0.006
    ) -> None:
        # MediaPipe's C++ side logs start-up lines to the process's stderr (see vidcolor.native).
        with native_stderr_silenced():
            self._selfie = selfie_segmentation.SelfieSegmentation(model_selection=0)
            _opened(self._selfie)
        self._meshes: dict[float, Any] = {}
        self.max_faces = max_faces
        self.confidences = confidences
        self.feather = feather
        self.last_fallback = ""  # which path the last call took, for logs and tests
        indices = face_mesh
        self._oval = _indices(indices.FACEMESH_FACE_OVAL)
        self._lips = _indices(indices.FACEMESH_LIPS)
        self._eyes = (_indices(indices.FACEMESH_LEFT_EYE), _indices(indices.FACEMESH_RIGHT_EYE))
        self._brows = (_indices(indices.FACEMESH_LEFT_EYEBROW), _indices(indices.FACEMESH_RIGHT_EYEBROW))

    def segment(self, luma: np.ndarray, rgb: np.ndarray | None = None) -> RegionMasks:
        return self.segment_with_faces(luma, rgb)[0]

    def segment_with_faces(self, luma: np.ndarray, rgb: np.ndarray | None = None) -> tuple[RegionMasks, list[Face]]:
        """The regions and the faces they were built from (other segmenters refine the faces)."""
        h, w = luma.shape
        image = _as_rgb_u8(luma, rgb)
        with native_stderr_silenced():
            soft = self._selfie.process(image).segmentation_mask
        soft = soft if soft is not None else np.zeros((h, w), np.float32)
        person = soft > _PERSON_THRESHOLD
        faces = self.detect_faces(image, person)
        radius = self.feather * max(h, w)
        if faces:
            self.last_fallback = "faces"
            return feathered(self._face_regions(faces, person, luma), (h, w), radius), faces
        if _looks_like_a_person(soft, person):
            self.last_fallback = "person"
            log.debug("no face found; splitting the person mask geometrically")
            return feathered(_split_person(person), (h, w), radius), faces
        self.last_fallback = "whole"
        return RegionMasks.whole(h, w), faces

    def detect_faces(self, image: np.ndarray, person: np.ndarray | None = None) -> list[Face]:
        """Faces left to right, at the first confidence that finds any.

        Below the first confidence, a face counts only where most of it lies on ``person`` (when
        given): low thresholds find faces in tree bark and cartoon animals too.
        """
        h, w = image.shape[:2]
        for k, confidence in enumerate(self.confidences):
            if k and person is not None and not person.any():
                break  # no face found below the first confidence could lie on a person: spare the meshes
            with native_stderr_silenced():
                result = self._mesh(confidence).process(image)
            if result.multi_face_landmarks:
                faces = [
                    Face(np.array([(p.x * w, p.y * h) for p in landmarks.landmark], np.float32))
                    for landmarks in result.multi_face_landmarks
                ]
                if k and person is not None:
                    faces = [f for f in faces if _share_on(f.points, person) >= _FACE_ON_PERSON]
                if faces:
                    return sorted(faces, key=lambda f: f.centre_x)
        return []

    def _mesh(self, confidence: float) -> Any:
        if confidence not in self._meshes:
            with native_stderr_silenced():
                self._meshes[confidence] = _opened(self._new_mesh(confidence))
        return self._meshes[confidence]

    def _new_mesh(self, confidence: float) -> Any:
        return face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=self.max_faces,
            refine_landmarks=True,
            min_detection_confidence=confidence,
        )

    def _face_regions(self, faces: list[Face], person: np.ndarray, luma: np.ndarray) -> dict[str, np.ndarray]:
        h, w = person.shape
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        regions: dict[str, np.ndarray] = {}
        clothes = np.zeros((h, w), bool)
        faces_union = np.zeros((h, w), bool)
        for k, face in enumerate(faces):
            suffix = f"#{k}" if k else ""
            oval = _hull(face.points[self._oval], (h, w))
            lips = _hull(face.points[self._lips], (h, w))
            eyes = _hull(face.points[self._eyes[0]], (h, w)) | _hull(face.points[self._eyes[1]], (h, w))
            brows = _hull(face.points[self._brows[0]], (h, w)) | _hull(face.points[self._brows[1]], (h, w))
            brows = cv2.dilate(brows.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            near_x = np.abs(xs - face.centre_x)
            # Hair: the person around and above the face, outside the oval, down to the jaw.
            head_box = (
                (near_x < 0.85 * face.width)
                & (ys > face.top - 0.7 * face.height)
                & (ys < face.chin - 0.15 * face.height)
            )
            hair = person & head_box & ~oval
            hair |= _above_oval(face, ys, near_x) & ~oval  # the crown, even where the person mask misses it
            skin_like = _skin_like(luma, oval & ~lips & ~eyes & ~brows)
            # Beside the face, below the brows, skin-toned pixels are ears, not hair.
            ears = hair & skin_like & (ys > face.top + 0.25 * face.height)
            hair &= ~ears
            neck_box = person & ~oval & (near_x < 0.45 * face.width)
            neck_box &= (ys >= face.chin - 0.15 * face.height) & (ys < face.chin + 0.45 * face.height)
            neck = neck_box & skin_like  # a collar under the chin is clothes
            below = person & (ys >= face.chin) & (near_x < 1.8 * face.width)
            clothes |= below & ~neck
            regions[f"hair{suffix}"] = hair
            regions[f"neck{suffix}"] = neck
            regions[f"skin{suffix}"] = oval | ears
            regions[f"eyebrows{suffix}"] = brows
            regions[f"eyes{suffix}"] = eyes
            regions[f"lips{suffix}"] = lips
            faces_union |= oval | ears | hair | neck
        # Person pixels no face claims (arms, a second person without a found face) are clothes/body.
        clothes |= person & ~faces_union
        return {"clothes": clothes & ~faces_union, **regions}


def _indices(edges: frozenset[tuple[int, int]]) -> np.ndarray:
    return np.array(sorted({i for edge in edges for i in edge}), np.int64)


def _hull(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    hull = cv2.convexHull(np.round(points).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, (1,))
    return mask.astype(bool)


def _above_oval(face: Face, ys: np.ndarray, near_x: np.ndarray) -> np.ndarray:
    """A cap over the forehead: hair is there on most heads, and the person mask often clips it."""
    return (near_x < 0.5 * face.width) & (ys < face.top) & (ys > face.top - 0.25 * face.height)


def _skin_like(luma: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Pixels whose neighbourhood has the brightness of the face's skin (its 15th-85th percentile)."""
    if skin.sum() < 20:
        return np.zeros_like(skin)
    lo, hi = np.percentile(luma[skin], [15, 85])
    inside = ((luma >= lo) & (luma <= hi)).astype(np.float32)
    return cv2.blur(inside, (5, 5)) > 0.7


def _looks_like_a_person(soft: np.ndarray, person: np.ndarray) -> bool:
    """Whether a selfie mask without a face is sound enough to split into regions."""
    area = float(person.mean())
    if not 0.01 < area <= _PERSON_MAX_AREA:
        return False
    ys, xs = np.nonzero(person)
    aspect = (np.ptp(ys) + 1) / (np.ptp(xs) + 1)
    unsure = float(((soft > 0.2) & (soft < 0.8)).mean()) / area
    return bool(aspect >= _PERSON_MIN_ASPECT and unsure <= _PERSON_MAX_UNSURE)


def _share_on(points: np.ndarray, mask: np.ndarray) -> float:
    """The share of ``points`` ``(n, 2)`` (x, y pixels) that fall on ``mask``."""
    h, w = mask.shape
    xs = np.clip(np.round(points[:, 0]).astype(int), 0, w - 1)
    ys = np.clip(np.round(points[:, 1]).astype(int), 0, h - 1)
    return float(mask[ys, xs].mean())


def _split_person(person: np.ndarray) -> dict[str, np.ndarray]:
    """No face: the upper fifth of the person (to an estimated chin line) is ``head``, the rest ``clothes``."""
    rows = np.flatnonzero(person.any(axis=1))
    top, bottom = rows[0], rows[-1]
    chin = top + max(1, round(0.2 * (bottom - top + 1)))
    head = person.copy()
    head[chin:] = False
    return {"clothes": person & ~head, "head": head}


def _as_rgb_u8(luma: np.ndarray, rgb: np.ndarray | None) -> np.ndarray:
    if rgb is not None:
        return np.ascontiguousarray(np.clip(rgb * 255.0, 0, 255).astype(np.uint8))
    grey = np.clip(luma * 255.0, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))


def _opened(graph: Any) -> Any:
    """``graph`` once its calculators are open. A MediaPipe graph opens them on its own threads after the
    constructor returns, and TensorFlow Lite's start-up line ("Created TensorFlow Lite XNNPACK delegate")
    comes then: under load, after the silenced constructor. One tiny frame through it waits for them."""
    graph.process(np.zeros((32, 32, 3), np.uint8))
    return graph
