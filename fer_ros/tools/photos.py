"""Real photos that ship inside installed packages (no download), for the demo, soak, regression and bench.

``demo_photos`` are scikit-image's and matplotlib's sample photos as BGR arrays; ``face_tiles`` are
head-and-shoulders crops of the two people in them. The bench checks frames built from them by hash
and the tests depend on them: change neither without re-blessing those.
"""

from __future__ import annotations

import cv2
import numpy as np


def demo_photos() -> dict[str, np.ndarray]:
    """Real photos that ship inside installed packages (no download), as BGR."""
    try:
        import matplotlib.cbook
        import skimage.data
    except ImportError as error:
        raise ModuleNotFoundError(
            f"the packaged photos come with scikit-image and matplotlib ({error}): on a robot "
            "`sudo apt install python3-skimage python3-matplotlib`, elsewhere `pip install scikit-image matplotlib`, "
            "or give the tool photos of your own") from None

    astronaut = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        hopper = cv2.imdecode(np.frombuffer(handle.read(), np.uint8), cv2.IMREAD_COLOR)
    cat = cv2.cvtColor(skimage.data.chelsea(), cv2.COLOR_RGB2BGR)
    pair = np.hstack([cv2.resize(astronaut, (400, 400)), cv2.resize(hopper, (400, 400))])
    return {"astronaut": astronaut, "grace_hopper": hopper, "astronaut_and_hopper": pair, "cat": cat}


def face_tiles() -> list[np.ndarray]:
    """Head-and-shoulders crops of the people in photos that ship with scikit-image and matplotlib
    (astronaut Eileen Collins, Grace Hopper), so that faces stay detectable in small grid cells."""
    from fer_ros.core.detectors import create_detector

    photos = demo_photos()
    detector = create_detector("haar")
    tiles = []
    for name in ("astronaut", "grace_hopper"):
        photo = photos[name]
        box = detector.detect(photo, 32)[0]
        side = int(box.width * 2.2)  # the face and some context around it, square
        cx, cy = box.x + box.width // 2, box.y + box.height // 2
        x0, y0 = max(0, cx - side // 2), max(0, cy - side // 2)
        tiles.append(photo[y0:y0 + side, x0:x0 + side])
    return tiles
