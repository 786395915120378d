"""One exception family for everything fabric-inspect reports to a user."""

from __future__ import annotations


class FabricInspectError(Exception):
    """Base of every error the CLI turns into one clear line and a non-zero exit."""

    exit_code: int = 1


class ConfigError(FabricInspectError):
    """An option or configuration value is out of range or inconsistent."""

    exit_code = 2


class InputError(FabricInspectError):
    """A file, folder, dataset, video or camera cannot be used as given."""

    exit_code = 2


class ModelError(FabricInspectError):
    """A model file is missing, malformed, or does not fit the input."""

    exit_code = 2


class SourceError(InputError):
    """A video source (file, camera, stream) cannot be opened or read."""
