"""Look up TikTok accounts and export who they follow and who follows them."""

__version__ = "0.1.0"
