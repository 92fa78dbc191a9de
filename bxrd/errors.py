"""Exceptions raised for bad user input; each message names the file or object and the problem."""


class BxrdInputError(ValueError):
    """Base class: an input (file, structure, pattern, option) that bxrd cannot use."""


class StructureFileError(BxrdInputError):
    """A structure file that cannot be read (malformed CIF, unreadable JSON, empty file)."""


class NotPerovskiteError(BxrdInputError):
    """A structure that is not an ABX3 perovskite (composition or coordination do not fit)."""


class OxidationStateError(BxrdInputError):
    """A structure whose oxidation states are absent and cannot be guessed."""


class StickFileError(BxrdInputError):
    """A cached stick-pattern file that is missing fields or corrupt."""


class PatternFileError(BxrdInputError):
    """A measured pattern file that cannot be used (NaN, unsorted 2θ, unknown wavelength, ...)."""
