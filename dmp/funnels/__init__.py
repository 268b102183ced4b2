"""Funnels: people reaching ordered event steps within a window, and drop-off audiences."""

from dmp.funnels.settings import FunnelSettings, FunnelSpec, FunnelStep

__all__ = ["FunnelSettings", "FunnelSpec", "FunnelStep"]
