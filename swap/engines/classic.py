"""The ``classic`` swap engine: a Delaunay warp over the 68 landmarks, then a Poisson blend.

1. Triangulate the source's 68 landmarks (the source face is the same for every frame of a job,
   so the mesh does not flip from frame to frame) and warp each source triangle onto the
   target's. All the work happens in a crop around the target face, padded by reflection where
   the face runs off the image, so faces at the edge and big frames cost the same.
2. Match the warped face's colour to the target's: mean and spread per LAB channel, measured
   inside the face mask.
3. Mask: the convex hull of the target's landmarks, shrunk a little (the jaw line's landmarks sit
   on the edge of the face, and the source's background must not come along), without the
   target's inner mouth, so an open mouth keeps the target's teeth and tongue and the
   source's lips are stretched around them. Eyes come from the source (they carry most of
   the identity); a closing eye in the target squeezes the source's eye with it.
4. ``cv2.seamlessClone`` (normal clone) with that mask, then a feathered blend at the edge.
   Should the Poisson solve fail, the feathered alpha blend alone is used.
"""

from __future__ import annotations

import cv2
import numpy as np

from biometrics.analysis import Face

_INNER_MOUTH = slice(60, 68)  # dlib's 68-point layout


class ClassicEngine:
    """Delaunay warp + colour correction + ``cv2.seamlessClone``. Stateless, so thread-safe.

    ``shrink``: how far the mask is pulled in from the landmarks' hull, as a share of the face
    size; ``feather``: the width of the soft edge, same unit; ``margin``: the crop around the
    target face.
    """

    name = "classic"

    def __init__(self, *, shrink: float = 0.04, feather: float = 0.04, margin: float = 0.2):
        self.shrink = shrink
        self.feather = feather
        self.margin = margin

    def swap(
        self,
        source_image_bgr: np.ndarray,
        source_face: Face,
        target_bgr: np.ndarray,
        target_face: Face,
    ) -> np.ndarray:
        _check_image(source_image_bgr, "source")
        _check_image(target_bgr, "target")
        src = _landmarks(source_face, "source")
        dst = _landmarks(target_face, "target")
        rect = _crop_rect(dst, self.margin)
        if not _overlaps(rect, target_bgr.shape):
            return target_bgr.copy()  # landmarks wholly outside the picture: nothing to paint
        crop = _crop(target_bgr, rect)
        local = dst - np.array(rect[:2], dtype=np.float64)
        warped, covered = _warp(source_image_bgr, src, local, crop.shape[:2])
        mask = self._mask(local, covered)
        if not mask.any():
            return target_bgr.copy()
        warped = _match_colour(warped, crop, mask)
        blended = self._blend(warped, crop, mask, _face_size(local))
        return _paste(target_bgr, blended, rect)

    def _mask(self, points: np.ndarray, covered: np.ndarray) -> np.ndarray:
        """Binary (0/255) mask: the hull shrunk, minus the inner mouth, within the warp."""
        size = _face_size(points)
        mask = np.zeros(covered.shape, np.uint8)
        hull = cv2.convexHull(np.round(points).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 255, cv2.LINE_8)
        mouth = np.round(points[_INNER_MOUTH]).astype(np.int32)
        if cv2.contourArea(mouth.astype(np.float32)) > 4:
            cv2.fillPoly(mask, [mouth], 0, cv2.LINE_8)
        mask &= covered
        radius = max(1, round(self.shrink * size))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        return cv2.erode(mask, kernel)

    def _blend(self, warped, crop, mask, size: float) -> np.ndarray:
        sigma = max(1.0, self.feather * size / 2)
        alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), sigma)[..., None]
        # Inside the soft edge the mask stays whole; the blur only softens the border.
        alpha = np.minimum(alpha * 2, 1.0) * (mask[..., None] > 0)
        cloned = _seamless(warped, crop, mask)
        out = alpha * cloned.astype(np.float32) + (1 - alpha) * crop.astype(np.float32)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _check_image(image: np.ndarray, which: str) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"the {which} image must be BGR, shape (h, w, 3)")
    if image.dtype != np.uint8 or min(image.shape[:2]) < 8:
        raise ValueError(f"the {which} image must be uint8 and at least 8x8")


def _landmarks(face: Face, which: str) -> np.ndarray:
    if face.landmarks is None or np.shape(face.landmarks) != (68, 2):
        raise ValueError(f"the classic engine needs the {which} face's 68 landmarks")
    return np.asarray(face.landmarks, dtype=np.float64)


def _face_size(points: np.ndarray) -> float:
    span = points.max(axis=0) - points.min(axis=0)
    return float(max(span.max(), 1.0))


def _crop_rect(points: np.ndarray, margin: float) -> tuple[int, int, int, int]:
    """The work area around the target face; it may reach past the image's edges."""
    pad = margin * _face_size(points) + 4
    x0, y0 = np.floor(points.min(axis=0) - pad).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + pad).astype(int)
    return int(x0), int(y0), int(x1), int(y1)


def _overlaps(rect: tuple[int, int, int, int], shape: tuple[int, ...]) -> bool:
    x0, y0, x1, y1 = rect
    return x0 < shape[1] and y0 < shape[0] and x1 > 0 and y1 > 0


