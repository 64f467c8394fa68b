"""Look up TikTok accounts and export who they follow and who follows them.

The Python API (``tiktok_cli.api``) is reachable from here too (``tiktok_cli.followers``),
loaded on first use: ``import tiktok_cli`` and the command's start-up stay as cheap as
the version string.
"""

__version__ = "0.1.0"

# Not typing.TYPE_CHECKING: importing typing would cost `import tiktok_cli` more than the rest.
TYPE_CHECKING = False
if TYPE_CHECKING:  # what type checkers see; at run time, __getattr__ loads it
    from typing import Any

    from tiktok_cli.api import (
        Change,
        Client,
        ExitCode,
        Observation,
        Overrides,
        Snapshot,
        TikTokCliError,
        User,
        changes,
        followers,
        followings,
        history,
        snapshots,
        user_info,
    )

__all__ = [
    "Change",
    "Client",
    "ExitCode",
    "Observation",
    "Overrides",
    "Snapshot",
    "TikTokCliError",
    "User",
    "__version__",
    "changes",
    "followers",
    "followings",
    "history",
    "snapshots",
    "user_info",
]


def __getattr__(name: str) -> "Any":
    if name in __all__:
        from tiktok_cli import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
