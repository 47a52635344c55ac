"""The ``classic`` swap engine: the source face aligned as a whole, fitted to the target's
outline, toned like the target, blended band by band.

1. Align: a similarity (rotation, uniform scale, shift; least squares, Umeyama) maps the
   source's stable points (brows, eye corners, nose) onto the target's, so the source's
   features keep their proportions, which is what makes a face someone's. Only then a local
   warp: a Delaunay mesh over the source's 68 landmarks takes each point to its goal: the aligned
   source point for the eyes, brows and nose, the target's point for the jaw line (so the face
   fits the target's head), and a mix for the mouth and the eyelids (so the target's open mouth
   and blinks carry over). The source face is the same for every frame of a job, so the mesh
   does not flip between frames. All the work happens in a crop around the target face, padded
   by reflection where the face runs off the image.
2. Pose: past ``max_source_yaw`` (45 degrees, estimated from where the nose sits between the
   jaw's ends) a source's hidden half would be stretched across the target: refused with
   ``SwapError("source_turned_away")``. A target may turn further, as its outline is kept and
   the features follow its geometry more the more it is turned; past ``max_yaw`` (60 degrees)
   it is refused with ``SwapError("face_turned_away")``, and a clip passes such frames
   through, labelled, as frames without a face.
3. Tone: in LAB, each channel's local mean (a wide Gaussian, normalised by the mask) is
   swapped for the target's: light and colour from the target, the source's own shading (its
   nose, cheekbones, eye sockets) and detail kept, as in the classic dlib write-ups.
4. Mask: the hull of the target's landmarks and of the painted ones, with a strip of forehead
   over the brows (a tenth of the brows-to-chin distance: the brows lie inside, the edge on
   skin, not on hair), without the target's inner mouth (its teeth and tongue stay). The soft
   edge lies wholly inside it: the hull eroded by the feather's width is the source's, and the
   weight falls to ~0.02 at the hull, so no seam shows at the brows or the jaw. Blend: a
   Laplacian pyramid (multi-band blending) down to bands as wide as the feather: coarse bands
   mix over a wider seam than fine ones, and none is so wide that the target's eyes or brows
   show through the source's (a ghost). Nothing outside the mask changes.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from biometrics.analysis import Face

from .errors import SOURCE_TURNED_AWAY, TURNED_AWAY, SwapError

_INNER_MOUTH = slice(60, 68)  # dlib's 68-point layout
_JAW = slice(0, 17)
# Brows, nose and eye corners: they move little with expression (the mouth and lids do), and
# with the brows the alignment carries the face's height as well as its width (measured:
# 35 of 36 pairs closer to the source, against 32 of 36 without them).
_STABLE = [*range(17, 36), 36, 39, 42, 45]
_LIDS = [37, 38, 40, 41, 43, 44, 46, 47]
_MOUTH = slice(48, 68)


class ClassicEngine:
    """Similarity alignment + outline warp + tone transfer + Laplacian-pyramid blend.
    Stateless, so thread-safe.

    ``shrink``: how far the mask is pulled in from the landmarks' hull, as a share of the face
    size; ``feather``: the width of the soft edge inside it, same unit; ``forehead``: the
    strip over the brows, as a share of the brows-to-chin distance; ``margin``: the crop around the
    target face; ``mouth``/``lids``: how far those points follow the target rather than the
    aligned source (0 source, 1 target); ``tone``: the blur of the tone transfer, as a share
    of the distance between the eyes; ``max_yaw`` / ``max_source_yaw``: degrees past which a
    target / source face is refused.
    """

    name = "classic"

    def __init__(
        self,
        *,
        shrink: float = 0.0,
        feather: float = 0.04,
        margin: float = 0.2,
        mouth: float = 0.3,
        lids: float = 0.3,
        tone: float = 0.75,
        max_yaw: float = 60.0,
        max_source_yaw: float = 45.0,
        turn: float = 1.0,
        forehead: float = 0.1,
    ):
        self.shrink = shrink
        self.feather = feather
        self.margin = margin
        self.mouth = mouth
        self.lids = lids
        self.tone = tone
        self.max_yaw = max_yaw
        self.max_source_yaw = max_source_yaw
        self.turn = turn
        self.forehead = forehead

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
        self._check_pose(src, "source")
        rect = _crop_rect(dst, self.margin)
        if not _overlaps(rect, target_bgr.shape):
            return target_bgr.copy()  # landmarks wholly outside the picture: nothing to paint
        crop = _crop(target_bgr, rect)
        local = dst - np.array(rect[:2], dtype=np.float64)
        if _face_size(local) < 8 or _hull_area(local) < 16:
            return target_bgr.copy()  # squashed to nothing: nothing to paint
        # mutant: delete — tests/swap/test_engines_identity.py
        #   test_a_target_turned_away_is_refused_with_a_clear_code
        self._check_pose(local, "target")
        goal = self._goal(src, local)
        # A strip of forehead over the brows, on both sides, so that the brows (a face's
        # strongest cue after the eyes) lie well inside the painted region and the soft edge
        # falls on skin.
        goal = _with_forehead(goal, self.forehead)
        warped, covered = _warp(
            source_image_bgr, _with_forehead(src, self.forehead), goal, crop.shape[:2]
        )
        mask = self._mask(np.vstack([_with_forehead(local, self.forehead), goal]), covered)
        if not mask.any():
            return target_bgr.copy()
        warped = _match_tone(warped, crop, mask, self.tone * _eye_distance(local))
        blended = self._blend(warped, crop, mask, _face_size(local))
        return _paste(target_bgr, blended, rect)

    def _check_pose(self, points: np.ndarray, which: str) -> None:
        limit = self.max_yaw if which == "target" else self.max_source_yaw
        if yaw_degrees(points) > limit:
            # Stable codes: a clip skips target frames turned away, but a turned source is
            # the same in every frame and fails the job.
            code = TURNED_AWAY if which == "target" else SOURCE_TURNED_AWAY
            message = f"the {which} face is turned too far from the camera to be swapped"
            raise SwapError(code, message)

    def _goal(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Where each source landmark goes in the crop: aligned as a whole (its proportions
        kept), the jaw line on the target's, the mouth and lids partly the target's."""
        aligned = _apply(similarity(src[_STABLE], dst[_STABLE]), src)
        # A turned target cannot hold a frontal face's proportions without tearing: the more
        # it is turned, the more every point follows the target (degrading, not refusing).
        turned = float(np.clip((yaw_degrees(dst) - 20.0) / 40.0, 0.0, 1.0)) * self.turn
        weight = np.full(len(src), turned)
        weight[_JAW] = 1.0
        weight[_MOUTH] = np.maximum(weight[_MOUTH], self.mouth)
        weight[_LIDS] = np.maximum(weight[_LIDS], self.lids)
        return aligned + weight[:, None] * (dst - aligned)

    def _mask(self, points: np.ndarray, covered: np.ndarray) -> np.ndarray:
        """Binary (0/255) region painted: the landmarks' hull (pulled in by ``shrink``), minus
        the inner mouth, within the warp."""
        size = _face_size(points)
        mask = np.zeros(covered.shape, np.uint8)
        hull = cv2.convexHull(np.round(points).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 255, cv2.LINE_8)
        mouth = np.round(points[_INNER_MOUTH]).astype(np.int32)
        if cv2.contourArea(mouth.astype(np.float32)) > 4:
            cv2.fillPoly(mask, [mouth], 0, cv2.LINE_8)
        mask &= covered
        if self.shrink <= 0:
            return mask
        return _erode(mask, self.shrink * size)

    def _blend(self, warped, crop, mask, size: float) -> np.ndarray:
        """The soft edge lies wholly inside the region: its core (eroded by the feather's width)
        is the source's, and the weight falls from 1 to ~0.02 across the feather, so the hull's
        edge (the brows' line on the forehead, the jaw) leaves no seam. The pyramid stops at
        bands about as wide as the feather: wider ones would mix the target's features (its
        eyes, its brows) into the source's inside the face, a ghost; the tone transfer has
        already made the lowest frequencies the target's."""
        radius = max(1.0, self.feather * size)
        core = _erode(mask, radius)
        alpha = cv2.GaussianBlur(core.astype(np.float32) / 255, (0, 0), radius / 2)
        alpha *= mask > 0  # nothing outside the region changes
        blended = pyramid_blend(warped, crop, alpha, _levels(radius))
        out = alpha[..., None] * blended + (1 - alpha[..., None]) * crop.astype(np.float32)
        out = np.clip(out + 0.5, 0, 255).astype(np.uint8)
        return np.where(mask[..., None] > 0, out, crop)