def _crop(image: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """``image[y0:y1, x0:x1]``, filled by reflection where the rect leaves the image."""
    x0, y0, x1, y1 = rect
    h, w = image.shape[:2]
    left, top = max(0, -x0), max(0, -y0)
    right, bottom = max(0, x1 - w), max(0, y1 - h)
    inner = image[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
    if not (left or top or right or bottom):
        return inner.copy()
    # BORDER_REFLECT_101 needs the padding to be smaller than the image; REPLICATE does not.
    border = cv2.BORDER_REFLECT_101 if max(left, right) < inner.shape[1] else cv2.BORDER_REPLICATE
    if max(top, bottom) >= inner.shape[0]:
        border = cv2.BORDER_REPLICATE
    return cv2.copyMakeBorder(inner, top, bottom, left, right, border)


def _paste(image: np.ndarray, crop: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """A copy of ``image`` with the in-image part of ``crop`` written back at ``rect``."""
    x0, y0, x1, y1 = rect
    h, w = image.shape[:2]
    out = image.copy()
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(w, x1), min(h, y1)
    if cx1 > cx0 and cy1 > cy0:
        out[cy0:cy1, cx0:cx1] = crop[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    return out


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles over ``points``, as (n, 3) index triples."""
    low = points.min(axis=0) - 2
    high = points.max(axis=0) + 2
    subdiv = cv2.Subdiv2D(
        (int(low[0]), int(low[1]), int(high[0] - low[0]) + 2, int(high[1] - low[1]) + 2)
    )
    for x, y in points:
        subdiv.insert((float(x), float(y)))
    triangles = []
    for tri in np.asarray(subdiv.getTriangleList()).reshape(-1, 3, 2):
        dist = np.linalg.norm(points[None, :, :] - tri[:, None, :], axis=2)
        index = dist.argmin(axis=1)
        if dist[np.arange(3), index].max() < 1e-3 and len(set(index.tolist())) == 3:
            triangles.append(index)
    return np.array(triangles, dtype=np.int32).reshape(-1, 3)


def _warp(source: np.ndarray, src: np.ndarray, dst: np.ndarray, shape: tuple[int, int]):
    """Piecewise-affine warp of ``source`` so that its ``src`` points land on ``dst`` (crop
    coordinates). Returns the warped crop and a 0/255 mask of the pixels a triangle covered."""
    h, w = shape
    triangles = triangulate(src)
    owner = np.full((h, w), -1, dtype=np.int32)
    affines = np.zeros((len(triangles), 2, 3), dtype=np.float64)
    for t, tri in enumerate(triangles):
        d, s = dst[tri].astype(np.float32), src[tri].astype(np.float32)
        if abs(cv2.contourArea(d)) < 0.5:
            continue  # collapsed in the target (a shut eye, say): nothing to draw
        affines[t] = cv2.getAffineTransform(d, s)
        cv2.fillConvexPoly(owner, np.round(d * 16).astype(np.int32), t, cv2.LINE_8, 4)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    a = affines[np.maximum(owner, 0)].astype(np.float32)
    map_x = a[..., 0, 0] * xs + a[..., 0, 1] * ys + a[..., 0, 2]
    map_y = a[..., 1, 0] * xs + a[..., 1, 1] * ys + a[..., 1, 2]
    warped = cv2.remap(source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return warped, np.where(owner >= 0, 255, 0).astype(np.uint8)


def _match_colour(warped: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shift and scale each LAB channel of ``warped`` to the target's mean and spread inside
    ``mask``. The scale is bounded so a flat (grey, or over-exposed) face cannot blow up noise."""
    src = cv2.cvtColor(warped, cv2.COLOR_BGR2LAB)
    mean_s, std_s = (v.ravel() for v in cv2.meanStdDev(src, mask=mask))
    mean_r, std_r = (
        v.ravel() for v in cv2.meanStdDev(cv2.cvtColor(target, cv2.COLOR_BGR2LAB), mask=mask)
    )
    # Lightness keeps at least half its spread (the face's shape lives there); the colour
    # channels may lose all of it, so a face pasted into a grey picture turns grey.
    scale = np.clip(std_r / (std_s + 1e-3), [0.5, 0.0, 0.0], 2.0)
    # One affine map per channel: out = scale * (in - mean_s) + mean_r, saturated to uint8.
    matrix = np.zeros((3, 4), np.float64)
    matrix[[0, 1, 2], [0, 1, 2]] = scale
    matrix[:, 3] = mean_r - scale * mean_s
    return cv2.cvtColor(cv2.transform(src, matrix), cv2.COLOR_LAB2BGR)


def _seamless(warped: np.ndarray, crop: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Poisson blend of ``warped`` into ``crop`` in place (no shift), or ``warped`` itself."""
    x, y, w, h = cv2.boundingRect(mask)
    # seamlessClone centres the mask's bounding box on this point: w // 2 keeps it in place.
    centre = (x + w // 2, y + h // 2)
    try:
        return cv2.seamlessClone(warped, crop, mask, centre, cv2.NORMAL_CLONE)
    except cv2.error:
        return warped
