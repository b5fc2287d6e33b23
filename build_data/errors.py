"""Errors the build reports as a one-line cause."""


class BuildError(Exception):
    """A failure the CLI reports in one line and exits non-zero for."""


class ConfigError(BuildError):
    """Bad editorial config: names the file and the field."""


class ValidationError(BuildError):
    """Data that must not be published: names the series and the rule it broke."""

    def __init__(self, series: str, rule: str, detail: str):
        self.series, self.rule, self.detail = series, rule, detail
        super().__init__(f"{series}: {rule}: {detail}")


class SourceError(BuildError):
    """A data source could not deliver (network, HTTP status, malformed payload)."""


class CacheError(BuildError):
    """A cache file is corrupt (then `path` names it), or a fetch would replace good cached data with worse."""

    def __init__(self, message: str, path=None):
        super().__init__(message)
        self.path = path


class Offline(SourceError):
    """The network is down (a name does not resolve): every live source will fail the same way."""
