"""The dataset folder: the one owner of its layout, of finding a dataset, and of its life.

Every command that writes a dataset (``render``, ``composite``, ``import-bop``, ``merge``) or
reads one (``validate``, ``stats``, ``preview``, ``report``, ``gap``, ``replay``,
``composite --instances``) goes through this package::

    DIR/
      config.yaml             the resolved config (render, composite); resume compares it
      images/NNNNNN.png       image i (imports keep their photos' own names)
      depth/NNNNNN.png        uint16 depth in millimetres, when asked for
      records/NNNNNN.json     labels + provenance of image i; its presence = image i finished
      annotations.json        COCO, written once every image is finished
      sources/DDD/config.yaml each input's config (merged datasets)
      gap.json                ``simgen gap`` results
      yolo/, yolo-seg/, bop/  other formats (:mod:`simgen.formats`)

Modules (each imported by name; this package imports none of them, so that the lowest layer,
:mod:`simgen.dataset.versions`, loads without the rest):

- :mod:`simgen.dataset.layout`: the names and paths above (``CONFIG_FILE``, ``image_name``,
  ``record_path`` ...), spelled nowhere else.
- :mod:`simgen.dataset.locate`: the one rule from a DATASET argument (a folder or a COCO
  file) to its COCO file, images folder and simgen root.
- :mod:`simgen.dataset.lifecycle`: prepare (new, empty or same-config resume), start, resume
  (which images are unfinished), finalize (the format files); output errors as one line
  naming the path.
- :mod:`simgen.dataset.merge`: merging finished datasets into one.
- :mod:`simgen.dataset.versions`: ``schema_version`` of configs and records, and converters.
"""
