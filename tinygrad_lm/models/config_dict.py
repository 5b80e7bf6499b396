"""``ConfigDict``: the JSON round trip every model config dataclass shares.

A checkpoint stores a model's config as a plain dict; ``to_dict`` writes it and ``from_dict``
reads it back, refusing field names the class does not have (a checkpoint from another version
or another model) with the known names in the message. The class's own ``__post_init__`` then
validates the values. Left out: versioning of config formats.
"""

import dataclasses


class ConfigDict:
    """Mixin for a (frozen) dataclass: ``to_dict()`` and ``from_dict(fields)``."""

    def to_dict(self):
        """The fields as a plain dict (JSON-ready, for checkpoints)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, fields):
        """Rebuild a config from ``to_dict()``'s output; unknown field names are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ValueError(f"{cls.__name__}.from_dict: unknown fields {unknown}; known fields are {sorted(known)}")
        return cls(**fields)
