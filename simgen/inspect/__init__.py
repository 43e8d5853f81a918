"""Look at a dataset: validate its COCO labels, preview them, compute statistics, report.

Modules, one concept each:

- :mod:`simgen.inspect.dataset`: locate a dataset (simgen directory or any COCO file), load
  its COCO JSON, turn any segmentation (RLE, uncompressed RLE, polygons) into a mask.
- :mod:`simgen.inspect.validate`: check a COCO file and list its problems.
- :mod:`simgen.inspect.draw`: draw masks, boxes and names on an image.
- :mod:`simgen.inspect.preview`: a contact sheet of labeled images.
- :mod:`simgen.inspect.stats`: dataset statistics and distances between two datasets.
- :mod:`simgen.inspect.plots`: matplotlib figures of those statistics.
- :mod:`simgen.inspect.provenance`: a summary of what was sampled (``DIR/records``).
- :mod:`simgen.inspect.report`: one self-contained HTML page.
- :mod:`simgen.inspect.cli`: the ``validate``, ``preview``, ``stats`` and ``report`` commands.

Heavy dependencies (pycocotools, OpenCV, matplotlib) are imported inside functions.
"""
