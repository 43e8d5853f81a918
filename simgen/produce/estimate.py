"""What a render run will cost before it starts: images left, time and disk (``--dry-run``).

The estimate is measured, not modelled: a short probe renders the run's first scenes in this
process, into a temporary folder (the output folder is only read, to count what a resumed run
has left). Its first scene carries the one-off start-up (GL context, shader programs, mesh
uploads, physics client); the later scenes give the steady cost per image. The run's time is
then ``start-up + images left / rate``. Workers render in parallel until they run out of cores,
and one worker already spreads its rasterization over several cores (Mesa's llvmpipe), so the
rate is the lower of two bounds: ``workers / seconds per image`` (each worker's own pace) and
``cores / CPU seconds per image`` (the probe's CPU time, all its threads). Disk is the probe's
bytes per image (PNG, depth, record) times the images left, plus its annotation bytes for every
image of the final COCO file.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from simgen.config import SceneConfig


@dataclass(frozen=True)
class RunEstimate:
    """A run's estimated cost.

    Attributes:
        images: images the dataset will hold (``num_images``).
        images_left: images not yet in the output folder (all of them for a new folder).
        workers: worker processes the run will use.
        parallel: workers that run at once (at most the machine's cores).
        cores: the machine's cores.
        probe_images: images rendered by the probe.
        seconds_per_image: one worker's steady wall time per image (probe scenes after the
            first).
        cpu_seconds_per_image: the CPU time (all threads) behind it.
        images_per_second: the estimated rate, the lower of ``parallel / seconds_per_image``
            and ``cores / cpu_seconds_per_image``.
        startup_seconds: one-off cost before the first image (catalog, renderer, first scene).
        seconds: estimated wall time of the run.
        bytes_per_image: image files and record per image.
        annotation_bytes_per_image: the COCO annotations per image.
        disk_bytes: estimated bytes the run adds to the output folder.
        free_bytes: free bytes on the output folder's file system.
    """

    images: int
    images_left: int
    workers: int
    parallel: int
    cores: int
    probe_images: int
    seconds_per_image: float
    cpu_seconds_per_image: float
    images_per_second: float
    startup_seconds: float
    seconds: float
    bytes_per_image: float
    annotation_bytes_per_image: float
    disk_bytes: int
    free_bytes: int

    def lines(self) -> list[tuple[str, str]]:
        """(quantity, value) rows for a table or plain text."""
        return [
            ("images in dataset", str(self.images)),
            ("images to render", str(self.images_left)),
            ("workers (running at once)", f"{self.workers} ({self.parallel})"),
            ("probe", f"{self.probe_images} images in this process"),
            (
                "per image, one worker",
                f"{self.seconds_per_image:.3f} s ({self.cpu_seconds_per_image:.3f} s CPU)",
            ),
            ("estimated images/s", f"{self.images_per_second:.1f} on {self.cores} cores"),
            ("start-up (s)", f"{self.startup_seconds:.1f}"),
            ("estimated time", format_duration(self.seconds)),
            ("estimated disk", format_bytes(self.disk_bytes)),
            ("free disk", format_bytes(self.free_bytes)),
        ]


def format_duration(seconds: float) -> str:
    """``1 h 02 min``, ``3 min 05 s`` or ``12.3 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_bytes(count: float) -> str:
    """Bytes in B, KiB, MiB, GiB or TiB with three significant figures."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.3g} {unit}"
        count /= 1024
    return f"{count:.3g} TiB"


def images_left(out_dir: Path, config: SceneConfig) -> int:
    """Images of ``config`` not yet finished in ``out_dir`` (a resumed run renders these)."""
    from simgen.produce.shards import pending_views

    if not out_dir.is_dir():
        return config.num_images
    pending = pending_views(out_dir, config.num_images, config.views_per_scene)
    return sum(len(views) for views in pending.values())


def probe_scene_count(config: SceneConfig) -> int:
    """Scenes the probe renders: the first (start-up) and enough for a steady median."""
    scenes = -(-config.num_images // config.views_per_scene)
    return max(1, min(scenes, 1 + max(2, -(-8 // config.views_per_scene))))


def estimate_run(
    config: SceneConfig,
    out_dir: str | Path,
    *,
    workers: int = 1,
    renderer: str = "pyrender",
    source: str | Path | None = None,
) -> RunEstimate:
    """Probe-render the run's first scenes and estimate its time and disk (writes nothing
    under ``out_dir``).

    Args:
        config: validated scene config.
        out_dir: the run's output folder (read only: images already finished are not counted).
        workers: worker processes the run will use.
        renderer: renderer backend name.
        source: the scene file, named in errors about its meshes.
    """
    from simgen.assets import load_catalog
    from simgen.config import validate_config
    from simgen.dataset.layout import DEPTH_DIR, IMAGES_DIR, RECORDS_DIR
    from simgen.dataset.lifecycle import prepare_dataset
    from simgen.produce.runner import check_texture_folders
    from simgen.produce.workers import SceneProducer

    out_dir = Path(out_dir)
    prepare_dataset(out_dir, config, validate_config)  # the same checks as the run (reads only)
    check_texture_folders(config, source=source)
    left = images_left(out_dir, config)
    views = config.views_per_scene
    start = time.perf_counter()
    assets = load_catalog(config, source=source)
    scene_seconds: list[float] = []
    scene_cpu: list[float] = []
    with tempfile.TemporaryDirectory(prefix="simgen-dry-run-") as tmp:
        probe = Path(tmp)
        (probe / IMAGES_DIR).mkdir()
        (probe / RECORDS_DIR).mkdir()
        if config.output.depth:
            (probe / DEPTH_DIR).mkdir()
        worker = SceneProducer(config, assets, renderer, warm_shaders=True)
        try:
            setup = time.perf_counter() - start
            for scene_index in range(probe_scene_count(config)):
                t0, c0 = time.perf_counter(), time.process_time()
                worker.render_scene(scene_index, range(views), probe)
                scene_seconds.append(time.perf_counter() - t0)
                scene_cpu.append(time.process_time() - c0)
        finally:
            worker.close()
        probe_images = len(scene_seconds) * views
        files = [p for p in probe.rglob("*") if p.is_file()]
        file_bytes = sum(p.stat().st_size for p in files)
        annotation_bytes = sum(
            len(json.dumps(json.loads(p.read_text())["annotations"]))
            for p in (probe / RECORDS_DIR).glob("*.json")
        )
    steady = scene_seconds[1:] or scene_seconds
    per_image = statistics.median(steady) / views
    cpu_per_image = statistics.median(scene_cpu[1:] or scene_cpu) / views
    startup = setup + max(0.0, scene_seconds[0] - statistics.median(steady))
    cores = os.cpu_count() or 1
    parallel = max(1, min(workers, cores))
    rate = min(parallel / per_image, cores / max(cpu_per_image, 1e-9))
    seconds = (startup + left / rate) if left else 0.0
    bytes_per_image = file_bytes / probe_images
    annotation_per_image = annotation_bytes / probe_images
    anchor = out_dir
    while not anchor.exists():
        anchor = anchor.parent
    return RunEstimate(
        images=config.num_images,
        images_left=left,
        workers=workers,
        parallel=parallel,
        cores=cores,
        probe_images=probe_images,
        seconds_per_image=per_image,
        cpu_seconds_per_image=cpu_per_image,
        images_per_second=rate,
        startup_seconds=startup,
        seconds=seconds,
        bytes_per_image=bytes_per_image,
        annotation_bytes_per_image=annotation_per_image,
        disk_bytes=round(bytes_per_image * left + annotation_per_image * config.num_images),
        free_bytes=shutil.disk_usage(anchor).free,
    )
