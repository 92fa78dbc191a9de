"""Class names every layer above the data may need, without the labelling machinery.

:mod:`bxrd.data.labels` assigns them (it imports pymatgen); answering a measured pattern
(:mod:`bxrd.inference`, :mod:`bxrd.explain`) only needs the names, and ``bxrd predict``
never imports pymatgen.
"""

#: Label of everything outside the kept classes (the catch-all class; no structure of its own).
OTHER = "other"
#: Class names of the yes/no task, index order.
IN_LIBRARY_CLASSES: list[str] = ["no", "yes"]