def _with_forehead(points: np.ndarray, lift: float) -> np.ndarray:
    """The 68 landmarks and ten more: the brows raised by ``lift`` of the brows-to-chin
    distance, along the face's own up direction."""
    brows = points[17:27]
    up = brows.mean(axis=0) - points[8]
    return np.vstack([points[:68], brows + lift * up])


def _erode(mask: np.ndarray, radius: float) -> np.ndarray:
    r = max(1, round(radius))
    return cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))


def yaw_degrees(points: np.ndarray) -> float:
    """How far the face is turned left or right, roughly, in degrees (0 facing the camera):
    the nose tip's offset from the middle of the jaw's ends, on a head taken as a cylinder."""
    left, right, nose = points[0], points[16], points[30]
    axis = right - left
    width = float(np.linalg.norm(axis))
    if width < 1e-6:
        return 0.0
    share = float(np.dot(nose - left, axis) / width**2)  # 0.5 facing the camera
    return math.degrees(math.asin(min(1.0, abs(2 * share - 1))))


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 least-squares similarity taking ``src`` points to ``dst`` (Umeyama 1991)."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    u, sigma, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1  # a reflection is not a pose
    rotation = u @ sign @ vt
    variance = float((s**2).sum() / len(src))
    scale = float(np.trace(np.diag(sigma) @ sign)) / variance if variance > 1e-9 else 1.0
    shift = mu_d - scale * rotation @ mu_s
    return np.hstack([scale * rotation, shift[:, None]])


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _eye_distance(points: np.ndarray) -> float:
    left, right = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    return max(float(np.linalg.norm(right - left)), 4.0)


