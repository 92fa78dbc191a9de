"""Class names every layer above the data may need, without the labelling machinery.

:mod:`bxrd.data.labels` assigns them (it imports pymatgen); answering a measured pattern
(:mod:`bxrd.inference`, :mod:`bxrd.explain`) only needs the names, and ``bxrd predict``
never imports pymatgen.
"""

#: Label of everything outside the kept classes (the catch-all class; no structure of its own).
OTHER = "other"
#: Class names of the yes/no task, index order.
IN_LIBRARY_CLASSES: list[str] = ["no", "yes"]
#: Classes that are mixtures of structures, with no structure of their own to name hkl by or
#: to subtract as a main phase: ``other`` and the yes/no task's two classes.
NO_STRUCTURE: frozenset[str] = frozenset({OTHER, *IN_LIBRARY_CLASSES})
#: Classes that claim no perovskite: ``bxrd predict`` withholds any other answer when no
#: training perovskite is like the pattern (``yes`` of the yes/no task included).
CLAIM_NO_PEROVSKITE: frozenset[str] = frozenset({OTHER, IN_LIBRARY_CLASSES[0]})