def _hull_area(points: np.ndarray) -> float:
    return float(cv2.contourArea(cv2.convexHull(points.astype(np.float32))))


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


def _match_tone(warped: np.ndarray, target: np.ndarray, mask: np.ndarray, sigma: float):
    """The target's light and colour at low frequencies, the source's shading and detail above
    them, in LAB: each channel's local mean (a Gaussian blur of width ``sigma`` normalised by
    the mask, so the background does not leak in) is swapped for the target's. The colour
    channels' variation is scaled to the target's (none in a grey picture, so a face pasted
    into it turns grey); lightness keeps all of its own (the face's shape lives there)."""
    ours = cv2.cvtColor(warped, cv2.COLOR_BGR2LAB)
    theirs = cv2.cvtColor(target, cv2.COLOR_BGR2LAB)
    _, spread_ours = cv2.meanStdDev(ours, mask=mask)
    _, spread_theirs = cv2.meanStdDev(theirs, mask=mask)
    keep = np.minimum(1.0, spread_theirs.ravel() / (spread_ours.ravel() + 1e-3))
    keep[0] = 1.0
    # out = keep * ours + (low_theirs - keep * low_ours): one low-frequency correction.
    low = _local_mean(theirs, mask, sigma) - keep * _local_mean(ours, mask, sigma)
    h, w = mask.shape
    correction = cv2.resize(low.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    out = ours.astype(np.float32) * keep.astype(np.float32) + correction
    return cv2.cvtColor(np.clip(out + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)


def _local_mean(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Mask-normalised Gaussian mean of ``image``, on a copy shrunk so that ``sigma`` is about
    3 px (a 60 px blur at full size costs a tenth of a second; a mean that wide loses
    nothing to the shrinking). The caller scales it back up."""
    h, w = mask.shape
    factor = max(1.0, sigma / 3.0)
    small = (max(1, round(w / factor)), max(1, round(h / factor)))
    inside = cv2.resize((mask > 0).astype(np.float32), small, interpolation=cv2.INTER_AREA)
    values = cv2.resize(image, small, interpolation=cv2.INTER_AREA).astype(np.float32)
    weight = cv2.GaussianBlur(inside, (0, 0), sigma / factor)[..., None] + 1e-4
    return cv2.GaussianBlur(values * inside[..., None], (0, 0), sigma / factor) / weight


def _levels(radius: float) -> int:
    """Pyramid depth: the coarsest band about as wide as the feather (``radius`` px)."""
    return int(np.clip(round(math.log2(max(radius, 2.0))), 1, 6))


def pyramid_blend(front: np.ndarray, back: np.ndarray, alpha: np.ndarray, levels: int):
    """Multi-band blend (Burt and Adelson 1983): the Laplacian bands of ``front`` and ``back``
    mixed by the Gaussian pyramid of ``alpha`` (h, w floats 0..1), then collapsed. float32."""
    front_g: list[np.ndarray] = [front.astype(np.float32)]
    back_g: list[np.ndarray] = [back.astype(np.float32)]
    alpha_g: list[np.ndarray] = [alpha.astype(np.float32)]
    for _ in range(levels):
        front_g.append(cv2.pyrDown(front_g[-1]))
        back_g.append(cv2.pyrDown(back_g[-1]))
        alpha_g.append(cv2.pyrDown(alpha_g[-1]))
    out = _mix(front_g[-1], back_g[-1], alpha_g[-1])
    for level in range(levels - 1, -1, -1):
        size = (front_g[level].shape[1], front_g[level].shape[0])
        band_f = front_g[level] - cv2.pyrUp(front_g[level + 1], dstsize=size)
        band_b = back_g[level] - cv2.pyrUp(back_g[level + 1], dstsize=size)
        out = cv2.pyrUp(out, dstsize=size) + _mix(band_f, band_b, alpha_g[level])
    return out


def _mix(front: np.ndarray, back: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return back + alpha[..., None] * (front - back)
